//! [`AirlockConfig`]: everything the layers take, from code, a TOML file and the environment.
//!
//! Precedence: built-in defaults, then the TOML file, then `AIRLOCK_*`
//! environment variables. Every problem is an error at start-up that names
//! the key or the variable; an unknown key in the file is an error too (a
//! misspelt `strict_mod = true` must not silently leave strict mode off).
//!
//! ```toml
//! # airlock.toml — every key, with its default
//! strict_mode = false          # refuse ghost arguments and tools without a schema
//!
//! [limits]
//! max_payload_bytes = 1048576  # largest arguments object, as compact JSON
//! max_depth = 64               # deepest nesting; the arguments object is depth 1
//! max_keys = 1024              # most object keys, over all levels
//!
//! [schema]
//! max_errors = 16              # most field errors in one schema_violation
//!
//! [sanitize]
//! max_output_tokens = 5000     # output budget for the sanitize layer
//!
//! [policy]                     # see PolicyConfig for every key of this section
//! denied_tools = ["delete_*"]
//! ```
//!
//! Each section belongs to its layer, which documents it key by key and is built from it
//! alone: [`SanitizeConfig`], [`PolicyConfig`], [`AuditConfig`], `SandboxConfig`; the
//! ghost-argument and schema layers take [`StripGhostArgsConfig`] and
//! [`StrictSchemaConfig`], which [`AirlockConfig::strip_ghost_args`] and
//! [`AirlockConfig::strict_schema`] compose from `strict_mode`, `[limits]` and `[schema]`.
//! [`Airlock`](crate::Airlock) builds the whole recommended stack from this type; each
//! layer's `from_config` reports a bad pattern, rate, schedule or a missing secret at
//! start-up.
//!
//! | variable | key | values |
//! |---|---|---|
//! | `AIRLOCK_STRICT_MODE` | `strict_mode` | `true`/`false`/`1`/`0`/`yes`/`no`/`on`/`off` |
//! | `AIRLOCK_MAX_OUTPUT_TOKENS` | `sanitize.max_output_tokens` | a positive integer |
//! | `AIRLOCK_MAX_PAYLOAD_BYTES` | `limits.max_payload_bytes` | a positive integer |
//! | `AIRLOCK_MAX_DEPTH` | `limits.max_depth` | 1 to 1024 |
//! | `AIRLOCK_MAX_KEYS` | `limits.max_keys` | a positive integer |
//! | `AIRLOCK_REDIS_URL` | `state.url`, and `state.backend = "redis"` | a `redis://` or `rediss://` URL (the one place for a password) |
//!
//! ```
//! use agent_airlock::AirlockConfig;
//!
//! let config = AirlockConfig::from_toml_str("strict_mode = true\n[limits]\nmax_depth = 16").unwrap()
//!     .with_env_vars([("AIRLOCK_MAX_OUTPUT_TOKENS", "2000")])
//!     .unwrap();
//! assert!(config.strict_mode);
//! assert_eq!(config.limits.max_depth, 16);
//! assert_eq!(config.sanitize.max_output_tokens, 2000);
//!
//! let err = AirlockConfig::from_toml_str("strict_mod = true").unwrap_err();
//! assert!(err.to_string().contains("strict_mod"));
//! let err = AirlockConfig::default().with_env_vars([("AIRLOCK_STRICT_MODE", "maybe")]).unwrap_err();
//! assert!(err.to_string().contains("AIRLOCK_STRICT_MODE"));
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use crate::layers::audit::AuditConfig;
pub use crate::layers::policy::PolicyConfig;
pub use crate::layers::sandbox::SandboxConfig;
pub use crate::layers::sanitize::SanitizeConfig;
pub use crate::layers::strict_schema::StrictSchemaConfig;
pub use crate::layers::strip_ghost_args::StripGhostArgsConfig;
use crate::limits::InputLimits;
pub use crate::proxy::ProxyConfig;
pub use crate::state::StateConfig;
pub use crate::telemetry::TelemetryConfig;

/// Deepest nesting a configuration may allow.
pub const MAX_CONFIGURABLE_DEPTH: usize = 1024;

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct AirlockConfig {
    /// Refuse ghost arguments (instead of stripping them) and tools without a schema.
    pub strict_mode: bool,
    /// Bounds on hostile input.
    pub limits: InputLimits,
    /// Schema validation.
    pub schema: SchemaConfig,
    /// Output sanitization.
    pub sanitize: SanitizeConfig,
    /// Who may call which tool, when and how often.
    pub policy: PolicyConfig,
    /// The audit log.
    pub audit: AuditConfig,
    /// The sandbox (the layer needs feature `sandbox`, on Linux; the section parses on
    /// every build, and naming tools to isolate on a build without it is an error).
    pub sandbox: SandboxConfig,
    /// Shared state across replicas.
    pub state: StateConfig,
    /// `airlock proxy`: what a proxied upstream gets, and how long it is waited for.
    pub proxy: ProxyConfig,
    /// Traces, metrics and audit records for OpenTelemetry and Prometheus (the exporters
    /// need feature `telemetry`; the section parses on every build).
    pub telemetry: TelemetryConfig,
}

