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

#[cfg(any(feature = "axum", feature = "tonic", feature = "rmcp"))]
use crate::{
    catalog::{SharedCatalog, ToolCatalog, ToolSpec},
    layers::policy::PolicyEngine,
    service::{Caller, Credential, ToolCall, ToolResponse},
};
#[cfg(any(feature = "axum", feature = "tonic", feature = "rmcp"))]
use std::sync::Arc;

#[cfg(any(feature = "axum", feature = "tonic", feature = "rmcp"))]
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The MCP methods an adapter does not serve itself (`resources/*`, `prompts/*`,
/// `logging/setLevel`, `completion/complete`), answered by someone else: the proxy relays
/// them to its upstream, masking what comes back.
#[cfg(any(feature = "axum", feature = "rmcp"))]
pub trait Relay: Send + Sync + std::fmt::Debug + 'static {
    /// The capabilities to declare at `initialize` beside `tools` (a JSON object:
    /// `{"resources": {…}, "prompts": {…}}`).
    fn capabilities(&self) -> serde_json::Value;

    /// Answers `method` with `params` for `caller` (as the adapter found it: its claimed
    /// id and credential, unverified), or `None` when it is not relayed (the adapter then
    /// answers `-32601 method not found`).
    fn request(
        &self,
        method: &str,
        params: serde_json::Value,
        caller: crate::service::Caller,
    ) -> Option<futures_util::future::BoxFuture<'static, Result<serde_json::Value, RelayError>>>;

    /// A client connected (over stdio, with the `rmcp` adapter): what it can be asked
    /// (`sampling/createMessage`, `elicitation/create`), for requests the relayed server
    /// makes of it.
    fn client_connected(&self, client: std::sync::Arc<dyn ClientRequests>) {
        let _ = client;
    }

    /// The connected client sent the notification `method` (`notifications/roots/list_changed`).
    fn client_notified(&self, method: &str, params: serde_json::Value) {
        let _ = (method, params);
    }
}

/// The `progressToken` a client sent with a `tools/call` (in `_meta`), put in
/// [`ToolCall::extensions`] by the `rmcp` adapter for an inner service that can report
/// progress for it (the proxy passes it to its upstream, and the upstream's
/// `notifications/progress` back to the client).
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressToken(pub serde_json::Value);

/// Requests an adapter can make of its connected client on someone else's behalf.
#[cfg(any(feature = "axum", feature = "rmcp"))]
pub trait ClientRequests: Send + Sync + std::fmt::Debug + 'static {
    /// The client's capabilities as it declared them at `initialize` (a JSON object).
    fn capabilities(&self) -> serde_json::Value;

    /// Sends `method` with `params` to the client; its result as JSON.
    fn request(
        &self,
        method: &str,
        params: serde_json::Value,
    ) -> futures_util::future::BoxFuture<'static, Result<serde_json::Value, RelayError>>;

    /// Sends the notification `method` with `params` to the client (dropped if the client
    /// is gone or the notification is not one a server may send).
    fn notify(&self, method: &str, params: serde_json::Value);

    /// [`notify`](Self::notify), done when the notification is queued for the client: what
    /// the client gets after it, it gets after the notification (progress before the
    /// call's answer).
    fn notify_in_order(
        &self,
        method: &str,
        params: serde_json::Value,
    ) -> futures_util::future::BoxFuture<'static, ()> {
        self.notify(method, params);
        Box::pin(async {})
    }
}

/// A relayed request's JSON-RPC error.
#[cfg(any(feature = "axum", feature = "rmcp"))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayError {
    /// The JSON-RPC error code.
    pub code: i64,
    /// Its message (no caller input echoed).
    pub message: String,
}

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

    /// The policy that filters tool lists, if one was given.
    #[allow(dead_code)] // not every adapter needs it
    pub(crate) fn policy(&self) -> Option<&PolicyEngine> {
        self.policy.as_deref()
    }

    /// Runs `call` through the stack; a failure of the stack itself is logged here.
    pub(crate) async fn call(&self, call: ToolCall) -> Result<ToolResponse, BoxError> {
        use tower::ServiceExt;
        let result = self.stack.clone().oneshot(call).await;
        if let Err(e) = &result {
            tracing::error!(error = %e, "the tool service failed");
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

/// A refusal as one text for the model: the message, then each hint and field error.
#[cfg(any(feature = "axum", feature = "rmcp"))]
pub(crate) fn refusal_text(rejection: &crate::service::Rejection) -> String {
    let mut text = rejection.message.clone();
    for hint in &rejection.fix_hints {
        text.push_str("\n- ");
        text.push_str(hint);
    }
    for e in &rejection.field_errors {
        text.push_str(&format!("\n- {}: {}", e.pointer, e.hint));
    }
    text
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
