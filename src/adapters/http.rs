//! The airlock stack behind HTTP: MCP's Streamable HTTP transport (JSON responses) at
//! `POST /mcp`, and `POST /tools/{name}` for clients that do not speak MCP.
//!
//! ```no_run
//! use std::sync::Arc;
//! use agent_airlock::adapters::http::HttpAdapter;
//! use agent_airlock::{AirlockConfig, PolicyLayer, StrictSchemaLayer, ToolRouter};
//! use tower::ServiceBuilder;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = AirlockConfig::default();
//! let router = ToolRouter::builder()
//!     .raw_tool("echo", "Echo", serde_json::json!({"type": "object"}),
//!         |args| async move { Ok::<_, std::convert::Infallible>(args) })
//!     .build()?;
//! let catalog = router.catalog();
//! let policy = PolicyLayer::from_config(&config.policy, catalog.clone())?;
//! let stack = ServiceBuilder::new()
//!     .layer(policy.clone())
//!     .layer(StrictSchemaLayer::from_config(&config.strict_schema(), catalog.clone()))
//!     .service(router);
//! let app = HttpAdapter::new(stack, catalog)
//!     .policy(policy.policy().clone()) // tools/list shows each caller what it may call
//!     .into_router();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! **MCP** (`POST /mcp`, one JSON-RPC 2.0 message per request, or a batch under protocol
//! revision 2025-03-26): `initialize` (issues a `Mcp-Session-Id`), `ping`, `tools/list`
//! (filtered by the policy for this caller when one is given, paginated with opaque
//! cursors), `tools/call`; notifications get `202 Accepted` and never a body. Malformed
//! requests get JSON-RPC errors: `-32700` (not JSON), `-32600` (not a request: wrong
//! `jsonrpc`, no method, a batch outside 2025-03-26), `-32601` (unknown method, not
//! echoed), `-32602` (params not an object, no tool name, arguments not an object, a bad
//! cursor). A refusal is a tool result with `isError: true`, the message and fix hints as
//! text, and the rejection as `structuredContent.rejection`, so the model can correct
//! itself. Revisions 2025-11-25 (the default), 2025-06-18 and 2025-03-26 are negotiated;
//! an `MCP-Protocol-Version` header naming another is refused (400).
//!
//! **The front door**, before any JSON is read: a `Host` outside
//! [`allowed_hosts`](HttpAdapter::allowed_hosts) (default: the loopback names, any port)
//! or an `Origin` that is neither on such a host nor listed in
//! [`allowed_origins`](HttpAdapter::allowed_origins) gets 403 (DNS rebinding, cross-site
//! requests); a body that is not `application/json` gets 415, an `Accept` that takes
//! neither JSON nor an event stream 406. No CORS header is sent unless
//! [`cors`](HttpAdapter::cors) is configured.
//!
//! **Sessions** are the server's: `initialize` issues one, kept in a
//! [`SessionStore`] (in memory by default: 10,000 of an
//! hour) bound to the caller that opened it. A request with an unknown, expired or another
//! caller's id gets 404; one without an id gets 400 (unless
//! [`require_session(false)`](HttpAdapter::require_session)); `DELETE /mcp` ends one.
//! Only server-issued ids reach the stack, so session budgets cannot be dodged with
//! made-up ids. `GET /mcp` is 405, unless the adapter was given notifications for every
//! session ([`HttpAdapter::notifications`]: the proxy's "the tools changed"): then a
//! valid session may open an event stream of them (at most so many at once).
//!
//! **Plain HTTP** (`POST /tools/{name}`, the arguments as the JSON body): the
//! `ToolResponse` as JSON, with a status from the outcome: 200, 400 (malformed), 401
//! (`unauthenticated`), 403 (`policy_denied`, `outside_schedule`), 404 (`unknown_tool`),
//! 422 (`schema_violation`, `ghost_arguments`), 429 (`rate_limited`, with `Retry-After`),
//! 503 (`sandbox_unavailable`, `audit_unavailable`, `missing_schema`).
//!
//! Both take the caller from `Authorization: Bearer <credential>` (verified by the policy's
//! identity verifier when there is one) and an optional claimed `X-Agent-Id`, and the
//! session from `Mcp-Session-Id` (on the plain endpoint optional, but checked when given). Request bodies are limited (1 MiB + 64 KiB by default) and
//! requests time out (60 s), with `tower-http`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{ServedStack, ToolStack, caller_of};
use crate::catalog::SharedCatalog;
use crate::layers::policy::PolicyEngine;
use crate::mcp::RpcError;
use crate::mcp::result::call_result;
use crate::service::{Caller, RejectionCode, ToolCall};
use crate::state::session::{MemorySessionStore, SessionCheck, SessionStore, owner_of};

