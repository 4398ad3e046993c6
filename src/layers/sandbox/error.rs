//! [`SandboxError`]: why a sandbox layer could not be built, or cannot isolate.

/// Why a sandbox layer could not be built, or cannot isolate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The configuration is invalid.
    #[error("sandbox configuration: {0}")]
    Config(String),
    /// The backend cannot isolate on this host (what its probe run found).
    #[error("{0}")]
    Unavailable(String),
}