/// `[schema]` of the file: what only the schema layer reads
/// ([`AirlockConfig::strict_schema`] adds `strict_mode` and `[limits]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct SchemaConfig {
    /// Most field errors in one refusal.
    pub max_errors: usize,
}

impl Default for SchemaConfig {
    fn default() -> Self {
        Self { max_errors: 16 }
    }
}

/// A configuration problem, naming the key or variable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML does not parse or has an unknown key or a wrong type.
    #[error("invalid config{}: {message}", path.as_ref().map(|p| format!(" {p}")).unwrap_or_default())]
    Toml {
        /// The file, when read from one.
        path: Option<String>,
        /// The parser's message, which names the key and the line.
        message: String,
    },
    /// An environment variable has a value that cannot be used.
    #[error("environment variable {var}={value:?} is invalid: expected {expected}")]
    Env {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// What it may be.
        expected: &'static str,
    },
    /// A value is out of range.
    #[error("config key `{key}` = {value} is invalid: {reason}")]
    Invalid {
        /// The key, dotted (`limits.max_depth`).
        key: &'static str,
        /// Its value.
        value: String,
        /// Why.
        reason: &'static str,
    },
}

impl AirlockConfig {
    /// The ghost-argument layer's settings: `strict_mode` and `[limits]`.
    pub fn strip_ghost_args(&self) -> StripGhostArgsConfig {
        StripGhostArgsConfig {
            strict: self.strict_mode,
            limits: self.limits,
            ..StripGhostArgsConfig::default()
        }
    }

    /// The schema layer's settings: `strict_mode` (require a schema), `[limits]` and
    /// `[schema]`.
    pub fn strict_schema(&self) -> StrictSchemaConfig {
        StrictSchemaConfig {
            require_schema: self.strict_mode,
            limits: self.limits,
            max_errors: self.schema.max_errors,
        }
    }

    /// Parses TOML text (defaults for what it leaves out) and checks the values.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text).map_err(|e| ConfigError::Toml {
            path: None,
            message: e.to_string(),
        })?;
        if config
            .state
            .url
            .as_deref()
            .is_some_and(crate::state::url_has_password)
        {
            return Err(ConfigError::Invalid {
                key: "state.url",
                value: "(a URL with a password)".into(),
                reason: "a password belongs in AIRLOCK_REDIS_URL, never in the file",
            });
        }
        config.validate()?;
        Ok(config)
    }

    /// Reads and parses a TOML file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml_str(&text).map_err(|e| match e {
            ConfigError::Toml { message, .. } => ConfigError::Toml {
                path: Some(path.display().to_string()),
                message,
            },
            other => other,
        })
    }

    /// Defaults, then the file (if any), then the process environment: what a service
    /// should call at start-up.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let config = match path {
            Some(p) => Self::from_file(p)?,
            None => Self::default(),
        };
        config.with_env()
    }

    /// Applies the `AIRLOCK_*` variables of the process environment.
    pub fn with_env(self) -> Result<Self, ConfigError> {
        // A variable that is not valid Unicode is reported, not skipped.
        let mut vars = Vec::new();
        for (key, value) in std::env::vars_os() {
            let Some(key) = key.to_str() else { continue };
            if !key.starts_with("AIRLOCK_") {
                continue;
            }
            let value = value.to_string_lossy().into_owned();
            vars.push((key.to_owned(), value));
        }
        self.with_env_vars(vars)
    }

    /// Applies `AIRLOCK_*` variables from `vars` (testable without touching the process
    /// environment). Other variables are ignored.
    pub fn with_env_vars<K, V>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, ConfigError>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        for (key, value) in vars {
            let value = value.as_ref();
            match key.as_ref() {
                "AIRLOCK_STRICT_MODE" => {
                    self.strict_mode = parse_bool("AIRLOCK_STRICT_MODE", value)?
                }
                "AIRLOCK_MAX_OUTPUT_TOKENS" => {
                    self.sanitize.max_output_tokens =
                        parse_count("AIRLOCK_MAX_OUTPUT_TOKENS", value)?
                }
                "AIRLOCK_MAX_PAYLOAD_BYTES" => {
                    self.limits.max_payload_bytes = parse_count("AIRLOCK_MAX_PAYLOAD_BYTES", value)?
                }
                "AIRLOCK_MAX_DEPTH" => {
                    self.limits.max_depth = parse_count("AIRLOCK_MAX_DEPTH", value)?
                }
                "AIRLOCK_MAX_KEYS" => {
                    self.limits.max_keys = parse_count("AIRLOCK_MAX_KEYS", value)?
                }
                // Naming a server is choosing it: the URL alone switches the backend.
                "AIRLOCK_REDIS_URL" if !value.trim().is_empty() => {
                    self.state.url = Some(value.trim().to_owned());
                    self.state.backend = crate::state::Backend::Redis;
                }
                _ => {}
            }
        }
        self.validate()?;
        Ok(self)
    }

    /// Checks value ranges.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, value: usize, reason| ConfigError::Invalid {
            key,
            value: value.to_string(),
            reason,
        };
        if self.limits.max_depth == 0 || self.limits.max_depth > MAX_CONFIGURABLE_DEPTH {
            return Err(invalid(
                "limits.max_depth",
                self.limits.max_depth,
                "must be between 1 and 1024",
            ));
        }
        if self.limits.max_payload_bytes < 2 {
            return Err(invalid(
                "limits.max_payload_bytes",
                self.limits.max_payload_bytes,
                "must be at least 2 (the size of `{}`)",
            ));
        }
        if self.schema.max_errors == 0 {
            return Err(invalid("schema.max_errors", 0, "must be at least 1"));
        }
        if self.sanitize.max_output_tokens == 0 {
            return Err(invalid(
                "sanitize.max_output_tokens",
                0,
                "must be at least 1",
            ));
        }
        if let Some((key, value, reason)) = self.telemetry.problem() {
            return Err(ConfigError::Invalid { key, value, reason });
        }
        Ok(())
    }
}

