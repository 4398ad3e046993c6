//! [`AuditError`]: why an audit layer could not start.

use crate::layers::sanitize::SanitizeError;

/// Why an audit layer could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The configuration is incomplete or inconsistent.
    #[error("audit configuration: {0}")]
    Config(String),
    /// The sanitizer could not be built.
    #[error(transparent)]
    Sanitize(#[from] SanitizeError),
    /// The log could not be opened or the writer started.
    #[error("audit log: {0}")]
    Io(#[from] std::io::Error),
    /// The existing log's chain cannot be continued.
    #[error("audit log: {0}")]
    Resume(String),
}