pub use crate::mcp::{PROTOCOL_VERSION, SUPPORTED_VERSIONS};

/// Host names a request may address by default: the loopback ones (any port).
pub const LOOPBACK_HOSTS: &[&str] = &["localhost", "127.0.0.1", "[::1]"];

/// Builds the axum [`Router`]; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct HttpAdapter {
    core: ServedStack,
    body_limit: usize,
    timeout: Duration,
    name: String,
    version: String,
    allowed_hosts: Option<Vec<String>>,
    allowed_origins: Vec<String>,
    sessions: Arc<dyn SessionStore>,
    require_session: bool,
    page_size: usize,
    cors: Option<tower_http::cors::CorsLayer>,
    instructions: Option<String>,
    relay: Option<Arc<dyn crate::mcp::Relay>>,
    events: Option<tokio::sync::broadcast::Sender<Arc<str>>>,
    streams: Arc<tokio::sync::Semaphore>,
}

/// Most event streams (`GET /mcp`) open at once, by default.
const MAX_STREAMS: usize = 64;

impl HttpAdapter {
    /// Serves `stack` (any service of tool calls: the airlock layers over a router) and
    /// lists the tools of `catalog`.
    pub fn new<S: ToolStack>(stack: S, catalog: impl Into<SharedCatalog>) -> Self {
        Self {
            core: ServedStack::new(stack, catalog.into()),
            body_limit: 1024 * 1024 + 64 * 1024,
            timeout: Duration::from_secs(60),
            name: "agent-airlock".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            allowed_hosts: Some(LOOPBACK_HOSTS.iter().map(|h| h.to_string()).collect()),
            allowed_origins: Vec::new(),
            sessions: Arc::new(MemorySessionStore::default()),
            require_session: true,
            page_size: 100,
            cors: None,
            instructions: None,
            relay: None,
            events: None,
            streams: Arc::new(tokio::sync::Semaphore::new(MAX_STREAMS)),
        }
    }

    /// Opens `GET /mcp` event streams (for a valid session of the caller, at most
    /// `max_streams` at once) and sends every message of `events` (a JSON-RPC
    /// notification, serialized) to every open stream; `tools.listChanged` is declared
    /// at `initialize`. Send only what every session may see (that a list changed), never
    /// what belongs to one session. Without it, `GET /mcp` is 405.
    pub fn notifications(
        mut self,
        events: tokio::sync::broadcast::Sender<Arc<str>>,
        max_streams: usize,
    ) -> Self {
        self.events = Some(events);
        self.streams = Arc::new(tokio::sync::Semaphore::new(max_streams.max(1)));
        self
    }

    /// Answers the MCP methods this adapter does not serve itself (`resources/*`,
    /// `prompts/*`, …) with `relay`, and declares its capabilities at `initialize`.
    pub fn relay(mut self, relay: Arc<dyn crate::mcp::Relay>) -> Self {
        self.relay = Some(relay);
        self
    }

    /// The `instructions` of `initialize` (what the server tells the model about itself).
    /// Sent as given: mask what comes from elsewhere first (the proxy does).
    pub fn instructions(mut self, instructions: Option<String>) -> Self {
        self.instructions = instructions;
        self
    }

    /// The host names (`Host` header, and the host of an `Origin` header) requests may
    /// carry, any port; default [`LOOPBACK_HOSTS`]. A server reachable under other names
    /// lists them here: anything else is refused with 403, which is what stops DNS
    /// rebinding (a web page whose name resolves to this server).
    pub fn allowed_hosts<I: IntoIterator<Item = S>, S: Into<String>>(mut self, hosts: I) -> Self {
        self.allowed_hosts = Some(
            hosts
                .into_iter()
                .map(|h| h.into().to_ascii_lowercase())
                .collect(),
        );
        self
    }

