//! [`PolicyLayer`]: the compiled policy a stack shares.

use std::sync::Arc;

use tower_layer::Layer;

use super::builder::PolicyEngineBuilder;
use super::config::PolicyConfig;
use super::engine::PolicyEngine;
use super::error::PolicyError;
use super::service::Policy;
use crate::catalog::SharedCatalog;

/// Applies a [`PolicyEngine`] to every call. Cheap to clone: the engine is shared.
#[derive(Debug, Clone)]
pub struct PolicyLayer {
    engine: Arc<PolicyEngine>,
}

impl PolicyLayer {
    /// Enforces `engine`.
    pub fn new(engine: Arc<PolicyEngine>) -> Self {
        Self { engine }
    }

    /// Compiles `[policy]`, with `catalog` for the hints of refusals (the nearest tool
    /// names, the tools the caller may use). A bad pattern, rate or schedule, or a missing
    /// identity secret, is an error here, not at the first call.
    pub fn from_config(
        config: &PolicyConfig,
        catalog: impl Into<SharedCatalog>,
    ) -> Result<Self, PolicyError> {
        let engine = PolicyEngineBuilder::from_config(config)?
            .catalog(catalog)
            .build()?;
        Ok(Self::new(Arc::new(engine)))
    }

    /// The engine, for `visible_tools` (what `tools/list` shows a caller) and metrics.
    pub fn policy(&self) -> &Arc<PolicyEngine> {
        &self.engine
    }
}

impl<S> Layer<S> for PolicyLayer {
    type Service = Policy<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Policy::new(inner, self.engine.clone())
    }
}
