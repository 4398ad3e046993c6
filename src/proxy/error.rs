//! [`ProxyError`]: why the proxy cannot start or serve.

/// Why the proxy cannot start or serve.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// `[proxy]` is invalid (a path, a protocol revision, a name `pass` does not know).
    #[error("{0}")]
    Config(String),
    /// The upstream cannot be started, initialized or listed.
    #[error("upstream: {0}")]
    Upstream(String),
    /// The configuration cannot be built into the stack.
    #[cfg(feature = "proxy")]
    #[error("{0}")]
    Airlock(#[from] crate::airlock::AirlockError),
    /// Serving failed.
    #[error("serve: {0}")]
    Serve(String),
    /// The pin file cannot be read or written.
    #[error("{0}")]
    Pins(#[from] super::pins::PinError),
}