    /// Accepts any `Host` (behind a proxy that checks it, or with authentication that a
    /// browser cannot forge). A request with an `Origin` header must then come from one of
    /// [`allowed_origins`](Self::allowed_origins).
    pub fn allow_any_host(mut self) -> Self {
        self.allowed_hosts = None;
        self
    }

    /// Further origins (`scheme://host[:port]`) a browser request may come from, besides
    /// those on an allowed host.
    pub fn allowed_origins<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        origins: I,
    ) -> Self {
        self.allowed_origins = origins
            .into_iter()
            .map(|o| o.into().to_ascii_lowercase())
            .collect();
        self
    }

    /// Answers CORS (preflights included) with `cors`; without it, none is sent, so a
    /// browser page of another origin cannot read an answer. List the same origins in
    /// [`allowed_origins`](Self::allowed_origins).
    pub fn cors(mut self, cors: tower_http::cors::CorsLayer) -> Self {
        self.cors = Some(cors);
        self
    }

    /// Where sessions issued at `initialize` live (default: in memory, 10,000 of an hour).
    pub fn session_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.sessions = store;
        self
    }

    /// Whether MCP requests after `initialize` must carry a session id (default true:
    /// missing → 400). Off, a request without one runs outside any session (and no session
    /// budget counts it); one with an id must still present a live one of its own.
    pub fn require_session(mut self, require: bool) -> Self {
        self.require_session = require;
        self
    }

    /// Tools per `tools/list` page (default 100, at least 1); further pages by cursor.
    pub fn page_size(mut self, tools: usize) -> Self {
        self.page_size = tools.max(1);
        self
    }

    /// Filters `tools/list` for each caller with this policy (the same the stack uses).
    pub fn policy(mut self, policy: Arc<PolicyEngine>) -> Self {
        self.core.set_policy(policy);
        self
    }

    /// Largest request body in bytes.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Longest a request may take.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The `serverInfo` of `initialize`.
    pub fn server_info(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.name = name.into();
        self.version = version.into();
        self
    }

    /// The router: `POST /mcp` (and `DELETE /mcp` to end a session; `GET` is 405 unless
    /// [`notifications`](Self::notifications) gave it a stream to serve) and
    /// `POST /tools/{name}`.
    pub fn into_router(self) -> Router {
        let limit = self.body_limit;
        let timeout = self.timeout;
        let cors = self.cors.clone();
        let router = Router::new()
            .route("/mcp", post(mcp).delete(end_session).get(event_stream))
            .route("/tools/{name}", post(plain))
            .with_state(Arc::new(self))
            .layer(DefaultBodyLimit::disable())
            .layer(tower_http::limit::RequestBodyLimitLayer::new(limit))
            .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                timeout,
            ));
        match cors {
            Some(cors) => router.layer(cors),
            None => router,
        }
    }

    /// Whether `host` (a `Host` header or an origin's host, port included or not) is one
    /// requests may address.
    fn host_allowed(&self, host: &str) -> bool {
        let Some(allowed) = &self.allowed_hosts else {
            return true;
        };
        let name = host_name(host);
        allowed
            .iter()
            .any(|a| host_name(a).eq_ignore_ascii_case(name))
    }

    /// The front door of `/mcp`, before any JSON is read: DNS rebinding and cross-site
    /// requests (Host, Origin), the media types, the protocol revision.
    fn check_request(
        &self,
        uri: &Uri,
        headers: &HeaderMap,
        post: bool,
    ) -> Result<(), Box<Response>> {
        let refuse = |status: StatusCode, message: &str| {
            Err(Box::new(json_response(
                status,
                RpcError::invalid_request(message.to_owned()).to_response(Value::Null),
            )))
        };
        // HTTP/1.1 names the host in `Host`, HTTP/2 in the URI's authority. A request with
        // neither is no browser's (browsers always send one), so there is nothing to
        // rebind; anything named must be allowed.
        let host = headers
            .get(header::HOST)
            .map(|v| v.to_str().unwrap_or("\u{0}"))
            .or_else(|| uri.authority().map(|a| a.as_str()));
        if host.is_some_and(|h| !self.host_allowed(h)) {
            return refuse(
                StatusCode::FORBIDDEN,
                "this server does not answer to that host name",
            );
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("").trim().to_ascii_lowercase();
            let host = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"));
            // Listed, or on an allowed host (with any host allowed, only listed ones: a
            // browser's origin must be known).
            let allowed = self
                .allowed_origins
                .iter()
                .any(|o| o.trim_end_matches('/') == origin)
                || (self.allowed_hosts.is_some() && host.is_some_and(|h| self.host_allowed(h)));
            if !allowed {
                return refuse(
                    StatusCode::FORBIDDEN,
                    "requests from this origin are not allowed",
                );
            }
        }
        if post {
            let json = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
            if !json {
                return refuse(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "send the JSON-RPC message with Content-Type: application/json",
                );
            }
            let mut accepts = headers.get_all(header::ACCEPT).iter().peekable();
            if accepts.peek().is_some() {
                let fits = accepts
                    .flat_map(|v| v.to_str().unwrap_or("").split(','))
                    .any(|range| {
                        let range = range.split(';').next().unwrap_or("").trim();
                        [
                            "application/json",
                            "text/event-stream",
                            "*/*",
                            "application/*",
                            "text/*",
                        ]
                        .iter()
                        .any(|fit| range.eq_ignore_ascii_case(fit))
                    });
                if !fits {
                    return refuse(
                        StatusCode::NOT_ACCEPTABLE,
                        "accept application/json (and text/event-stream) to talk to this server",
                    );
                }
            }
        }
        if let Some(version) = headers.get("mcp-protocol-version") {
            let version = version.to_str().unwrap_or("");
            if !SUPPORTED_VERSIONS.contains(&version) {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "unsupported MCP-Protocol-Version; this server speaks {}",
                        SUPPORTED_VERSIONS.join(", ")
                    ),
                );
            }
        }
        Ok(())
    }

    /// The session a request names, checked against the store: `Ok(None)` when it names
    /// none and none is required.
    async fn session_of(
        &self,
        headers: &HeaderMap,
        caller: &Caller,
        id: &Value,
    ) -> Result<Option<String>, Box<Response>> {
        let presented = headers
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty());
        match presented {
            None if self.require_session => Err(Box::new(json_response(
                StatusCode::BAD_REQUEST,
                RpcError::invalid_request(
                    "missing Mcp-Session-Id: call initialize first and send the id it returns",
                )
                .to_response(id.clone()),
            ))),
            None => Ok(None),
            Some(session) => {
                let owner = owner_of(caller, self.core.policy());
                match self.sessions.check(session, &owner).await {
                    SessionCheck::Valid => Ok(Some(session.to_owned())),
                    SessionCheck::Unavailable => Err(Box::new(json_response(
                        StatusCode::SERVICE_UNAVAILABLE,
                        RpcError::internal("sessions cannot be checked now; try again later")
                            .to_response(id.clone()),
                    ))),
                    SessionCheck::Unknown => Err(Box::new(json_response(
                        StatusCode::NOT_FOUND,
                        RpcError::invalid_request(
                            "unknown or expired session: initialize a new one",
                        )
                        .to_response(id.clone()),
                    ))),
                }
            }
        }
    }
}

