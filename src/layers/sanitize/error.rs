//! [`SanitizeError`]: a sanitizer that cannot be built.

/// A sanitizer that cannot be built, naming the pattern or key at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SanitizeError {
    /// A pattern does not compile.
    #[error("sanitize pattern `{name}`: {reason}")]
    Pattern {
        /// The pattern's name.
        name: String,
        /// Why.
        reason: String,
    },
    /// A configuration value is invalid.
    #[error("{0}")]
    Config(String),
}
