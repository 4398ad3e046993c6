//! An append-only, tamper-evident record of every call.
//!
//! [`AuditLayer`] goes outermost, so it sees every call and every refusal. For each call it
//! writes one JSON line: format version, sequence number, time (RFC 3339, UTC, nanoseconds),
//! call id, agent (the verified one when a layer inside verified it), session, tool,
//! arguments, decision (`allowed`, `refused`, `failed`, `error`, `cancelled`), rejection code
//! and layer, duration, and for the output its size, redaction counts by kind and
//! truncation; a sanitized copy of the output only with `keep_output`. `ts` is when the
//! call started and `duration_us` how long it took; records are in the order calls
//! finished, and `seq` numbers them in that order.
//!
//! **Nothing sensitive is written**: the arguments go through the same [`Sanitizer`](crate::Sanitizer) as
//! outputs (values under sensitive names such as `password`, `token` or `api_key` are
//! replaced at any depth, and every string is scanned for PII and secrets), as do the
//! messages, ids and names a caller could fill. Credentials are never recorded. The
//! [`tracing`] events (target `agent_airlock::audit`) carry the same sanitized line.
//!
//! **Tamper evidence**: each line ends with `"hash"`, the SHA-256 (or, with a key,
//! HMAC-SHA256) of the line without it, and holds `prev`, the hash of the line before. An
//! edited, removed, inserted or reordered record breaks the chain; [`verify_files`] (and
//! `airlock audit verify`) finds the first break.
//!
//! **Nothing is lost silently**: records go through a bounded queue to a dedicated writer
//! thread. A call takes its place in the queue in `poll_ready`, before it runs; when the
//! queue is full or the sink is failing, it waits (`on_full = "block"`, the default) or is
//! refused as `audit_unavailable` (`"fail_closed"`). A failed write is retried, never
//! dropped, and counted in [`AuditStats`].
//!
//! ```
//! use std::sync::Arc;
//! use agent_airlock::layers::audit::{AuditConfig, AuditLayer, verify_files};
//! use agent_airlock::layers::sanitize::{SanitizeConfig, Sanitizer};
//! use agent_airlock::{ToolCall, ToolResponse};
//! use serde_json::json;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = std::env::temp_dir().join(format!("airlock-doc-audit-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! let mut config = AuditConfig::default();
//! config.path = Some(dir.join("audit.jsonl"));
//! // What is masked in records: the same sanitizer the sanitize layer uses.
//! let sanitizer = Arc::new(Sanitizer::new(&SanitizeConfig::default())?);
//! let audit = AuditLayer::from_config(&config, sanitizer)?;
//!
//! let tool = service_fn(|_call: ToolCall| async {
//!     Ok::<_, std::convert::Infallible>(ToolResponse::text("sent"))
//! });
//! let svc = ServiceBuilder::new().layer(audit.clone()).service(tool);
//! let call = ToolCall::new("send_mail", json!({"to": "bob@example.com", "password": "hunter2"}));
//! svc.oneshot(call).await?;
//! audit.flush().await?;
//!
//! let log = std::fs::read_to_string(dir.join("audit.jsonl"))?;
//! assert!(log.contains(r#""decision":"allowed""#));
//! assert!(!log.contains("hunter2") && !log.contains("bob@example.com"));
//! assert_eq!(verify_files(&[dir.join("audit.jsonl")], None)?.records, 1);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```

mod config;
mod error;
mod future;
mod layer;
mod outcome;
mod record;
mod service;
mod sink;
mod verify;
mod wire;
mod writer;

pub use config::{AuditConfig, Fsync, OnFull, ParseFsyncError};
pub use error::AuditError;
pub use future::AuditFuture;
pub use layer::AuditLayer;
pub use outcome::Outcome;
pub use record::{ALG_HMAC, ALG_SHA256, FORMAT_VERSION, GENESIS};
pub use service::Audit;
pub use sink::{AuditSink, FileSink};
pub use verify::{ChainBreak, VerifyError, VerifyReport, verify_files};
pub use writer::AuditStats;
