//! [`ToolRouter`]: the innermost service, from a tool name to its handler.
//!
//! Register tools from async functions taking a typed argument struct (the
//! schema is generated once with `schemars`), or from a raw JSON Schema with a
//! `serde_json::Value` handler. Configuration errors (a bad name, a schema
//! that does not compile, a name used twice) come out of
//! [`ToolRouterBuilder::build`], not at the first call.
//!
//! The router checks what it can alone, so it is safe without any layer in
//! front of it: the MCP name rule, unknown tools (with the nearest names as
//! hints), the input limits, and arguments that do not deserialize into the
//! handler's type. A handler that panics yields an error response; the
//! service keeps running.
//!
//! ```
//! use agent_airlock::{ToolCall, ToolRouter};
//! use schemars::JsonSchema;
//! use serde::Deserialize;
//! use serde_json::json;
//! use tower::ServiceExt;
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct Add { a: i64, b: i64 }
//!
//! async fn add(args: Add) -> Result<i64, std::convert::Infallible> {
//!     Ok(args.a + args.b)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let router = ToolRouter::builder()
//!     .tool("add", "Add two integers", add)
//!     .raw_tool("echo", "Echo the arguments", json!({"type": "object"}), |args| async move {
//!         Ok::<_, std::convert::Infallible>(args)
//!     })
//!     .build()?;
//! let response = router.oneshot(ToolCall::new("add", json!({"a": 2, "b": 3}))).await?;
//! assert_eq!(response.output, agent_airlock::ToolOutput::Json(json!(5)));
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt::Display;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Ready, ready};
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tower_service::Service;

use crate::catalog::{CatalogError, ToolCatalog, ToolSpec};
use crate::limits::InputLimits;
use crate::service::{Rejection, ToolCall, ToolResponse, layer_names::ROUTER};

type Handler = dyn Fn(ToolCall) -> BoxFuture<'static, ToolResponse> + Send + Sync;

/// Routes each call to the handler registered under its tool name.
#[derive(Clone)]
pub struct ToolRouter {
    catalog: Arc<ToolCatalog>,
    handlers: Arc<HashMap<String, Arc<Handler>>>,
    limits: InputLimits,
}

impl std::fmt::Debug for ToolRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolRouter")
            .field("tools", &self.catalog.len())
            .field("limits", &self.limits)
            .finish()
    }
}

impl ToolRouter {
    /// Starts registering tools.
    pub fn builder() -> ToolRouterBuilder {
        ToolRouterBuilder::default()
    }

    /// The catalog of the registered tools, to share with the layers.
    pub fn catalog(&self) -> Arc<ToolCatalog> {
        Arc::clone(&self.catalog)
    }
}

/// Registers tools; [`build`](Self::build) reports the first configuration error.
#[derive(Default)]
#[must_use]
pub struct ToolRouterBuilder {
    catalog: ToolCatalog,
    handlers: HashMap<String, Arc<Handler>>,
    limits: InputLimits,
    error: Option<CatalogError>,
}

impl ToolRouterBuilder {
    /// Registers an async function taking a typed argument struct. Its JSON Schema is
    /// generated once from `A`. The function's `Ok` value is the output (a JSON string
    /// becomes text output, anything else JSON); its `Err` becomes an error response with
    /// the error's message.
    pub fn tool<A, F, Fut, O, E>(self, name: &str, description: &str, handler: F) -> Self
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, E>> + Send + 'static,
        O: Serialize + 'static,
        E: Display + 'static,
    {
        let schema = schemars::SchemaGenerator::default()
            .into_root_schema_for::<A>()
            .to_value();
        let tool: Arc<str> = Arc::from(name);
        let handler = Arc::new(handler);
        let erased: Arc<Handler> = Arc::new(move |call: ToolCall| {
            let args = match serde_json::from_value::<A>(call.arguments) {
                Ok(args) => args,
                Err(e) => {
                    let rejection = undeserializable(&tool, &e);
                    return Box::pin(ready(ToolResponse::rejected(rejection)));
                }
            };
            guarded(&tool, || handler(args))
        });
        self.register(name, description, schema, erased)
    }

