use std::sync::Arc;

use tower_layer::Layer;

use super::StrictSchema;
use crate::catalog::ToolCatalog;
use crate::config::AirlockConfig;
use crate::limits::InputLimits;

/// Builds [`StrictSchema`] services. Cheap to clone: the catalog is shared.
#[derive(Debug, Clone)]
#[must_use]
pub struct StrictSchemaLayer {
    pub(crate) catalog: Arc<ToolCatalog>,
    pub(crate) require_schema: bool,
    pub(crate) limits: InputLimits,
    pub(crate) max_errors: usize,
}

impl StrictSchemaLayer {
    /// Validates the calls of the tools in `catalog`.
    pub fn new(catalog: Arc<ToolCatalog>) -> Self {
        Self {
            catalog,
            require_schema: false,
            limits: InputLimits::default(),
            max_errors: 16,
        }
    }

    /// From the configuration: `strict_mode` (require a schema), `[limits]` and
    /// `[schema].max_errors`.
    pub fn from_config(catalog: Arc<ToolCatalog>, config: &AirlockConfig) -> Self {
        Self::new(catalog)
            .require_schema(config.strict_mode)
            .limits(config.limits)
            .max_errors(config.schema.max_errors)
    }

    /// Refuses calls of tools that have no schema (`missing_schema`) instead of letting them
    /// through with an [`Unvalidated`](crate::Note::Unvalidated) note.
    pub fn require_schema(mut self, require: bool) -> Self {
        self.require_schema = require;
        self
    }

    /// Sets the input limits checked before validation.
    pub fn limits(mut self, limits: InputLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Most field errors in one refusal (default 16, at least 1).
    pub fn max_errors(mut self, max: usize) -> Self {
        self.max_errors = max.max(1);
        self
    }
}

impl<S> Layer<S> for StrictSchemaLayer {
    type Service = StrictSchema<S>;

    fn layer(&self, inner: S) -> Self::Service {
        StrictSchema {
            inner,
            layer: self.clone(),
        }
    }
}
