//! [`StripGhostArgsConfig`]: what the ghost-argument layer is built from.

use serde::{Deserialize, Serialize};

use crate::limits::InputLimits;

/// The ghost-argument layer's settings. In an `airlock.toml` they come from `strict_mode`
/// and `[limits]`, shared with the schema layer; on its own it reads as:
///
/// ```toml
/// strict = false        # refuse undeclared arguments (and tools without a schema)
/// max_reported = 32     # most undeclared arguments named in one refusal or note
/// [limits]              # checked before the walk
/// max_depth = 64
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct StripGhostArgsConfig {
    /// Refuse undeclared arguments as `ghost_arguments` (and tools without a schema as
    /// `missing_schema`) instead of stripping them.
    pub strict: bool,
    /// Most undeclared arguments named in one refusal or note; all are stripped or refused
    /// regardless. At least 1.
    pub max_reported: usize,
    /// Bounds checked before the walk.
    pub limits: InputLimits,
}

impl Default for StripGhostArgsConfig {
    fn default() -> Self {
        Self {
            strict: false,
            max_reported: 32,
            limits: InputLimits::default(),
        }
    }
}
