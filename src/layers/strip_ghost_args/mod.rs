//! Removes (or, in strict mode, refuses) arguments a tool does not declare.
//!
//! LLMs invent arguments: a `force: true` the tool never had, a `recursive`
//! borrowed from another tool, a key that differs from the real one by an
//! invisible character. Passed on, such an argument is at best ignored and at
//! worst changes what a lenient tool does. This layer compares every key of
//! the arguments, and of the nested objects whose properties the schema
//! declares, with the tool's schema in the shared [`ToolCatalog`]:
//!
//! - **default**: undeclared arguments are removed before the call goes on;
//!   their names (never their values) are recorded in a
//!   [`Note::ArgumentsStripped`] and a `tracing` warning;
//! - **strict** ([`StripGhostArgsLayer::strict`], `strict_mode` in the
//!   config, `AIRLOCK_STRICT_MODE=true`): the call is refused as
//!   `ghost_arguments`, naming each undeclared argument and the nearest
//!   declared parameter ("did you mean `path`?"); a tool without a schema is
//!   refused as `missing_schema`.
//!
//! Before that the layer refuses, like every layer, a tool name that breaks
//! the MCP rule or is not in the catalog, and arguments over the
//! [`InputLimits`](crate::InputLimits).
//!
//! ```
//! use std::convert::Infallible;
//! use agent_airlock::{StripGhostArgsLayer, ToolCall, ToolCatalog, ToolResponse, Note};
//! use serde_json::json;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let catalog = std::sync::Arc::new(ToolCatalog::from_mcp_json(r#"{"tools": [{"name": "read_file",
//!     "inputSchema": {"type": "object", "properties": {"path": {"type": "string"}}}}]}"#).unwrap());
//!
//! let tool = service_fn(|call: ToolCall| async move {
//!     Ok::<_, Infallible>(ToolResponse::json(call.arguments))
//! });
//! let svc = ServiceBuilder::new().layer(StripGhostArgsLayer::new(catalog.clone())).service(tool);
//! let response = svc
//!     .oneshot(ToolCall::new("read_file", json!({"path": "a.txt", "force": true})))
//!     .await
//!     .unwrap();
//! assert_eq!(response.output, agent_airlock::ToolOutput::Json(json!({"path": "a.txt"})));
//! assert!(matches!(&response.notes[0], Note::ArgumentsStripped { arguments, .. } if arguments == &["/force"]));
//! # }
//! ```
//!
//! [`ToolCatalog`]: crate::ToolCatalog
//! [`Note::ArgumentsStripped`]: crate::Note::ArgumentsStripped

mod config;
mod ghosts;
mod layer;
mod service;

pub use config::StripGhostArgsConfig;
pub use ghosts::{Ghost, PathSegment, find_ghosts, strip_ghosts};
pub use layer::StripGhostArgsLayer;
pub use service::StripGhostArgs;
