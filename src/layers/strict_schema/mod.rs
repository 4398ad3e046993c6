//! Validates arguments against the tool's JSON Schema, with no type coercion.
//!
//! An LLM sends `"100"` where an integer belongs, `"true"` for a boolean, `1`
//! for a string. A lenient layer would convert them and hide the mistake; this
//! one refuses them as `schema_violation` and says, per field, how to fix the
//! call: a JSON pointer, what was expected, what was received (its type and a
//! short, display-safe preview, never the value under a sensitive name) and a
//! concrete hint ("send 100 as a number, without quotes"; "`mode` must be one
//! of read, write"). Violations are all reported, up to
//! [`StrictSchemaLayer::max_errors`].
//!
//! Validators are compiled once, when the [`ToolCatalog`](crate::ToolCatalog)
//! is built (Draft 2020-12 unless `$schema` says otherwise, formats checked,
//! `pattern` on the linear-time `regex` engine). A valid call costs one
//! `is_valid` pass; errors are only collected for invalid calls.
//!
//! ```
//! use std::convert::Infallible;
//! use agent_airlock::{RejectionCode, StrictSchemaLayer, ToolCall, ToolCatalog, ToolResponse};
//! use serde_json::json;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let catalog = std::sync::Arc::new(ToolCatalog::from_mcp_json(r#"{"tools": [{"name": "search",
//!     "inputSchema": {"type": "object", "properties": {"limit": {"type": "integer"}}}}]}"#).unwrap());
//! let tool = service_fn(|_call: ToolCall| async { Ok::<_, Infallible>(ToolResponse::text("ok")) });
//! let svc = ServiceBuilder::new().layer(StrictSchemaLayer::new(catalog)).service(tool);
//!
//! let response = svc.oneshot(ToolCall::new("search", json!({"limit": "100"}))).await.unwrap();
//! let rejection = response.rejection.unwrap();
//! assert_eq!(rejection.code, RejectionCode::SchemaViolation);
//! assert_eq!(rejection.field_errors[0].pointer, "/limit");
//! assert_eq!(rejection.field_errors[0].hint, "send 100 as a number, without quotes");
//! # }
//! ```

mod config;
mod explain;
mod layer;
mod service;

pub use config::StrictSchemaConfig;
pub use explain::explain;
pub use layer::StrictSchemaLayer;
pub use service::StrictSchema;
