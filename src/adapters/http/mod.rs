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
//! itself. Revisions 2025-11-25 (the default), 2025-06-18 and 2025-03-26 are negotiated, and
//! the stateless revision 2026-07-28 is served beside them (no `initialize`, no session; see
//! `docs/adapters.md`);
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
//! [`SessionStore`](crate::state::session::SessionStore) (in memory by default: 10,000 of an
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

mod adapter;
mod asking;
mod call_stream;
mod clients;
mod events;
mod front_door;
mod jsonrpc;
mod listen;
mod methods;
#[cfg(feature = "telemetry")]
mod metrics;
mod oauth;
mod param_headers;
mod plain;
mod reply;
mod resource;
mod rounds;
mod router;
mod serve;
mod session;
mod session_methods;
mod stateless;
mod streams;

pub use adapter::HttpAdapter;
pub use front_door::{FrontDoor, FrontDoorLayer, LOOPBACK_HOSTS};
pub use jsonrpc::MAX_BATCH;
#[cfg(feature = "telemetry")]
pub use metrics::metrics_router;
pub use resource::ProtectedResource;
pub use serve::ServeLimits;

/// The web framework whose `Router` [`HttpAdapter::into_router`] builds, re-exported on
/// purpose.
pub use axum;
/// CORS for [`HttpAdapter::cors`] (tower-http's), re-exported on purpose.
pub use tower_http::cors::CorsLayer;

pub use crate::mcp::{PROTOCOL_VERSION, SUPPORTED_VERSIONS};
