//! [`PolicyError`]: a policy that cannot be built.

/// A policy that cannot be built, naming the rule or key at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A glob pattern does not compile.
    #[error("{what}: invalid pattern {pattern:?}: {reason}")]
    Glob {
        /// Where the pattern is (`policy deny`, `role `reader` allow`, …).
        what: String,
        /// The pattern.
        pattern: String,
        /// Why.
        reason: String,
    },
    /// A rate does not parse.
    #[error("rate limit: {0}")]
    Rate(String),
    /// A schedule is invalid.
    #[error("schedule: {0}")]
    Schedule(String),
    /// Session budgets are invalid.
    #[error("policy.sessions: {0}")]
    Session(String),
    /// Identity verification is misconfigured.
    #[error("policy.identity: {0}")]
    Identity(String),
    /// The Cedar policies or entities are invalid, or Cedar is not built in.
    #[error("policy.cedar_file: {0}")]
    Cedar(String),
    /// `[policy.approvals]` is invalid.
    #[error("policy.approvals: {0}")]
    Approvals(String),
}
