//! [`SanitizeConfig`]: the `[sanitize]` section, what the sanitize layer masks and keeps.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::detect::CustomPattern;
use super::mask::MaskStyle;

/// `[sanitize]`: what the sanitize layer masks and how much output it lets through.
///
/// ```toml
/// [sanitize]
/// mask_pii = true
/// mask_secrets = true
/// locales = ["in", "uk", "eu"]     # national ids: India, the UK, every EU locale
/// max_output_tokens = 5000         # ≈ 4 characters per token
/// max_output_chars = 20000         # the smaller limit wins
/// hash_key_env = "AIRLOCK_MASK_KEY"  # key for `hash` masks (random per process if unset)
/// allow_values = ["support@example.com"]
///
/// [sanitize.masks]                 # label (default) | partial | hash, per kind
/// credit_card = "partial"
/// email = "hash"
///
/// [[sanitize.patterns]]
/// name = "employee_id"
/// regex = "EMP-[0-9]{6}"
/// mask = "hash"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct SanitizeConfig {
    /// Mask personal data.
    pub mask_pii: bool,
    /// Mask secrets.
    pub mask_secrets: bool,
    /// Opt-in locales ([`LOCALES`](super::LOCALES)): `in` (Aadhaar, PAN, UPI, IFSC), `uk`,
    /// each EU member by its country code (`de`, `fr`, `es`, `it`, `nl`, `be`, `pl`, `se`,
    /// `fi`, `pt`, `ie`, `at`, `bg`, `hr`, `cy`, `cz`, `dk`, `ee`, `gr`, `hu`, `lv`, `lt`,
    /// `lu`, `mt`, `ro`, `sk`, `si`, or `eu` for all of them), `br`, `ca`, `au`: their
    /// national identifiers, and their phone numbers (mobiles, for most EU members) without
    /// a phone word next to them. None by default.
    pub locales: Vec<String>,
    /// Output budget in tokens (default 5000, `AIRLOCK_MAX_OUTPUT_TOKENS`).
    pub max_output_tokens: usize,
    /// Output budget in characters, if smaller.
    pub max_output_chars: Option<usize>,
    /// Mask style per kind name.
    pub masks: BTreeMap<String, MaskStyle>,
    /// The environment variable holding the key of `hash` masks.
    pub hash_key_env: Option<String>,
    /// Workspace patterns.
    pub patterns: Vec<CustomPattern>,
    /// Values never masked.
    pub allow_values: Vec<String>,
}

impl Default for SanitizeConfig {
    fn default() -> Self {
        Self {
            mask_pii: true,
            mask_secrets: true,
            locales: Vec::new(),
            max_output_tokens: 5000,
            max_output_chars: None,
            masks: BTreeMap::new(),
            hash_key_env: None,
            patterns: Vec::new(),
            allow_values: Vec::new(),
        }
    }
}
