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
//! **MCP** (`POST /mcp`, one JSON-RPC 2.0 message per request): `initialize` (answers with a
//! new `Mcp-Session-Id`), `ping`, `tools/list` (filtered by the policy for this caller when
//! one is given), `tools/call`; notifications get `202 Accepted`. Malformed requests get
//! JSON-RPC errors: `-32700` (not JSON), `-32600` (not a request: wrong `jsonrpc`, no
//! method, a batch), `-32601` (unknown method), `-32602` (params not an object, no tool
//! name, arguments not an object). A refusal is a tool result with `isError: true`, the
//! message and fix hints as text, and the rejection as `structuredContent.rejection`, so
//! the model can correct itself.
//!
//! **Plain HTTP** (`POST /tools/{name}`, the arguments as the JSON body): the
//! `ToolResponse` as JSON, with a status from the outcome: 200, 400 (malformed), 401
//! (`unauthenticated`), 403 (`policy_denied`, `outside_schedule`), 404 (`unknown_tool`),
//! 422 (`schema_violation`, `ghost_arguments`), 429 (`rate_limited`, with `Retry-After`),
//! 503 (`sandbox_unavailable`, `audit_unavailable`, `missing_schema`).
//!
//! Both take the caller from `Authorization: Bearer <credential>` (verified by the policy's
//! identity verifier when there is one) and an optional claimed `X-Agent-Id`, and the
//! session from `Mcp-Session-Id`. Request bodies are limited (1 MiB + 64 KiB by default) and
//! requests time out (60 s), with `tower-http`.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{ServedStack, ToolStack, caller_of, refusal_text};
use crate::catalog::ToolCatalog;
use crate::layers::policy::PolicyEngine;
use crate::service::{Caller, Note, Rejection, RejectionCode, ToolCall, ToolOutput, ToolResponse};

/// The MCP protocol revision this adapter speaks by default.
pub const PROTOCOL_VERSION: &str = "2025-06-18";
/// Revisions it accepts from a client's `initialize`.
pub const SUPPORTED_VERSIONS: &[&str] = &["2025-06-18", "2025-03-26", "2024-11-05"];

/// Builds the axum [`Router`]; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct HttpAdapter {
    core: ServedStack,
    body_limit: usize,
    timeout: Duration,
    name: String,
    version: String,
}

impl HttpAdapter {
    /// Serves `stack` (any service of tool calls: the airlock layers over a router) and
    /// lists the tools of `catalog`.
    pub fn new<S: ToolStack>(stack: S, catalog: Arc<ToolCatalog>) -> Self {
        Self {
            core: ServedStack::new(stack, catalog),
            body_limit: 1024 * 1024 + 64 * 1024,
            timeout: Duration::from_secs(60),
            name: "agent-airlock".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
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

    /// The router: `POST /mcp` and `POST /tools/{name}`.
    pub fn into_router(self) -> Router {
        let limit = self.body_limit;
        let timeout = self.timeout;
        Router::new()
            .route("/mcp", post(mcp))
            .route("/tools/{name}", post(plain))
            .with_state(Arc::new(self))
            .layer(DefaultBodyLimit::disable())
            .layer(tower_http::limit::RequestBodyLimitLayer::new(limit))
            .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                timeout,
            ))
    }
}

