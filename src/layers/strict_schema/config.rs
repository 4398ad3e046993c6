//! [`StrictSchemaConfig`]: what the schema layer is built from.

use serde::{Deserialize, Serialize};

use crate::limits::InputLimits;

/// The schema layer's settings. In an `airlock.toml` they come from `strict_mode` and
/// `[limits]` (shared with the ghost-argument layer) and `[schema]`; on its own it reads as:
///
/// ```toml
/// require_schema = false   # refuse tools without a schema (missing_schema)
/// max_errors = 16          # most field errors in one schema_violation
/// [limits]                 # checked before validation
/// max_depth = 64
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct StrictSchemaConfig {
    /// Refuse calls of tools that have no schema (`missing_schema`) instead of letting them
    /// through with an `unvalidated` note.
    pub require_schema: bool,
    /// Most field errors in one refusal. At least 1.
    pub max_errors: usize,
    /// Bounds checked before validation.
    pub limits: InputLimits,
}

impl Default for StrictSchemaConfig {
    fn default() -> Self {
        Self {
            require_schema: false,
            max_errors: 16,
            limits: InputLimits::default(),
        }
    }
}
