//! Who may call which tool, when, and how often.
//!
//! [`PolicyLayer`] runs a [`PolicyEngine`] on every call, in this order, and refuses
//! at the first rule that says no (nothing is consumed by a refused call's
//! later rules):
//!
//! 1. **Name**: the MCP rule (`malformed_call`).
//! 2. **Identity** (`unauthenticated`): with a verifier, a presented
//!    credential must verify, and the verified agent id and roles replace what
//!    the caller claimed; with `require_identity`, a caller without one is
//!    refused. Refusals never say why (the reason is logged, never the token).
//! 3. **Tool rules** (`policy_denied`): deny patterns (case-insensitive)
//!    win; then, if any allow list exists, the tool must be on the global list
//!    or on a list of the caller's agent id or one of its roles. The refusal
//!    names the rule that matched and lists the tools the caller may use.
//! 4. **Time windows** (`outside_schedule`, with the next opening as
//!    `retry_after_secs`), in the window's own time zone.
//! 5. **Rate limits** (`rate_limited`, with `retry_after_secs`), per agent
//!    and global, on `governor`.
//! 6. **Session budgets** (`budget_exceeded`).
//!
//! Rate limits and session budgets live in this process unless the engine has a
//! [`SharedStore`] (`[state] backend = "redis"`): then steps 5 and 6 are one
//! atomic decision on the store, every limit and budget charged or none, and a
//! store that cannot answer within its timeout refuses the call with
//! `state_unavailable` (or admits it, with `on_unavailable = "fail_open"`).
//!
//! Without a verifier, the caller is taken as the adapter built it: put the
//! policy behind an adapter that authenticates, or configure a verifier.
//!
//! ```
//! use std::convert::Infallible;
//! use std::sync::Arc;
//! use agent_airlock::layers::policy::{PolicyEngine, PolicyLayer, RuleConfig};
//! use agent_airlock::{Caller, RejectionCode, ToolCall, ToolResponse};
//! use serde_json::json;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let policy = PolicyEngine::builder()
//!     .deny(["delete_*"])
//!     .role("reader", RuleConfig { allow: Some(vec!["read_*".into()]), deny: vec![] })
//!     .rate_limit("*", "100/minute".parse()?)
//!     .build()?;
//! let tool = service_fn(|_call: ToolCall| async { Ok::<_, Infallible>(ToolResponse::text("ok")) });
//! let svc = ServiceBuilder::new().layer(PolicyLayer::new(Arc::new(policy))).service(tool);
//!
//! let reader = Caller::agent("bot").with_roles(["reader"]);
//! let ok = svc.clone().oneshot(ToolCall::new("read_file", json!({})).with_caller(reader.clone())).await?;
//! assert!(!ok.is_error);
//! let denied = svc.oneshot(ToolCall::new("DELETE_everything", json!({})).with_caller(reader)).await?;
//! assert_eq!(denied.rejection.unwrap().code, RejectionCode::PolicyDenied);
//! # Ok(())
//! # }
//! ```

mod approval;
mod builder;
#[cfg(feature = "cedar")]
mod cedar;
mod clock;
mod config;
mod engine;
mod error;
mod gate;
mod identity;
mod layer;
#[cfg(feature = "oauth")]
pub mod oauth;
mod rate;
mod rules;
mod schedule;
mod service;
mod session;
mod shared;

pub use approval::{ApprovalsConfig, PreviewMask};
pub use builder::PolicyEngineBuilder;
#[cfg(feature = "cedar")]
pub use cedar::CedarPolicies;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{ClaimRoles, IdentityConfig, IdentityKind, PolicyConfig, RuleConfig};
pub use engine::{Decision, PendingDecision, PolicyEngine};
pub use error::PolicyError;
pub use gate::ToolGate;
pub use identity::{
    HmacTokenVerifier, IdentityError, IdentityVerifier, MIN_SECRET_BYTES, VerifiedIdentity,
    granted_scopes,
};
#[cfg(feature = "jwt")]
pub use identity::{JwtAlgorithm, JwtVerifier};
pub use layer::PolicyLayer;
#[cfg(feature = "oauth")]
pub use oauth::{OAuthVerifier, OAuthVerifierBuilder};
pub use rate::{GovernorStore, RateLimitConfig, RateLimitStore, RateSpec};
pub use schedule::ScheduleConfig;
pub use service::{Policy, PolicyFuture};
pub use session::SessionConfig;
pub use shared::{
    Admission, RateCharge, SessionCharge, SharedStore, StoreUnavailable, ToolCharge, Verdict,
};