    /// Registers a handler that takes the arguments as raw JSON, validated against `schema`
    /// by the layers in front of the router.
    pub fn raw_tool<F, Fut, O, E>(
        self,
        name: &str,
        description: &str,
        schema: Value,
        handler: F,
    ) -> Self
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, E>> + Send + 'static,
        O: Serialize + 'static,
        E: Display + 'static,
    {
        let tool: Arc<str> = Arc::from(name);
        let handler = Arc::new(handler);
        let erased: Arc<Handler> = Arc::new(move |call: ToolCall| {
            let arguments = call.arguments;
            guarded(&tool, || handler(arguments))
        });
        self.register(name, description, schema, erased)
    }

    /// Sets the limits the router checks on its own (default [`InputLimits::default`]).
    pub fn limits(mut self, limits: InputLimits) -> Self {
        self.limits = limits;
        self
    }

    fn register(
        mut self,
        name: &str,
        description: &str,
        schema: Value,
        handler: Arc<Handler>,
    ) -> Self {
        if self.error.is_some() {
            return self;
        }
        let description = (!description.is_empty()).then(|| description.to_owned());
        let result = ToolSpec::new(name, description, Some(schema))
            .and_then(|spec| self.catalog.insert(spec));
        match result {
            Ok(()) => {
                self.handlers.insert(name.to_owned(), handler);
            }
            Err(e) => self.error = Some(e),
        }
        self
    }

    /// Finishes: the router, or the first registration error.
    pub fn build(self) -> Result<ToolRouter, CatalogError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        Ok(ToolRouter {
            catalog: Arc::new(self.catalog),
            handlers: Arc::new(self.handlers),
            limits: self.limits,
        })
    }
}

/// Runs a handler, turning a panic (in the call or in the future) into an error response
/// that does not echo the panic message, which may hold input or secrets.
fn guarded<Fut, O, E>(
    tool: &Arc<str>,
    start: impl FnOnce() -> Fut,
) -> BoxFuture<'static, ToolResponse>
where
    Fut: Future<Output = Result<O, E>> + Send + 'static,
    O: Serialize + 'static,
    E: Display + 'static,
{
    let tool = Arc::clone(tool);
    let future = match std::panic::catch_unwind(AssertUnwindSafe(start)) {
        Ok(future) => future,
        Err(_) => return Box::pin(ready(panicked(&tool))),
    };
    Box::pin(AssertUnwindSafe(future).catch_unwind().map(move |outcome| match outcome {
        Ok(Ok(output)) => match serde_json::to_value(output) {
            Ok(Value::String(text)) => ToolResponse::text(text),
            Ok(value) => ToolResponse::json(value),
            Err(e) => {
                tracing::error!(tool = %tool, error = %e, "tool output could not be serialized");
                ToolResponse::error(format!("tool `{tool}` produced output that is not JSON"))
            }
        },
        Ok(Err(error)) => ToolResponse::error(error.to_string()),
        Err(_) => panicked(&tool),
    }))
}

fn panicked(tool: &str) -> ToolResponse {
    tracing::error!(tool = %tool, "tool handler panicked");
    ToolResponse::error(format!(
        "tool `{tool}` failed with an internal error; the call may be retried later"
    ))
}

fn undeserializable(tool: &str, error: &serde_json::Error) -> Rejection {
    // serde's message can quote the input; keep it short and display-safe.
    let detail = crate::preview::display_name(&error.to_string()).into_owned();
    Rejection::new(
        crate::RejectionCode::SchemaViolation,
        ROUTER,
        format!("the arguments of `{tool}` do not fit its parameters: {detail}"),
    )
    .with_hint(format!(
        "check the arguments against the input schema of `{tool}` in tools/list and call again"
    ))
}

