//! [`SanitizeLayer`]: the sanitizer a stack shares.

use std::sync::Arc;

use tower_layer::Layer;

use super::config::SanitizeConfig;
use super::error::SanitizeError;
use super::sanitizer::Sanitizer;
use super::service::Sanitize;

/// Sanitizes every response; see the [module docs](super). Cheap to clone: the compiled
/// sanitizer is shared.
#[derive(Debug, Clone)]
pub struct SanitizeLayer {
    sanitizer: Arc<Sanitizer>,
}

impl SanitizeLayer {
    /// Uses `sanitizer` (share one with the audit layer: it is compiled once).
    pub fn new(sanitizer: Arc<Sanitizer>) -> Self {
        Self { sanitizer }
    }

    /// Compiles `[sanitize]`; a pattern that does not compile or a missing hash key is an
    /// error here, not at the first call.
    pub fn from_config(config: &SanitizeConfig) -> Result<Self, SanitizeError> {
        Ok(Self::new(Arc::new(Sanitizer::new(config)?)))
    }

    /// The compiled sanitizer, to share with the audit layer or to use on other text.
    pub fn sanitizer(&self) -> &Arc<Sanitizer> {
        &self.sanitizer
    }
}

impl<S> Layer<S> for SanitizeLayer {
    type Service = Sanitize<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Sanitize::new(inner, self.sanitizer.clone())
    }
}