/// The host part of a `Host` value or origin authority, without the port (compare it
/// case-insensitively).
fn host_name(host: &str) -> &str {
    let host = host.trim();
    if host.starts_with('[') {
        // [v6]:port
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// `GET /mcp`: the server's notifications for every session, as an event stream, when the
/// adapter was given them ([`HttpAdapter::notifications`]); 405 otherwise.
async fn event_stream(
    State(adapter): State<Arc<HttpAdapter>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let Some(events) = &adapter.events else {
        return no_stream().await;
    };
    if let Err(refusal) = adapter.check_request(&uri, &headers, false) {
        return *refusal;
    }
    let accepts = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/event-stream"));
    if !accepts {
        return json_response(
            StatusCode::NOT_ACCEPTABLE,
            RpcError::invalid_request("accept text/event-stream to open the event stream")
                .to_response(Value::Null),
        );
    }
    if headers.get("mcp-session-id").is_none() {
        return json_response(
            StatusCode::BAD_REQUEST,
            RpcError::invalid_request(
                "missing Mcp-Session-Id: call initialize first and send the id it returns",
            )
            .to_response(Value::Null),
        );
    }
    let (caller, _) = caller_of(&headers);
    if let Err(refusal) = adapter.session_of(&headers, &caller, &Value::Null).await {
        return *refusal;
    }
    let Ok(permit) = adapter.streams.clone().try_acquire_owned() else {
        return json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            RpcError::internal("too many event streams are open").to_response(Value::Null),
        );
    };
    let receiver = events.subscribe();
    // The permit is held as long as the stream is.
    let stream =
        futures_util::stream::unfold((receiver, permit), |(mut receiver, permit)| async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                match receiver.recv().await {
                    Ok(message) => {
                        let event = Event::default().event("message").data(message.as_ref());
                        return Some((
                            Ok::<_, std::convert::Infallible>(event),
                            (receiver, permit),
                        ));
                    }
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return None,
                }
            }
        });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