fn rpc_error(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

fn rpc_result(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

fn json_response(status: StatusCode, body: impl Serialize) -> Response {
    (status, axum::Json(body)).into_response()
}

/// A new session id: 128 bits from the operating system, hex.
fn new_session_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness: fall back to the per-process random state (still unguessable
        // across processes, not across a long-lived one's sessions).
        use std::hash::{BuildHasher, RandomState};
        let a = RandomState::new().hash_one(std::time::SystemTime::now());
        let b = RandomState::new().hash_one(a);
        bytes[..8].copy_from_slice(&a.to_le_bytes());
        bytes[8..].copy_from_slice(&b.to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn mcp(State(adapter): State<Arc<HttpAdapter>>, headers: HeaderMap, body: Bytes) -> Response {
    let message: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                rpc_error(Value::Null, -32700, &format!("parse error: {e}")),
            );
        }
    };
    let Value::Object(mut message) = message else {
        let why = if message.is_array() {
            "batches are not supported: send one JSON-RPC message per request"
        } else {
            "the body must be a JSON-RPC 2.0 object"
        };
        return json_response(StatusCode::BAD_REQUEST, rpc_error(Value::Null, -32600, why));
    };
    let id = message.remove("id");
    if let Some(id) = &id
        && !(id.is_string() || id.is_i64() || id.is_u64())
    {
        return json_response(
            StatusCode::BAD_REQUEST,
            rpc_error(Value::Null, -32600, "the id must be a string or an integer"),
        );
    }
    if message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return json_response(
            StatusCode::BAD_REQUEST,
            rpc_error(id.unwrap_or(Value::Null), -32600, "jsonrpc must be \"2.0\""),
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
                rpc_error(id, -32600, "the request has no method"),
            ),
        };
    };
    let mut params = match message.remove("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map,
        Some(_) => {
            return json_response(
                StatusCode::OK,
                rpc_error(
                    id.unwrap_or(Value::Null),
                    -32602,
                    "params must be an object",
                ),
            );
        }
    };
    let Some(id) = id else {
        // A notification (`notifications/initialized`, `notifications/cancelled`, …).
        return StatusCode::ACCEPTED.into_response();
    };
    let (caller, session) = caller_of(&headers);
    match method.as_str() {
        "initialize" => {
            let asked = params.get("protocolVersion").and_then(Value::as_str);
            let version = asked
                .filter(|v| SUPPORTED_VERSIONS.contains(v))
                .unwrap_or(PROTOCOL_VERSION);
            let result = json!({
                "protocolVersion": version,
                "capabilities": {"tools": {"listChanged": false}},
                "serverInfo": {"name": adapter.name, "version": adapter.version},
            });
            let mut response = json_response(StatusCode::OK, rpc_result(id, result));
            if let Ok(value) = HeaderValue::from_str(&new_session_id()) {
                response.headers_mut().insert("mcp-session-id", value);
            }
            response
        }
        "ping" => json_response(StatusCode::OK, rpc_result(id, json!({}))),
        "tools/list" => {
            let tools = list_tools(&adapter, caller);
            json_response(StatusCode::OK, rpc_result(id, json!({"tools": tools})))
        }
        "tools/call" => {
            let Some(Value::String(name)) = params.remove("name") else {
                return json_response(
                    StatusCode::OK,
                    rpc_error(id, -32602, "tools/call needs params.name, the tool's name"),
                );
            };
            let arguments = match params.remove("arguments") {
                None | Some(Value::Null) => Value::Object(Map::new()),
                Some(v @ Value::Object(_)) => v,
                Some(_) => {
                    return json_response(
                        StatusCode::OK,
                        rpc_error(id, -32602, "params.arguments must be an object"),
                    );
                }
            };
            let mut call = ToolCall::new(name, arguments).with_caller(caller);
            call.session = session;
            match adapter.core.call(call).await {
                Ok(response) => json_response(
                    StatusCode::OK,
                    RpcResult {
                        jsonrpc: "2.0",
                        id: &id,
                        result: call_result(&response),
                    },
                ),
                Err(_) => json_response(StatusCode::OK, rpc_error(id, -32603, "internal error")),
            }
        }
        other => json_response(
            StatusCode::OK,
            rpc_error(
                id,
                -32601,
                &format!("method not found: {}", crate::preview::display_name(other)),
            ),
        ),
    }
}

/// `tools/list`: the catalog, filtered by the policy for this caller.
fn list_tools(adapter: &HttpAdapter, caller: Caller) -> Vec<Value> {
    adapter
        .core
        .visible(caller)
        .into_iter()
        .map(|t| t.to_mcp())
        .collect()
}

/// A JSON-RPC success response, serialized without building a `Value` tree.
#[derive(Serialize)]
struct RpcResult<'a, R> {
    jsonrpc: &'static str,
    id: &'a Value,
    result: R,
}

/// MCP's `CallToolResult`, borrowing from the response.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CallToolResult<'a> {
    content: [TextContent<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    structured_content: Option<Structured<'a>>,
    is_error: bool,
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    meta: Option<Meta<'a>>,
}

#[derive(Serialize)]
struct TextContent<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: Text<'a>,
}

/// A text content's text: a string, or a JSON output written as its own compact text
/// straight into the response (no intermediate string: the output is serialized once as
/// text and once as `structuredContent`, nothing more).
enum Text<'a> {
    Str(Cow<'a, str>),
    Json(&'a Value),
}

impl Serialize for Text<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Text::Str(text) => serializer.serialize_str(text),
            Text::Json(value) => serializer.collect_str(value),
        }
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum Structured<'a> {
    Rejection { rejection: &'a Rejection },
    Output(&'a Value),
}

#[derive(Serialize)]
struct Meta<'a> {
    #[serde(rename = "airlock/notes")]
    notes: &'a [Note],
}

/// A `ToolResponse` as MCP's `CallToolResult`.
fn call_result(response: &ToolResponse) -> CallToolResult<'_> {
    let text = |text| [TextContent { kind: "text", text }];
    if let Some(rejection) = &response.rejection {
        return CallToolResult {
            content: text(Text::Str(Cow::Owned(refusal_text(rejection)))),
            structured_content: Some(Structured::Rejection { rejection }),
            is_error: true,
            meta: None,
        };
    }
    let (content, structured_content) = match &response.output {
        ToolOutput::Text(t) => (text(Text::Str(Cow::Borrowed(t.as_str()))), None),
        ToolOutput::Json(value) => (
            text(Text::Json(value)),
            value.is_object().then_some(Structured::Output(value)),
        ),
    };
    CallToolResult {
        content,
        structured_content,
        is_error: response.is_error,
        meta: (!response.notes.is_empty()).then_some(Meta {
            notes: &response.notes,
        }),
    }
}

async fn plain(
    State(adapter): State<Arc<HttpAdapter>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
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
    let (caller, session) = caller_of(&headers);
    let mut call = ToolCall::new(name, arguments).with_caller(caller);
    call.session = session;
    match adapter.core.call(call).await {
        Ok(response) => {
            let status = match response.rejection.as_ref().map(|r| r.code) {
                None => StatusCode::OK,
                Some(RejectionCode::MalformedCall) => StatusCode::BAD_REQUEST,
                Some(RejectionCode::Unauthenticated) => StatusCode::UNAUTHORIZED,
                Some(RejectionCode::PolicyDenied | RejectionCode::OutsideSchedule) => {
                    StatusCode::FORBIDDEN
                }
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
