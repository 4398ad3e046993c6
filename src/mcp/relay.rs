//! What passes between a door and a server behind it (the proxy's upstream): requests the
//! door does not answer itself, requests the server makes of the door's client, progress.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::service::Caller;

/// The MCP methods an adapter does not serve itself (`resources/*`, `prompts/*`,
/// `logging/setLevel`, `completion/complete`), answered by someone else: the proxy relays
/// them to its upstream, masking what comes back.
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
        caller: Caller,
    ) -> Option<BoxFuture<'static, Result<serde_json::Value, RelayError>>>;

    /// A client connected (over stdio, with the `rmcp` adapter): what it can be asked
    /// (`sampling/createMessage`, `elicitation/create`), for requests the relayed server
    /// makes of it.
    fn client_connected(&self, client: Arc<dyn ClientRequests>) {
        let _ = client;
    }

    /// The connected client sent the notification `method` (`notifications/roots/list_changed`).
    fn client_notified(&self, method: &str, params: serde_json::Value) {
        let _ = (method, params);
    }
}

/// The `progressToken` a client sent with a `tools/call` (in `_meta`), put in
/// [`ToolCall::extensions`](crate::ToolCall::extensions) by the `rmcp` adapter for an inner service that can report
/// progress for it (the proxy passes it to its upstream, and the upstream's
/// `notifications/progress` back to the client).
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressToken(pub serde_json::Value);

/// Requests an adapter can make of its connected client on someone else's behalf.
pub trait ClientRequests: Send + Sync + std::fmt::Debug + 'static {
    /// The client's capabilities as it declared them at `initialize` (a JSON object).
    fn capabilities(&self) -> serde_json::Value;

    /// Sends `method` with `params` to the client; its result as JSON.
    fn request(
        &self,
        method: &str,
        params: serde_json::Value,
    ) -> BoxFuture<'static, Result<serde_json::Value, RelayError>>;

    /// Sends the notification `method` with `params` to the client (dropped if the client
    /// is gone or the notification is not one a server may send).
    fn notify(&self, method: &str, params: serde_json::Value);

    /// [`notify`](Self::notify), done when the notification is queued for the client: what
    /// the client gets after it, it gets after the notification (progress before the
    /// call's answer).
    fn notify_in_order(&self, method: &str, params: serde_json::Value) -> BoxFuture<'static, ()> {
        self.notify(method, params);
        Box::pin(async {})
    }
}

/// A relayed request's JSON-RPC error.
///
/// ```
/// use agent_airlock::mcp::RelayError;
///
/// // SEP-2164: an unknown resource is invalid params, its URI in the data.
/// let error = RelayError::new(-32602, "resource not found")
///     .with_data(serde_json::json!({"uri": "test://gone"}));
/// assert_eq!(error.data.unwrap()["uri"], "test://gone");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RelayError {
    /// The JSON-RPC error code.
    pub code: i64,
    /// Its message (no caller input echoed).
    pub message: String,
    /// The error's `data`, when the server gave one (masked by whoever relayed it).
    pub data: Option<serde_json::Value>,
}

impl RelayError {
    /// The error `code` with `message`, without data.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// The same error with `data`.
    #[must_use]
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = Some(data);
        self
    }
}
