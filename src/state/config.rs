//! `[state]`: where shared state lives, and what happens when it cannot answer.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Where shared state lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// This process's memory (one replica).
    #[default]
    Memory,
    /// A Redis or Valkey server (feature `redis`).
    Redis,
}

/// What a check does when the shared store cannot answer in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnUnavailable {
    /// Refuse with the code `state_unavailable` and a `retry_after` (the default): a limit
    /// that cannot be checked is not granted.
    #[default]
    FailClosed,
    /// Allow, logged and counted.
    FailOpen,
}

/// `[state]` of the configuration file. Its `Debug` never shows a password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct StateConfig {
    /// `memory` (default) or `redis`.
    pub backend: Backend,
    /// The server, `redis://host:port/db` or `rediss://…` (TLS where the client supports
    /// it). `AIRLOCK_REDIS_URL` overrides it; a password belongs there, never in the file.
    pub url: Option<String>,
    /// Prefix of every key the airlock writes.
    pub key_prefix: String,
    /// Bound on connecting, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Bound on one command (connecting included), in milliseconds: no check waits longer.
    pub command_timeout_ms: u64,
    /// `fail_closed` (default) or `fail_open`.
    pub on_unavailable: OnUnavailable,
}

impl Default for StateConfig {
    fn default() -> Self {
        Self {
            backend: Backend::Memory,
            url: None,
            key_prefix: "airlock:".into(),
            connect_timeout_ms: 200,
            command_timeout_ms: 50,
            on_unavailable: OnUnavailable::FailClosed,
        }
    }
}

impl std::fmt::Debug for StateConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateConfig")
            .field("backend", &self.backend)
            .field("url", &self.url.as_deref().map(redacted_url))
            .field("key_prefix", &self.key_prefix)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("command_timeout_ms", &self.command_timeout_ms)
            .field("on_unavailable", &self.on_unavailable)
            .finish()
    }
}

/// The URL with its password, if any, replaced by `***`.
fn redacted_url(url: &str) -> String {
    if !url_has_password(url) {
        return url.to_owned();
    }
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (userinfo, host) = authority.rsplit_once('@').unwrap_or(("", authority));
    let user = userinfo.split_once(':').map_or("", |(u, _)| u);
    format!("{scheme}://{user}:***@{host}{tail}")
}

impl StateConfig {
    /// The connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms.max(1))
    }

    /// The command timeout.
    pub fn command_timeout(&self) -> Duration {
        Duration::from_millis(self.command_timeout_ms.max(1))
    }
}

/// Whether a `redis://` URL carries a password (`redis://:secret@host`,
/// `redis://user:secret@host`).
pub(crate) fn url_has_password(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    match authority.rsplit_once('@') {
        Some((userinfo, _)) => userinfo.contains(':'),
        None => false,
    }
}

/// Why shared state could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The configuration cannot be used.
    #[error("state: {0}")]
    Config(String),
    /// The store did not answer within the command timeout, or refused the command. With
    /// `fail_closed` the call is refused with code `state_unavailable`.
    #[error("the shared state store is unavailable: {reason}")]
    Unavailable {
        /// What went wrong (no secret: the URL is never included).
        reason: String,
        /// When to try again.
        retry_after: Duration,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_seen() {
        assert!(url_has_password("redis://:s3cret@localhost:6379/0"));
        assert!(url_has_password("rediss://app:s3cret@redis.internal"));
        assert!(!url_has_password("redis://localhost:6379/0"));
        assert!(!url_has_password("redis://app@localhost"));
        assert!(!url_has_password("redis://localhost/0?x=a:b@c"));
        assert_eq!(
            redacted_url("redis://app:s3cret@h:6379/0"),
            "redis://app:***@h:6379/0"
        );
        assert_eq!(redacted_url("redis://h/0"), "redis://h/0");
    }
}
