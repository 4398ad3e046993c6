//! Approvals: a call a policy holds for a person's decision, bound to the exact call.
//!
//! A Cedar `permit` annotated `@approval("…")`, or a tool in `[policy.approvals] tools`,
//! makes a call wait for a person. The call is answered with an `approval_pending` refusal
//! naming an approval request; the request is bound to the caller, the tool, a digest of the
//! canonical arguments and the version of the policies ([`Binding`]). Once a person approves
//! it, the identical call, retried, goes through once: other arguments, another caller,
//! changed policies, a second use or an expired request do not.
//!
//! ```
//! use agent_airlock::approvals::{ApprovalStore, Binding, Held, MemoryApprovalStore};
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let store = MemoryApprovalStore::new(1000);
//! let binding = Binding::new(Some("alice"), true, "delete_repo", &json!({"repo": "x"}), "v1");
//! let Held::Pending(request) = store.hold(&binding, json!({"repo": "x"}), "deletes", 0, 600).await.unwrap()
//! else { panic!() };
//! store.decide(&request.id, true, "bob", 1).await.unwrap();
//! assert!(matches!(store.hold(&binding, json!({}), "", 2, 600).await.unwrap(), Held::Granted(_)));
//! // Single use: the next identical call waits again.
//! assert!(matches!(store.hold(&binding, json!({}), "", 3, 600).await.unwrap(), Held::Pending(_)));
//! # }
//! ```

mod memory;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "axum")]
mod server;
mod store;

pub use memory::MemoryApprovalStore;
#[cfg(feature = "redis")]
pub use redis::RedisApprovalStore;
#[cfg(feature = "axum")]
pub use server::ApprovalServer;
pub use store::{
    ApprovalError, ApprovalRequest, ApprovalState, ApprovalStore, Binding, BoxFuture, Held,
    canonical,
};