async fn no_stream() -> Response {
    let mut response = StatusCode::METHOD_NOT_ALLOWED.into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST, DELETE"));
    response
}

async fn end_session(
    State(adapter): State<Arc<HttpAdapter>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = adapter.check_request(&uri, &headers, false) {
        return *refusal;
    }
    let (caller, session) = caller_of(&headers);
    let Some(session) = session else {
        return json_response(
            StatusCode::BAD_REQUEST,
            RpcError::invalid_request("missing Mcp-Session-Id").to_response(Value::Null),
        );
    };
    let owner = owner_of(&caller, adapter.core.policy());
    if adapter.sessions.end(&session, &owner).await {
        StatusCode::NO_CONTENT.into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

fn rpc_result(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

fn json_response(status: StatusCode, body: impl Serialize) -> Response {
    (status, axum::Json(body)).into_response()
}

/// How [`HttpAdapter::serve`] treats connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeLimits {
    /// A connection that has not sent a whole request head this long after it opened (or
    /// after its previous request) is closed: idle and half-open connections cannot pile
    /// up. Default 10 s.
    pub header_read_timeout: Duration,
    /// Connections served at once; further ones wait in the listen backlog. Default 1024:
    /// keep it under the process's file-descriptor limit.
    pub max_connections: usize,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
        }
    }
}

impl ServeLimits {
    /// Sets [`header_read_timeout`](Self::header_read_timeout).
    #[must_use]
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Sets [`max_connections`](Self::max_connections) (at least 1).
    #[must_use]
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }
}

impl HttpAdapter {
    /// Serves [`into_router`](Self::into_router) on `listener` (HTTP/1.1) with `limits`:
    /// a header-read timeout and a connection limit, which `axum::serve` does not set, so
    /// a few hundred idle connections cannot take a server's descriptors. With a listener
    /// of your own, set the same with hyper's `header_read_timeout` and a semaphore
    /// around `accept`, or put a reverse proxy in front.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        limits: ServeLimits,
    ) -> std::io::Result<()> {
        let router = self.into_router();
        let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
        loop {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return Ok(());
            };
            let (stream, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors or a reset before accept: wait a little, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            // Answers are small and awaited one by one: send them at once (no Nagle delay).
            let _ = stream.set_nodelay(true);
            let service = hyper_util::service::TowerToHyperService::new(router.clone());
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(limits.header_read_timeout)
                    .serve_connection(io, service);
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, "connection closed");
                }
                drop(slot);
            });
        }
    }
}

/// Most messages in one JSON-RPC batch (protocol revision 2025-03-26).
pub const MAX_BATCH: usize = 32;

async fn mcp(
    State(adapter): State<Arc<HttpAdapter>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refusal) = adapter.check_request(&uri, &headers, true) {
        return *refusal;
    }
    let message: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                RpcError::Parse(e.to_string().into()).to_response(Value::Null),
            );
        }
    };
    match message {
        Value::Array(items) => batch(&adapter, &headers, items).await,
        message => one(&adapter, &headers, message).await,
    }
}

