//! The airlock stack behind the doors agents use.
//!
//! | adapter | feature | what it serves |
//! |---|---|---|
//! | [`http`] | `axum` | MCP's Streamable HTTP transport at `POST /mcp`, and `POST /tools/{name}` |
//! | [`grpc`] | `tonic` | the `ToolService` of `proto/airlock.proto` (`Call`, `List`) |
//! | [`mcp`] | `rmcp` | an `rmcp::ServerHandler`, for servers built on the official Rust MCP SDK |
//!
//! Each takes the caller from `Authorization: Bearer <credential>` (verified by the
//! policy's identity verifier when there is one) and an optional claimed `X-Agent-Id`, and
//! the session from `Mcp-Session-Id`; each filters the tool list with the policy when it
//! is given one; each returns refusals as structured results, never as opaque errors.

#[cfg(feature = "tonic")]
pub mod grpc;
#[cfg(feature = "axum")]
pub mod http;
#[cfg(feature = "rmcp")]
pub mod mcp;
#[cfg(feature = "rmcp")]
mod mcp_client;
#[cfg(feature = "rmcp")]
mod mcp_rounds;
#[cfg(feature = "rmcp")]
mod mcp_session;
#[cfg(feature = "rmcp")]
mod mcp_stdio;

#[cfg(any(feature = "axum", feature = "tonic", feature = "rmcp"))]
use crate::{
    catalog::{SharedCatalog, ToolCatalog, ToolSpec},
    layers::policy::PolicyEngine,
    service::{Caller, Credential, ToolCall, ToolResponse},
    telemetry::{TraceContext, propagate, span},
};
#[cfg(any(feature = "axum", feature = "tonic", feature = "rmcp"))]
use std::sync::Arc;

#[cfg(any(feature = "axum", feature = "tonic", feature = "rmcp"))]
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What an adapter can serve: any cloneable, thread-safe service of tool calls whose
/// error can be shown (the airlock layers over a `ToolRouter`, boxed or not).
#[cfg(any(feature = "axum", feature = "tonic", feature = "rmcp"))]
pub trait ToolStack:
    tower_service::Service<
        ToolCall,
        Response = ToolResponse,
        Error: std::fmt::Display + Send + Sync + 'static,
        Future: Send + 'static,
    > + Clone
    + Send
    + Sync
    + 'static
{
}

#[cfg(any(feature = "axum", feature = "tonic", feature = "rmcp"))]
impl<S> ToolStack for S where
    S: tower_service::Service<
            ToolCall,
            Response = ToolResponse,
            Error: std::fmt::Display + Send + Sync + 'static,
            Future: Send + 'static,
        > + Clone
        + Send
        + Sync
        + 'static
{
}

/// What every adapter holds: the stack (boxed, so any stack of layers fits), the catalog
/// it lists, and the policy that filters the list.
#[cfg(any(feature = "axum", feature = "tonic", feature = "rmcp"))]
#[derive(Clone)]
pub(crate) struct ServedStack {
    stack: tower::util::BoxCloneSyncService<ToolCall, ToolResponse, BoxError>,
    catalog: SharedCatalog,
    policy: Option<Arc<PolicyEngine>>,
}

#[cfg(any(feature = "axum", feature = "tonic", feature = "rmcp"))]
impl ServedStack {
    pub(crate) fn new<S: ToolStack>(stack: S, catalog: SharedCatalog) -> Self {
        use tower::ServiceExt;
        let stack = stack.map_err(|e: S::Error| -> BoxError { e.to_string().into() });
        Self {
            stack: tower::util::BoxCloneSyncService::new(stack),
            catalog,
            policy: None,
        }
    }

    pub(crate) fn set_policy(&mut self, policy: Arc<PolicyEngine>) {
        self.policy = Some(policy);
    }

    /// Fetches what verifying `caller`'s credential needs and is not held yet (an
    /// authorization server's new keys), before a door checks it outside the stack.
    pub(crate) async fn prepare(&self, caller: &Caller) {
        if let Some(fetch) = self.policy.as_ref().and_then(|p| p.prepare(caller)) {
            fetch.await;
        }
    }

