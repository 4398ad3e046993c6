use super::config::StripGhostArgsConfig;
use crate::catalog::SharedCatalog;
use crate::limits::InputLimits;

/// Builds [`StripGhostArgs`](super::StripGhostArgs) services. Cheap to clone: the catalog is shared.
#[derive(Debug, Clone)]
#[must_use]
pub struct StripGhostArgsLayer {
    pub(crate) catalog: SharedCatalog,
    pub(crate) strict: bool,
    pub(crate) limits: InputLimits,
    pub(crate) max_reported: usize,
}

impl StripGhostArgsLayer {
    /// Strips undeclared arguments of the tools in `catalog` (non-strict, default limits).
    pub fn new(catalog: impl Into<SharedCatalog>) -> Self {
        Self {
            catalog: catalog.into(),
            strict: false,
            limits: InputLimits::default(),
            max_reported: 32,
        }
    }

    /// From its settings (in an `airlock.toml`: `strict_mode` and `[limits]`), for the
    /// tools in `catalog`.
    pub fn from_config(config: &StripGhostArgsConfig, catalog: impl Into<SharedCatalog>) -> Self {
        Self::new(catalog)
            .strict(config.strict)
            .limits(config.limits)
            .max_reported(config.max_reported)
    }

    /// Refuses undeclared arguments (and tools without a schema) instead of stripping them.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Sets the input limits checked before the walk.
    pub fn limits(mut self, limits: InputLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Most undeclared arguments named in one refusal or note (default 32); all are
    /// stripped or refused regardless.
    pub fn max_reported(mut self, max: usize) -> Self {
        self.max_reported = max.max(1);
        self
    }
}