/// A JSON-RPC batch, as protocol revision 2025-03-26 requires servers to accept (later
/// revisions removed batching): each message answered as if sent alone, the answers in
/// one array, notifications unanswered. Not with a later revision's header, never with
/// `initialize` inside, at most [`MAX_BATCH`] messages.
async fn batch(adapter: &Arc<HttpAdapter>, headers: &HeaderMap, items: Vec<Value>) -> Response {
    let refuse = |why: &str| {
        json_response(
            StatusCode::BAD_REQUEST,
            RpcError::invalid_request(why.to_owned()).to_response(Value::Null),
        )
    };
    let version = headers
        .get("mcp-protocol-version")
        .and_then(|v| v.to_str().ok());
    if version.is_some_and(|v| v != "2025-03-26") {
        return refuse(
            "batches are part of protocol revision 2025-03-26 only: send one message per request",
        );
    }
    if items.is_empty() || items.len() > MAX_BATCH {
        return refuse(&format!("a batch holds 1 to {MAX_BATCH} messages"));
    }
    if items
        .iter()
        .any(|m| m.get("method").and_then(Value::as_str) == Some("initialize"))
    {
        return refuse("initialize cannot be part of a batch");
    }
    // The session is the request's, checked once for the whole batch.
    let (caller, _) = caller_of(headers);
    if let Err(refusal) = adapter.session_of(headers, &caller, &Value::Null).await {
        return *refusal;
    }
    let mut answers = Vec::new();
    for item in items {
        let response = one(adapter, headers, item).await;
        if response.status() == StatusCode::ACCEPTED {
            continue;
        }
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(answer) => answers.push(answer),
            Err(_) => answers.push(RpcError::internal("internal error").to_response(Value::Null)),
        }
    }
    if answers.is_empty() {
        return StatusCode::ACCEPTED.into_response();
    }
    json_response(StatusCode::OK, Value::Array(answers))
}