fn parse_bool(var: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(ConfigError::Env {
            var,
            value: value.to_owned(),
            expected: "true or false (also 1/0, yes/no, on/off)",
        }),
    }
}

fn parse_count(var: &'static str, value: &str) -> Result<usize, ConfigError> {
    match value.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(ConfigError::Env {
            var,
            value: value.to_owned(),
            expected: "a positive whole number",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example configs carry `[sandbox]` and `[proxy.sandbox]`: they parse on every
    /// build (a build without the sandbox refuses to build a stack that would isolate
    /// tools, naming the feature, rather than not reading the file).
    #[test]
    fn sandbox_sections_parse_on_every_build() {
        let c = AirlockConfig::from_toml_str(
            "[sandbox]\ntools = [\"run_*\"]\nbackend = \"bwrap\"\n\n[proxy.sandbox]\nnetwork = true\n",
        )
        .unwrap();
        assert_eq!(c.sandbox.tools, ["run_*"]);
        assert!(c.proxy.sandbox.is_some_and(|s| s.network));
        let typo = AirlockConfig::from_toml_str("[sandbox]\ntoolz = []\n").unwrap_err();
        assert!(typo.to_string().contains("toolz"), "{typo}");
    }

    #[test]
    fn env_overrides_file_and_bad_values_name_the_variable() {
        let c = AirlockConfig::from_toml_str("strict_mode = true")
            .unwrap()
            .with_env_vars([("AIRLOCK_STRICT_MODE", "off"), ("PATH", "/bin")])
            .unwrap();
        assert!(!c.strict_mode);
        for (var, value) in [
            ("AIRLOCK_STRICT_MODE", "tru"),
            ("AIRLOCK_MAX_OUTPUT_TOKENS", "-5"),
            ("AIRLOCK_MAX_OUTPUT_TOKENS", "0"),
            ("AIRLOCK_MAX_DEPTH", "abc"),
        ] {
            let err = AirlockConfig::default()
                .with_env_vars([(var, value)])
                .unwrap_err();
            assert!(err.to_string().contains(var), "{err}");
        }
        let err = AirlockConfig::default()
            .with_env_vars([("AIRLOCK_MAX_DEPTH", "5000")])
            .unwrap_err();
        assert!(err.to_string().contains("limits.max_depth"), "{err}");
    }

    #[test]
    fn toml_errors_name_the_key() {
        for (text, key) in [
            ("[limits]\nmax_dept = 3", "max_dept"),
            ("strict_mode = \"yes\"", "strict_mode"),
            ("[limits]\nmax_depth = 0", "limits.max_depth"),
            ("[schema]\nmax_errors = 0", "schema.max_errors"),
        ] {
            let err = AirlockConfig::from_toml_str(text).unwrap_err().to_string();
            assert!(err.contains(key), "{text}: {err}");
        }
    }

    #[test]
    fn the_documented_example_parses_to_the_defaults() {
        let text = "strict_mode = false\n[limits]\nmax_payload_bytes = 1048576\nmax_depth = 64\n\
                    max_keys = 1024\n[schema]\nmax_errors = 16\n[sanitize]\nmax_output_tokens = 5000\n";
        assert_eq!(
            AirlockConfig::from_toml_str(text).unwrap(),
            AirlockConfig::default()
        );
    }
}