    /// The policy that filters tool lists, if one was given.
    #[allow(dead_code)] // not every adapter needs it
    pub(crate) fn policy(&self) -> Option<&PolicyEngine> {
        self.policy.as_deref()
    }

    /// Runs `call` through the stack; a failure of the stack itself is logged here.
    ///
    /// The call has a span (`airlock.call`, see [`crate::telemetry::span`]) whose parent is
    /// the client's trace context when it sent one; the tool is named in it only when the
    /// catalog has it.
    pub(crate) async fn call(&self, call: ToolCall) -> Result<ToolResponse, BoxError> {
        use tower::ServiceExt;
        use tracing::Instrument as _;
        let span = if tracing::enabled!(target: "airlock.span", tracing::Level::DEBUG) {
            let known = self.catalog.load().get(&call.tool).is_some();
            let span = span::call(if known { &call.tool } else { "other" });
            if let Some(context) = call.extensions.get::<TraceContext>() {
                propagate::adopt(&span, context);
            }
            span
        } else {
            tracing::Span::none()
        };
        let result = self
            .stack
            .clone()
            .oneshot(call)
            .instrument(span.clone())
            .await;
        match &result {
            Ok(response) => span::finished(&span, response),
            Err(e) => {
                span.record("airlock.outcome", "error");
                tracing::error!(parent: &span, error = %e, "the tool service failed");
            }
        }
        result
    }

    /// Whether `tool` declares an `outputSchema`: its refusals then go out without
    /// `structuredContent` (clients validate that against the schema, even on errors).
    #[cfg(any(feature = "axum", feature = "rmcp"))]
    pub(crate) fn has_output_schema(&self, tool: &str) -> bool {
        self.catalog
            .load()
            .get(tool)
            .is_some_and(|spec| spec.output_schema().is_some())
    }

    /// `f` of the input schema of `tool` (in the catalog of now), if it has one.
    #[cfg(feature = "axum")]
    pub(crate) fn with_input_schema<T>(
        &self,
        tool: &str,
        f: impl FnOnce(&serde_json::Value) -> T,
    ) -> Option<T> {
        self.catalog.load().get(tool)?.input_schema().map(f)
    }

    /// The tools `caller` may see (in the catalog of now), each through `f`.
    pub(crate) fn visible<T>(&self, caller: Caller, f: impl FnMut(&ToolSpec) -> T) -> Vec<T> {
        let catalog = self.catalog.load();
        visible_specs(&catalog, self.policy.as_deref(), caller)
            .into_iter()
            .map(f)
            .collect()
    }
}

#[cfg(any(feature = "axum", feature = "tonic", feature = "rmcp"))]
impl std::fmt::Debug for ServedStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServedStack")
            .field("tools", &self.catalog.load().len())
            .field("policy", &self.policy.is_some())
            .finish()
    }
}

/// The caller and session that request headers (or gRPC metadata) carry.
#[cfg(any(feature = "axum", feature = "tonic", feature = "rmcp"))]
pub(crate) fn caller_of(headers: &::http::HeaderMap) -> (Caller, Option<String>) {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.len() <= 256)
    };
    let mut caller = Caller::default();
    if let Some(token) = headers
        .get(::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
    {
        caller.credential = Some(Credential::new(token.trim()));
    }
    caller.agent_id = text("x-agent-id").map(str::to_owned);
    (caller, text("mcp-session-id").map(str::to_owned))
}

/// The catalog's tools this caller may see: all of them without a policy; with one, those
/// its rules allow once the caller's credential is verified (none if it does not verify).
#[cfg(any(feature = "axum", feature = "tonic", feature = "rmcp"))]
fn visible_specs<'a>(
    catalog: &'a ToolCatalog,
    policy: Option<&PolicyEngine>,
    mut caller: Caller,
) -> Vec<&'a ToolSpec> {
    match policy {
        None => catalog.tools(),
        Some(policy) => {
            if policy.authenticate(&mut caller).is_err() {
                return Vec::new();
            }
            policy
                .visible_tools(&caller)
                .iter()
                .filter_map(|name| catalog.get(name))
                .collect()
        }
    }
}