/// One JSON-RPC message.
async fn one(adapter: &Arc<HttpAdapter>, headers: &HeaderMap, message: Value) -> Response {
    let Value::Object(mut message) = message else {
        return json_response(
            StatusCode::BAD_REQUEST,
            RpcError::invalid_request("the body must be a JSON-RPC 2.0 object")
                .to_response(Value::Null),
        );
    };
    let id = message.remove("id");
    // A notification (a method, no id) is answered 202 without a body, or 400 without
    // one when it is malformed: JSON-RPC never answers a notification.
    if id.is_none() && message.contains_key("method") {
        let valid = message.get("jsonrpc").and_then(Value::as_str) == Some("2.0")
            && message.get("method").is_some_and(Value::is_string)
            && matches!(
                message.get("params"),
                None | Some(Value::Null | Value::Object(_))
            );
        if !valid {
            return StatusCode::BAD_REQUEST.into_response();
        }
        let (caller, _) = caller_of(headers);
        let method = message.get("method").and_then(Value::as_str).unwrap_or("");
        if method != "notifications/initialized"
            && let Err(refusal) = adapter.session_of(headers, &caller, &Value::Null).await
        {
            // The status says it; the body is dropped.
            return refusal.status().into_response();
        }
        return StatusCode::ACCEPTED.into_response();
    }
    if let Some(id) = &id
        && !(id.is_string() || id.is_i64() || id.is_u64())
    {
        return json_response(
            StatusCode::BAD_REQUEST,
            RpcError::invalid_request("the id must be a string or an integer")
                .to_response(Value::Null),
        );
    }
    if message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return json_response(
            StatusCode::BAD_REQUEST,
            RpcError::invalid_request("jsonrpc must be \"2.0\"")
                .to_response(id.unwrap_or(Value::Null)),
        );
    }
    let Some(method) = message
        .get("method")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        // A response from the client (to a request we never send) or garbage.
        return match id {
            None => StatusCode::ACCEPTED.into_response(),
            Some(id) => json_response(
                StatusCode::BAD_REQUEST,
                RpcError::invalid_request("the request has no method").to_response(id),
            ),
        };
    };
    let mut params = match message.remove("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map,
        Some(_) => {
            return json_response(
                StatusCode::OK,
                RpcError::invalid_params("params must be an object")
                    .to_response(id.unwrap_or(Value::Null)),
            );
        }
    };
    let Some(id) = id else {
        // A message without a method or an id (checked above): nothing to answer.
        return StatusCode::ACCEPTED.into_response();
    };
    let (caller, _) = caller_of(headers);
    if method == "initialize" {
        let asked = params.get("protocolVersion").and_then(Value::as_str);
        let version = asked
            .filter(|v| SUPPORTED_VERSIONS.contains(v))
            .unwrap_or(PROTOCOL_VERSION);
        let owner = owner_of(&caller, adapter.core.policy());
        let session = match adapter.sessions.create(&owner).await {
            Ok(session) => session,
            Err(e) => {
                tracing::warn!(error = %e, "no session for an initialize");
                return json_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    RpcError::internal("no session can be opened now; try again later")
                        .to_response(id),
                );
            }
        };
        let mut result = json!({
            "protocolVersion": version,
            "capabilities": {"tools": {"listChanged": adapter.events.is_some()}},
            "serverInfo": {"name": adapter.name, "version": adapter.version},
        });
        if let Some(instructions) = &adapter.instructions {
            result["instructions"] = Value::String(instructions.clone());
        }
        if let Some(relay) = &adapter.relay
            && let Value::Object(more) = relay.capabilities()
            && let Some(Value::Object(capabilities)) = result.get_mut("capabilities")
        {
            for (name, value) in more {
                capabilities.entry(name).or_insert(value);
            }
        }
        let mut response = json_response(StatusCode::OK, rpc_result(id, result));
        if let Ok(value) = HeaderValue::from_str(&session) {
            response.headers_mut().insert("mcp-session-id", value);
        }
        return response;
    }
    let session = match adapter.session_of(headers, &caller, &id).await {
        Ok(session) => session,
        Err(refusal) => return *refusal,
    };
    match method.as_str() {
        "ping" => json_response(StatusCode::OK, rpc_result(id, json!({}))),
        "tools/list" => {
            let start = match params.get("cursor") {
                None | Some(Value::Null) => 0,
                Some(Value::String(cursor)) => match decode_cursor(cursor) {
                    Some(start) => start,
                    None => {
                        return json_response(
                            StatusCode::OK,
                            RpcError::invalid_params(
                                "invalid cursor: use a nextCursor this server gave",
                            )
                            .to_response(id),
                        );
                    }
                },
                Some(_) => {
                    return json_response(
                        StatusCode::OK,
                        RpcError::invalid_params("the cursor must be a string").to_response(id),
                    );
                }
            };
            let tools = list_tools(adapter, caller);
            let end = start.saturating_add(adapter.page_size).min(tools.len());
            let page: Vec<&Value> = tools.get(start..end).unwrap_or_default().iter().collect();
            let mut result = json!({"tools": page});
            if end < tools.len() {
                result["nextCursor"] = Value::String(encode_cursor(end));
            }
            json_response(StatusCode::OK, rpc_result(id, result))
        }
        "tools/call" => {
            let Some(Value::String(name)) = params.remove("name") else {
                return json_response(
                    StatusCode::OK,
                    RpcError::invalid_params("tools/call needs params.name, the tool's name")
                        .to_response(id),
                );
            };
            let arguments = match params.remove("arguments") {
                None | Some(Value::Null) => Value::Object(Map::new()),
                Some(v @ Value::Object(_)) => v,
                Some(_) => {
                    return json_response(
                        StatusCode::OK,
                        RpcError::invalid_params("params.arguments must be an object")
                            .to_response(id),
                    );
                }
            };
            let typed = adapter.core.has_output_schema(&name);
            let mut call = ToolCall::new(name, arguments).with_caller(caller);
            // Only a session this server issued to this caller counts for budgets.
            call.session = session;
            match adapter.core.call(call).await {
                Ok(response) => json_response(
                    StatusCode::OK,
                    RpcResult {
                        jsonrpc: "2.0",
                        id: &id,
                        result: call_result(&response, typed),
                    },
                ),
                Err(_) => json_response(
                    StatusCode::OK,
                    RpcError::internal("internal error").to_response(id),
                ),
            }
        }
        other => match adapter
            .relay
            .as_ref()
            .and_then(|relay| relay.request(other, Value::Object(params), caller))
        {
            Some(answer) => match answer.await {
                Ok(result) => json_response(StatusCode::OK, rpc_result(id, result)),
                Err(e) => json_response(StatusCode::OK, RpcError::from(e).to_response(id)),
            },
            // The method is not echoed: it is the caller's text, and this message is built
            // outside the stack, where no sanitizer would mask it.
            None => json_response(StatusCode::OK, RpcError::MethodNotFound.to_response(id)),
        },
    }
}

