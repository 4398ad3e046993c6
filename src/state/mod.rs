//! Shared state: where rate limits (and, as they move, session budgets and MCP sessions)
//! live when several replicas must agree.
//!
//! `[state]` chooses the backend. `memory` (the default) keeps everything in this process;
//! `redis` (feature `redis`) keeps it on a Redis or Valkey server that every replica
//! reaches, with bounded connect and command timeouts and a declared behaviour when the
//! server is down or slow ([`OnUnavailable`]).
//!
//! ```toml
//! [state]
//! backend = "redis"
//! url = "redis://redis.internal:6379/0"   # AIRLOCK_REDIS_URL overrides; a password only there
//! key_prefix = "airlock:"
//! connect_timeout_ms = 200
//! command_timeout_ms = 50
//! on_unavailable = "fail_closed"           # or "fail_open"
//! ```
//!
//! [`RedisState`] (feature `redis`) is the policy layer's
//! [`SharedStore`](crate::layers::policy::SharedStore): a call's rate limits (GCRA on the
//! server's clock) and session budget are decided in one atomic script, one round trip,
//! charged all together or not at all. `RedisSessionStore` (with feature `axum`) keeps the
//! HTTP adapter's MCP sessions there, so a session initialized on one replica is accepted
//! on the others for the same caller. [`Airlock::from_config`](crate::Airlock::from_config)
//! wires both when `backend = "redis"` (or `AIRLOCK_REDIS_URL` is set).
//!
//! Keys (under `key_prefix`): `rate:<rule digest>:<agent>` and `rate:<rule digest>:*`
//! (global limits), `budget:<session id>` (a hash of call counters), `session:<id>` (an
//! MCP session's owner). Every key has a TTL. One Redis or Valkey primary (or a proxy in
//! front of several) is expected: a script touches keys of several limits at once, which
//! Redis Cluster would spread over slots.

mod config;
#[cfg(feature = "redis")]
mod redis;
pub mod session;

pub(crate) use config::url_has_password;
pub use config::{Backend, OnUnavailable, StateConfig, StateError};
#[cfg(feature = "redis")]
pub use redis::{RateDecision, RedisSessionStore, RedisState};
