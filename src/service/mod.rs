//! The contract every layer shares: [`ToolCall`] in, [`ToolResponse`] out.
//!
//! A layer that refuses a call answers `Ok(ToolResponse::rejected(rejection))`
//! without calling the inner service. `Err` is kept for the service itself
//! breaking; every layer passes the inner service's error type through
//! untouched, so stock Tower middleware (timeouts, concurrency limits, load
//! shedding) composes with ours.
//!
//! # The `Rejection` JSON shape
//!
//! A [`Rejection`] serializes to a stable shape written for an LLM to read
//! and correct itself from. Fields that are empty are left out:
//!
//! ```json
//! {
//!   "code": "schema_violation",
//!   "layer": "strict_schema",
//!   "message": "the arguments of `search` do not match its schema (1 problem)",
//!   "fix_hints": ["fix each field listed in field_errors and call `search` again"],
//!   "field_errors": [
//!     {
//!       "pointer": "/limit",
//!       "expected": "integer",
//!       "received": "string",
//!       "preview": "\"100\"",
//!       "hint": "send 100 as a number, without quotes"
//!     }
//!   ],
//!   "retry_after_secs": 3
//! }
//! ```
//!
//! | field | meaning |
//! |---|---|
//! | `code` | machine code, one of [`RejectionCode`] in `snake_case` |
//! | `layer` | the layer that refused (`router`, `strip_ghost_args`, `strict_schema`, …) |
//! | `message` | one line saying what was wrong |
//! | `fix_hints` | what to do instead, one action per entry |
//! | `field_errors` | per-argument problems: JSON pointer, expected, received type, short preview, hint |
//! | `retry_after_secs` | whole seconds to wait, where waiting helps |
//!
//! ```
//! use agent_airlock::{Rejection, RejectionCode};
//!
//! let rejection = Rejection::new(RejectionCode::PolicyDenied, "policy", "`drop_table` is denied")
//!     .with_hint("use one of: read_file, search");
//! let json = serde_json::to_value(&rejection).unwrap();
//! assert_eq!(json["code"], "policy_denied");
//! assert_eq!(json["fix_hints"][0], "use one of: read_file, search");
//! assert!(json.get("retry_after_secs").is_none());
//! ```

mod call;
mod input;
pub mod layer_names;
mod log;
mod progress;
mod rejection;
mod response;

pub use call::{Caller, Credential, ToolCall, VerifiedAgent};
pub use input::{ClientCapabilities, InputRequired, InputResponses};
pub use log::{Log, LogLevel, LogMessage};
pub use progress::{Progress, ProgressUpdate};
pub use rejection::{FieldError, Rejection, RejectionCode};
pub use response::{McpContent, Note, ToolOutput, ToolResponse};