/// A `tools/list` cursor: the index of the page's first tool, tagged and base64url'd so
/// clients treat it as opaque.
fn encode_cursor(start: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("tools:{start}"))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    use base64::Engine;
    if cursor.len() > 64 {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    std::str::from_utf8(&bytes)
        .ok()?
        .strip_prefix("tools:")?
        .parse()
        .ok()
}

/// `tools/list`: the catalog, filtered by the policy for this caller.
fn list_tools(adapter: &HttpAdapter, caller: Caller) -> Vec<Value> {
    adapter.core.visible(caller, |t| t.to_mcp())
}

/// A JSON-RPC success response, serialized without building a `Value` tree.
#[derive(Serialize)]
struct RpcResult<'a, R> {
    jsonrpc: &'static str,
    id: &'a Value,
    result: R,
}

async fn plain(
    State(adapter): State<Arc<HttpAdapter>>,
    Path(name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refusal) = adapter.check_request(&uri, &headers, false) {
        return *refusal;
    }
    let arguments: Value = if body.is_empty() {
        Value::Object(Map::new())
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return json_response(
                    StatusCode::BAD_REQUEST,
                    json!({"error": format!("the body is not JSON: {e}")}),
                );
            }
        }
    };
    let (caller, presented) = caller_of(&headers);
    // A session id counts only if this server issued it to this caller.
    let session = match presented {
        None => None,
        Some(session) => {
            let owner = owner_of(&caller, adapter.core.policy());
            match adapter.sessions.check(&session, &owner).await {
                SessionCheck::Valid => {}
                SessionCheck::Unavailable => {
                    return json_response(
                        StatusCode::SERVICE_UNAVAILABLE,
                        json!({"error": "sessions cannot be checked now; try again later"}),
                    );
                }
                SessionCheck::Unknown => {
                    return json_response(
                        StatusCode::NOT_FOUND,
                        json!({"error": "unknown or expired session"}),
                    );
                }
            }
            Some(session)
        }
    };
    let mut call = ToolCall::new(name, arguments).with_caller(caller);
    call.session = session;
    match adapter.core.call(call).await {
        Ok(response) => {
            let status = match response.rejection.as_ref().map(|r| r.code) {
                None => StatusCode::OK,
                Some(RejectionCode::MalformedCall) => StatusCode::BAD_REQUEST,
                Some(RejectionCode::Unauthenticated) => StatusCode::UNAUTHORIZED,
                Some(
                    RejectionCode::PolicyDenied
                    | RejectionCode::OutsideSchedule
                    | RejectionCode::ToolChanged,
                ) => StatusCode::FORBIDDEN,
                Some(RejectionCode::UnknownTool) => StatusCode::NOT_FOUND,
                Some(RejectionCode::SchemaViolation | RejectionCode::GhostArguments) => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                Some(RejectionCode::RateLimited | RejectionCode::BudgetExceeded) => {
                    StatusCode::TOO_MANY_REQUESTS
                }
                Some(_) => StatusCode::SERVICE_UNAVAILABLE,
            };
            let retry = response
                .rejection
                .as_ref()
                .and_then(|r| r.retry_after)
                .map(|d| d.as_secs_f64().ceil() as u64);
            let mut out = json_response(
                status,
                serde_json::to_value(&response).unwrap_or(Value::Null),
            );
            if let Some(secs) = retry
                && let Ok(v) = HeaderValue::from_str(&secs.to_string())
            {
                out.headers_mut().insert(header::RETRY_AFTER, v);
            }
            out
        }
        Err(e) => {
            tracing::error!(error = %e, "the tool service failed");
            json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "internal error"}),
            )
        }
    }
}
