//! [`SharedStore`]: rate limits and session budgets kept where several replicas agree.
//!
//! The policy decides everything it can locally (name, identity, tool rules, time
//! windows, the session id's shape), then hands what must be counted to the store as one
//! [`Admission`]: the rate buckets the call takes from and the session budget it counts
//! against. The store decides all of it at once: either every bucket and budget admits
//! the call and all of them are charged, or nothing is charged and the first that refused
//! is named. One round trip per call, whatever the number of limits.

use std::fmt;
use std::time::Duration;

use futures_util::future::BoxFuture;

use super::RateSpec;

/// One rate bucket a call takes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateCharge {
    /// The bucket: the limit and the agent (or everyone), as a key the store may prefix.
    pub key: String,
    /// The limit.
    pub spec: RateSpec,
}

/// One per-tool budget of a session a call counts against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCharge {
    /// The counter's name within the session (the tool glob it counts).
    pub field: String,
    /// Most calls the session may make of those tools.
    pub limit: u32,
}

/// The session budget a call counts against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCharge {
    /// The session's counters, as a key the store may prefix.
    pub key: String,
    /// Idle time after which the session's counters are forgotten.
    pub ttl: Duration,
    /// Most calls in the session.
    pub max_calls: Option<u32>,
    /// The per-tool budgets the call's tool falls under.
    pub tools: Vec<ToolCharge>,
}

/// Everything one call must be admitted by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Admission {
    /// Rate buckets, in the order the limits were configured.
    pub rates: Vec<RateCharge>,
    /// The session budget, when the call has one.
    pub session: Option<SessionCharge>,
}

impl Admission {
    /// Whether there is nothing to count.
    pub fn is_empty(&self) -> bool {
        self.rates.is_empty() && self.session.is_none()
    }
}

/// What the store decided. Nothing is charged unless the call is admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every bucket and budget admitted the call; all of them were charged.
    Admitted,
    /// `rates[index]` is spent; the call may go ahead after `retry_after`.
    RateLimited {
        /// Which of [`Admission::rates`].
        index: usize,
        /// The exact wait.
        retry_after: Duration,
    },
    /// The session used all of its calls.
    SessionSpent,
    /// The session used all of its calls of `tools[index]`.
    ToolSpent {
        /// Which of [`SessionCharge::tools`].
        index: usize,
    },
}

/// The store could not decide in time (or refused the command). The policy refuses the
/// call with the code `state_unavailable`; the reason stays in the logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreUnavailable {
    /// What went wrong (never a URL or a password).
    pub reason: String,
    /// When to try again.
    pub retry_after: Duration,
}

impl fmt::Display for StoreUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the shared state store is unavailable: {}", self.reason)
    }
}

impl std::error::Error for StoreUnavailable {}

/// Where rate limits and session budgets live when replicas share them (Redis with the
/// `redis` feature: [`RedisState`](crate::state::RedisState)). The store decides an
/// [`Admission`] atomically: no two replicas can both take the last call of a bucket.
pub trait SharedStore: Send + Sync + fmt::Debug + 'static {
    /// Decides `admission`, charging everything or nothing. The future must finish within
    /// the store's own timeout; what a store that cannot answer does (refuse, or admit
    /// and count it) is the store's configuration.
    fn admit(&self, admission: Admission) -> BoxFuture<'static, Result<Verdict, StoreUnavailable>>;
}