impl Service<ToolCall> for ToolRouter {
    type Response = ToolResponse;
    type Error = Infallible;
    type Future = futures_util::future::Either<
        Ready<Result<ToolResponse, Infallible>>,
        futures_util::future::Map<
            BoxFuture<'static, ToolResponse>,
            fn(ToolResponse) -> Result<ToolResponse, Infallible>,
        >,
    >;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, call: ToolCall) -> Self::Future {
        use futures_util::future::Either;
        let refuse = |r: Rejection| Either::Left(ready(Ok(ToolResponse::rejected(r))));
        if let Err(r) = self
            .catalog
            .admit(ROUTER, &call.tool, &call.arguments, &self.limits)
        {
            return refuse(r);
        }
        let Some(handler) = self.handlers.get(&call.tool) else {
            // In the catalog but without a handler cannot happen through the builder.
            return refuse(Rejection::unknown_tool(ROUTER, &call.tool, &[]));
        };
        Either::Right(handler(call).map(Ok as fn(ToolResponse) -> Result<ToolResponse, Infallible>))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RejectionCode, ToolOutput};
    use serde::Deserialize;
    use serde_json::json;
    use tower::ServiceExt;

    #[derive(Deserialize, JsonSchema)]
    struct Div {
        a: i64,
        b: i64,
    }

    async fn div(args: Div) -> Result<i64, String> {
        if args.b == 0 {
            return Err("division by zero".into());
        }
        Ok(args.a / args.b)
    }

    fn router() -> ToolRouter {
        ToolRouter::builder()
            .tool("div", "Divide", div)
            .raw_tool("boom", "", json!({"type": "object"}), |_args| async move {
                if true {
                    panic!("secret-in-panic-message");
                }
                Ok::<_, String>(json!(null))
            })
            .raw_tool(
                "boom_sync",
                "",
                json!({"type": "object"}),
                |_args| -> std::future::Ready<Result<Value, String>> { panic!("sync panic") },
            )
            .raw_tool("hello", "", json!({"type": "object"}), |_args| async move {
                Ok::<_, String>("hi")
            })
            .build()
            .unwrap()
    }

    async fn call(tool: &str, args: Value) -> ToolResponse {
        router().oneshot(ToolCall::new(tool, args)).await.unwrap()
    }

    #[tokio::test]
    async fn dispatches_and_maps_outputs() {
        assert_eq!(
            call("div", json!({"a": 9, "b": 3})).await.output,
            ToolOutput::Json(json!(3))
        );
        assert_eq!(
            call("hello", json!({})).await.output,
            ToolOutput::Text("hi".into())
        );
        let err = call("div", json!({"a": 1, "b": 0})).await;
        assert!(err.is_error && !err.is_rejected());
        assert_eq!(err.output, ToolOutput::Text("division by zero".into()));
    }

    #[tokio::test]
    async fn panics_become_error_responses_without_the_message() {
        for tool in ["boom", "boom_sync"] {
            let r = call(tool, json!({})).await;
            assert!(r.is_error, "{tool}");
            assert!(!r.output.to_text().contains("secret-in-panic-message"));
        }
        // The router still serves after a panic.
        let router = router();
        let _ = router
            .clone()
            .oneshot(ToolCall::new("boom", json!({})))
            .await;
        let r = router
            .oneshot(ToolCall::new("div", json!({"a": 4, "b": 2})))
            .await
            .unwrap();
        assert_eq!(r.output, ToolOutput::Json(json!(2)));
    }

    #[tokio::test]
    async fn refuses_alone_what_it_cannot_run() {
        assert_eq!(
            call("dvi", json!({})).await.rejection.unwrap().code,
            RejectionCode::UnknownTool
        );
        assert_eq!(
            call("d iv", json!({})).await.rejection.unwrap().code,
            RejectionCode::MalformedCall
        );
        assert_eq!(
            call("div", json!([1])).await.rejection.unwrap().code,
            RejectionCode::MalformedCall
        );
        let r = call("div", json!({"a": "1", "b": 2}))
            .await
            .rejection
            .unwrap();
        assert_eq!(r.code, RejectionCode::SchemaViolation);
        assert_eq!(r.layer, ROUTER);
    }

    #[test]
    fn registration_errors_surface_at_build() {
        let dup = ToolRouter::builder()
            .tool("div", "", div)
            .tool("div", "", div)
            .build();
        assert!(matches!(dup, Err(CatalogError::Duplicate(_))));
        let bad = ToolRouter::builder().tool("bad name", "", div).build();
        assert!(matches!(bad, Err(CatalogError::BadName { .. })));
    }
}
