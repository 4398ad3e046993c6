//! [`SandboxError`]: why a sandbox layer could not be built.

/// Why a sandbox layer could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The configuration is invalid.
    #[error("sandbox configuration: {0}")]
    Config(String),
}
