//! The approval request, its binding, and the store interface.

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A boxed future of a store.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What an approval is bound to: one caller, one tool, the exact arguments, one version of
/// the policies. `key` is the digest of all four.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// The caller's agent id, if any.
    pub agent: Option<String>,
    /// Whether that id was verified.
    pub verified: bool,
    /// The tool.
    pub tool: String,
    /// SHA-256 (hex) of the arguments in canonical JSON (keys sorted, no spaces).
    pub arguments: String,
    /// The version of the policies that asked for the approval.
    pub policy_version: String,
}

impl Binding {
    /// The binding of a call.
    pub fn new(
        agent: Option<&str>,
        verified: bool,
        tool: &str,
        arguments: &Value,
        policy_version: &str,
    ) -> Self {
        Self {
            agent: agent.map(str::to_owned),
            verified,
            tool: tool.to_owned(),
            arguments: hex(&Sha256::digest(canonical(arguments))),
            policy_version: policy_version.to_owned(),
        }
    }

    /// The digest that identifies this binding.
    pub fn key(&self) -> String {
        let mut h = Sha256::new();
        for part in [
            self.agent.as_deref().unwrap_or(""),
            if self.verified { "v" } else { "c" },
            &self.tool,
            &self.arguments,
            &self.policy_version,
        ] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        hex(&h.finalize())
    }
}

/// Where a request stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ApprovalState {
    /// Waiting for a person.
    Pending,
    /// Approved: the identical call may go through once.
    Approved {
        /// Who approved it.
        by: String,
        /// When (Unix seconds).
        at: i64,
    },
    /// Denied: the identical call is refused until the request expires.
    Denied {
        /// Who denied it.
        by: String,
        /// When (Unix seconds).
        at: i64,
    },
    /// Approved and used by the call it was for.
    Used {
        /// Who approved it.
        by: String,
        /// When it was used (Unix seconds).
        at: i64,
    },
}

/// An approval request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    /// Its id (32 hex digits).
    pub id: String,
    /// The call it is bound to.
    pub binding: Binding,
    /// The arguments as approvers see them: masked by the sanitizer before they are stored.
    pub preview: Value,
    /// Why the policy asks (its `@approval` text).
    pub reason: String,
    /// When it was made and when it expires (Unix seconds).
    pub created_at: i64,
    /// After this, it is neither pending nor usable.
    pub expires_at: i64,
    /// Where it stands.
    #[serde(flatten)]
    pub state: ApprovalState,
}

impl ApprovalRequest {
    /// A pending request for `binding`, made at `now`, living `ttl_secs` (at least 1), with
    /// a fresh id (128 random bits, hex, as session ids are made).
    pub(crate) fn pending(
        binding: &Binding,
        preview: Value,
        reason: &str,
        now: i64,
        ttl_secs: i64,
    ) -> Self {
        Self {
            id: crate::state::session::new_session_id(),
            binding: binding.clone(),
            preview,
            reason: reason.to_owned(),
            created_at: now,
            expires_at: now.saturating_add(ttl_secs.max(1)),
            state: ApprovalState::Pending,
        }
    }
}

/// What [`ApprovalStore::hold`] found for a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    /// An approval for this exact call: it is now used, and the call goes through.
    Granted(ApprovalRequest),
    /// Waiting for a person (made now, or made by an earlier identical call).
    Pending(ApprovalRequest),
    /// A person denied this exact call.
    Denied(ApprovalRequest),
}

/// Why a store could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApprovalError {
    /// No request by that id (or it expired).
    #[error("no pending approval request `{0}`")]
    NotFound(String),
    /// The request was already decided.
    #[error("approval request `{0}` was already decided")]
    Decided(String),
    /// An approver tried to decide on a call of their own.
    #[error("approval request `{0}` is for a call of the approver's own: another approver decides")]
    OwnCall(String),
    /// The store holds as many pending requests as it may.
    #[error("too many approval requests are pending")]
    Full,
    /// The store cannot answer (a shared store that is down).
    #[error("the approval store is unavailable: {0}")]
    Unavailable(String),
}

/// Where approval requests live: in this process ([`MemoryApprovalStore`](super::MemoryApprovalStore)) or on Redis
/// (feature `redis`), so that any replica can resume a call another
/// replica held.
pub trait ApprovalStore: Send + Sync + 'static {
    /// For a call bound to `binding` at `now`: uses an approval of it (atomically, once),
    /// or finds its pending or denied request, or makes a pending one living `ttl_secs`.
    fn hold<'a>(
        &'a self,
        binding: &'a Binding,
        preview: Value,
        reason: &'a str,
        now: i64,
        ttl_secs: i64,
    ) -> BoxFuture<'a, Result<Held, ApprovalError>>;

    /// The request `id`, pending or decided, while it lives.
    fn get<'a>(
        &'a self,
        id: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<Option<ApprovalRequest>, ApprovalError>>;

    /// The live requests, newest first, at most `max`.
    fn list(
        &self,
        now: i64,
        max: usize,
    ) -> BoxFuture<'_, Result<Vec<ApprovalRequest>, ApprovalError>>;

    /// Approves (or denies) the pending request `id` in the name of `by`.
    fn decide<'a>(
        &'a self,
        id: &'a str,
        approve: bool,
        by: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<ApprovalRequest, ApprovalError>>;
}

/// `value` as canonical JSON: object keys sorted, no insignificant whitespace, so the same
/// arguments give the same bytes whatever order they were sent in.
pub fn canonical(value: &Value) -> Vec<u8> {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&map[k])))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_vec(&sorted(value)).unwrap_or_default()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_binding_follows_every_part_of_the_call_and_not_key_order() {
        let base = Binding::new(
            Some("a"),
            true,
            "t",
            &json!({"x": 1, "y": [1, {"b": 2, "a": 1}]}),
            "v",
        );
        let same = Binding::new(
            Some("a"),
            true,
            "t",
            &json!({"y": [1, {"a": 1, "b": 2}], "x": 1}),
            "v",
        );
        assert_eq!(base.key(), same.key());
        for other in [
            Binding::new(Some("b"), true, "t", &json!({"x": 1}), "v"),
            Binding::new(Some("a"), false, "t", &json!({"x": 1}), "v"),
            Binding::new(Some("a"), true, "u", &json!({"x": 1}), "v"),
            Binding::new(Some("a"), true, "t", &json!({"x": 2}), "v"),
            Binding::new(Some("a"), true, "t", &json!({"x": 1}), "w"),
            Binding::new(None, true, "t", &json!({"x": 1}), "v"),
        ] {
            assert_ne!(
                other.key(),
                Binding::new(Some("a"), true, "t", &json!({"x": 1}), "v").key()
            );
        }
    }
}
