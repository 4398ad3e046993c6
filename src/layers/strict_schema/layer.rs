use super::config::StrictSchemaConfig;
use crate::catalog::SharedCatalog;
use crate::limits::InputLimits;

/// Builds [`StrictSchema`](super::StrictSchema) services. Cheap to clone: the catalog is shared.
#[derive(Debug, Clone)]
#[must_use]
pub struct StrictSchemaLayer {
    pub(crate) catalog: SharedCatalog,
    pub(crate) require_schema: bool,
    pub(crate) limits: InputLimits,
    pub(crate) max_errors: usize,
}

impl StrictSchemaLayer {
    /// Validates the calls of the tools in `catalog`.
    pub fn new(catalog: impl Into<SharedCatalog>) -> Self {
        Self {
            catalog: catalog.into(),
            require_schema: false,
            limits: InputLimits::default(),
            max_errors: 16,
        }
    }

    /// From its settings (in an `airlock.toml`: `strict_mode`, `[limits]` and `[schema]`),
    /// for the tools in `catalog`.
    pub fn from_config(config: &StrictSchemaConfig, catalog: impl Into<SharedCatalog>) -> Self {
        Self::new(catalog)
            .require_schema(config.require_schema)
            .limits(config.limits)
            .max_errors(config.max_errors)
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
