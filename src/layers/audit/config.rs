//! `[audit]`: where the audit log goes and how it is written.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `[audit]`: the audit log.
///
/// ```toml
/// [audit]
/// path = "/var/log/airlock/audit.jsonl"
/// fsync = "every(10ms)"          # always | every(<n>ms) | every(<n>s) | never
/// on_full = "block"              # block | fail_closed
/// queue_capacity = 8192          # records waiting for the writer
/// linger_ms = 5                  # under traffic, gather records this long per write
/// max_file_bytes = 104857600     # rotate past this size
/// rotate_daily = true            # and at UTC midnight
/// keep_files = 30                # rotated files kept (oldest removed first)
/// max_age_days = 90              # rotated files older than this are removed
/// hmac_key_env = "AIRLOCK_AUDIT_KEY"  # key the chain (HMAC-SHA256) with this variable
/// keep_output = false            # also record a sanitized copy of each output
/// max_argument_bytes = 16384     # larger arguments are recorded as omitted
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct AuditConfig {
    /// The active log file; rotated files sit beside it as `<name>.<first seq>`.
    pub path: Option<PathBuf>,
    /// When records are forced to disk.
    pub fsync: Fsync,
    /// What a call does when its record cannot be queued or the log cannot be written.
    pub on_full: OnFull,
    /// Records queued for the writer before callers wait (or are refused).
    pub queue_capacity: usize,
    /// Under traffic, how long the writer gathers records before it writes them, in
    /// milliseconds: a record reaches the file at most this much later (and no later than
    /// the next `fsync` is due). `0`: every record is written as it comes, at the cost of
    /// waking the writer for each. Idle, the writer sleeps until a record arrives. At most
    /// 1000.
    pub linger_ms: u64,
    /// Rotate the active file before it grows past this many bytes.
    pub max_file_bytes: Option<u64>,
    /// Rotate when the UTC day changes.
    pub rotate_daily: bool,
    /// Rotated files kept; older ones are removed.
    pub keep_files: Option<usize>,
    /// Rotated files older than this many days are removed.
    pub max_age_days: Option<u64>,
    /// The environment variable holding the HMAC key of the chain; unset: plain SHA-256.
    pub hmac_key_env: Option<String>,
    /// Record a sanitized copy of each output (off: only its size, redactions, truncation).
    pub keep_output: bool,
    /// Arguments (after masking) larger than this, in JSON bytes, are recorded as omitted.
    pub max_argument_bytes: usize,
    /// Kept outputs larger than this, in characters, are cut.
    pub max_output_chars: usize,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            path: None,
            fsync: Fsync::Every(Duration::from_millis(10)),
            on_full: OnFull::Block,
            queue_capacity: 8192,
            linger_ms: 5,
            max_file_bytes: Some(100 * 1024 * 1024),
            rotate_daily: false,
            keep_files: None,
            max_age_days: None,
            hmac_key_env: None,
            keep_output: false,
            max_argument_bytes: 16 * 1024,
            max_output_chars: 4096,
        }
    }
}

/// When the writer forces records to disk (`fsync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    /// After every write: a record is on disk before the writer counts it written.
    Always,
    /// At most this long after a record is written.
    Every(Duration),
    /// Left to the operating system.
    Never,
}

impl fmt::Display for Fsync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fsync::Always => f.write_str("always"),
            Fsync::Never => f.write_str("never"),
            Fsync::Every(d) => write!(f, "every({}ms)", d.as_millis()),
        }
    }
}

/// An `fsync` value that does not parse, saying what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseFsyncError(String);

impl std::str::FromStr for Fsync {
    type Err = ParseFsyncError;

    fn from_str(s: &str) -> Result<Self, ParseFsyncError> {
        let bad = || {
            ParseFsyncError(format!(
                "`{s}`: use always, never, every(<n>ms) or every(<n>s)"
            ))
        };
        match s.trim() {
            "always" => Ok(Fsync::Always),
            "never" => Ok(Fsync::Never),
            other => {
                let inner = other
                    .strip_prefix("every(")
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or_else(bad)?;
                let (digits, unit) = match inner.strip_suffix("ms") {
                    Some(d) => (d, 1),
                    None => (inner.strip_suffix('s').ok_or_else(bad)?, 1000),
                };
                let n: u64 = digits.trim().parse().map_err(|_| bad())?;
                if n == 0 {
                    return Err(ParseFsyncError(format!(
                        "`{s}`: the interval must be positive"
                    )));
                }
                Ok(Fsync::Every(Duration::from_millis(n.saturating_mul(unit))))
            }
        }
    }
}

impl Serialize for Fsync {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fsync {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What a call does when the audit log cannot take its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFull {
    /// Wait: the service is not ready until the record has a place (back-pressure).
    #[default]
    Block,
    /// Refuse the call as `audit_unavailable` without running it.
    FailClosed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fsync_parses() {
        assert_eq!("always".parse::<Fsync>(), Ok(Fsync::Always));
        assert_eq!("never".parse::<Fsync>(), Ok(Fsync::Never));
        assert_eq!(
            "every(10ms)".parse::<Fsync>(),
            Ok(Fsync::Every(Duration::from_millis(10)))
        );
        assert_eq!(
            "every(2s)".parse::<Fsync>(),
            Ok(Fsync::Every(Duration::from_secs(2)))
        );
        for bad in [
            "every(0ms)",
            "every(ms)",
            "sometimes",
            "every(10m)",
            "every(-1s)",
        ] {
            assert!(bad.parse::<Fsync>().is_err(), "{bad}");
        }
        let config: AuditConfig = toml::from_str("fsync = \"every(250ms)\"").unwrap();
        assert_eq!(config.fsync, Fsync::Every(Duration::from_millis(250)));
    }

    #[test]
    fn linger_defaults_to_5ms_and_refuses_nonsense() {
        assert_eq!(AuditConfig::default().linger_ms, 5);
        let config: AuditConfig = toml::from_str("linger_ms = 0").unwrap();
        assert_eq!(config.linger_ms, 0);
        for bad in ["linger_ms = -1", "linger_ms = \"5ms\"", "linger_ms = 1.5"] {
            assert!(toml::from_str::<AuditConfig>(bad).is_err(), "{bad}");
        }
    }
}
