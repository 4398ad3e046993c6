//! [`RedisState`]: rate limits on a Redis or Valkey server, shared by every replica.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::future::BoxFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::config::{OnUnavailable, StateConfig, StateError};
use crate::layers::policy::{Admission, RateSpec, SharedStore, StoreUnavailable, Verdict};
use crate::telemetry::span;

/// GCRA in one atomic step on the server's clock (so replicas with skewed clocks agree).
/// `KEYS[1]`: the bucket; `ARGV[1]`: the emission interval in microseconds; `ARGV[2]`: the
/// burst. Returns `{1, 0}` when allowed, `{0, µs to wait}` when not. The key expires when
/// its theoretical arrival time has passed: nothing is kept longer than it matters.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * (tonumber(ARGV[2]) - 1)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat - tolerance
if now < allow_at then
  return {0, allow_at - now}
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return {1, 0}
";

/// A policy decision in one atomic step: every rate bucket (GCRA, as [`GCRA`]) and the
/// session budget either all admit the call and are all charged, or nothing is charged.
/// `KEYS[1..n]`: the buckets, then the session's counters (a hash) if any. `ARGV[1]`: n;
/// per bucket its interval (µs) and burst; with a session its TTL (ms), its call limit
/// (-1: none), the number m of tool budgets and m pairs of counter name and limit.
/// Returns `{0}` admitted, `{1, i, µs}` bucket i spent, `{2}` session spent, `{3, j}` tool
/// budget j spent. Every key written carries a TTL.
const ADMIT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n = tonumber(ARGV[1])
local tats = {}
for i = 1, n do
  local interval = tonumber(ARGV[2 * i])
  local tolerance = interval * (tonumber(ARGV[2 * i + 1]) - 1)
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  if now < tat - tolerance then
    return {1, i, tat - tolerance - now}
  end
  tats[i] = tat + interval
end
if #KEYS > n then
  local s = KEYS[n + 1]
  local a = 2 * n + 2
  local max_calls = tonumber(ARGV[a + 1])
  local m = tonumber(ARGV[a + 2])
  if max_calls >= 0 and tonumber(redis.call('HGET', s, 'calls') or 0) >= max_calls then
    return {2, 0, 0}
  end
  for j = 1, m do
    if tonumber(redis.call('HGET', s, ARGV[a + 1 + 2 * j]) or 0) >= tonumber(ARGV[a + 2 + 2 * j]) then
      return {3, j, 0}
    end
  end
  redis.call('HINCRBY', s, 'calls', 1)
  for j = 1, m do
    redis.call('HINCRBY', s, ARGV[a + 1 + 2 * j], 1)
  end
  redis.call('PEXPIRE', s, ARGV[a])
end
for i = 1, n do
  redis.call('SET', KEYS[i], string.format('%.0f', tats[i]), 'PX', math.ceil((tats[i] - now) / 1000))
end
return {0, 0, 0}
";

/// What a rate-limit check decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// The call may go ahead (counted).
    Allowed,
    /// Over the limit: the call may go ahead after this long.
    Limited {
        /// The exact wait, from the server's clock.
        retry_after: Duration,
    },
}

/// Shared state on Redis: a connection manager that reconnects by itself when the server
/// comes back, every command bounded by the command timeout. Cheap to clone: clones share
/// the connection and the counters. As a [`SharedStore`] it keeps the policy's rate limits
/// and session budgets.
#[derive(Clone)]
pub struct RedisState {
    manager: ConnectionManager,
    script: Arc<redis::Script>,
    admit: Arc<redis::Script>,
    prefix: Arc<str>,
    timeout: Duration,
    on_unavailable: OnUnavailable,
    failed_open: Arc<AtomicU64>,
}

impl std::fmt::Debug for RedisState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL: it may hold a password.
        f.debug_struct("RedisState")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("on_unavailable", &self.on_unavailable)
            .finish()
    }
}

impl RedisState {
    /// Prepares the client from `[state]` and `AIRLOCK_REDIS_URL` (which wins). Connects on
    /// first use, so a server that is down at start-up is handled like one that goes down
    /// later. Must be called inside a Tokio runtime.
    pub fn new(config: &StateConfig) -> Result<Self, StateError> {
        let url = std::env::var("AIRLOCK_REDIS_URL")
            .ok()
            .or_else(|| config.url.clone());
        Self::with_url(config, url.as_deref())
    }

    /// Like [`new`](Self::new), with the URL given.
    pub fn with_url(config: &StateConfig, url: Option<&str>) -> Result<Self, StateError> {
        let url = url.ok_or_else(|| {
            StateError::Config("backend = \"redis\" needs `state.url` or AIRLOCK_REDIS_URL".into())
        })?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(StateError::Config(
                "the Redis client must be built inside a Tokio runtime".into(),
            ));
        }
        let client = redis::Client::open(url).map_err(|e| {
            StateError::Config(format!("state.url is not a Redis URL: {:?}", e.kind()))
        })?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.connect_timeout()))
            .set_response_timeout(Some(config.command_timeout()))
            .set_number_of_retries(1)
            .set_max_delay(config.command_timeout());
        let manager = ConnectionManager::new_lazy_with_config(client, manager_config)
            .map_err(|e| StateError::Config(format!("redis client: {:?}", e.kind())))?;
        Ok(Self {
            manager,
            script: Arc::new(redis::Script::new(GCRA)),
            admit: Arc::new(redis::Script::new(ADMIT)),
            prefix: config.key_prefix.as_str().into(),
            timeout: config.command_timeout(),
            on_unavailable: config.on_unavailable,
            failed_open: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Takes one call from the bucket `key` of `spec` (the key is prefixed; callers name
    /// the limit in it, `rate:0:agent-7`). One round trip. When the server does not answer
    /// within the command timeout: `fail_closed` gives [`StateError::Unavailable`],
    /// `fail_open` allows (logged and counted in [`failed_open`](Self::failed_open)).
    pub async fn acquire(&self, key: &str, spec: &RateSpec) -> Result<RateDecision, StateError> {
        let interval = spec.emission_interval().as_micros().max(1) as u64;
        let mut conn = self.manager.clone();
        let mut invocation = self.script.key(format!("{}{key}", self.prefix));
        invocation.arg(interval).arg(spec.burst());
        let failure = match self
            .bounded(
                "rate_limit",
                invocation.invoke_async::<(i64, i64)>(&mut conn),
            )
            .await
        {
            Ok((1, _)) => return Ok(RateDecision::Allowed),
            Ok((_, wait_us)) => {
                return Ok(RateDecision::Limited {
                    retry_after: Duration::from_micros(wait_us.max(1) as u64),
                });
            }
            Err(failure) => failure,
        };
        match self.unavailable(failure) {
            Some(StoreUnavailable {
                reason,
                retry_after,
            }) => Err(StateError::Unavailable {
                reason,
                retry_after,
            }),
            None => Ok(RateDecision::Allowed),
        }
    }

    /// What a failed command means: `Some` (refuse) with `fail_closed`, `None` (allow,
    /// logged and counted) with `fail_open`.
    fn unavailable(&self, reason: String) -> Option<StoreUnavailable> {
        match self.on_unavailable {
            OnUnavailable::FailClosed => Some(StoreUnavailable {
                reason,
                retry_after: self.timeout.max(Duration::from_secs(1)),
            }),
            OnUnavailable::FailOpen => {
                self.failed_open.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%reason, "shared state unavailable; allowed (fail_open)");
                None
            }
        }
    }

    /// Decides `admission` in one round trip (see [`SharedStore`]).
    pub async fn admit_now(&self, admission: Admission) -> Result<Verdict, StoreUnavailable> {
        let mut invocation = self.admit.prepare_invoke();
        invocation.arg(admission.rates.len());
        for rate in &admission.rates {
            invocation
                .key(format!("{}{}", self.prefix, rate.key))
                .arg(rate.spec.emission_interval().as_micros().max(1) as u64)
                .arg(rate.spec.burst());
        }
        if let Some(session) = &admission.session {
            invocation
                .key(format!("{}{}", self.prefix, session.key))
                .arg((session.ttl.as_millis() as u64).max(1))
                .arg(session.max_calls.map_or(-1, i64::from))
                .arg(session.tools.len());
            for tool in &session.tools {
                invocation.arg(&tool.field).arg(tool.limit);
            }
        }
        let mut conn = self.manager.clone();
        let decided = match self
            .bounded(
                "budget",
                invocation.invoke_async::<(i64, i64, i64)>(&mut conn),
            )
            .await
        {
            Ok((0, _, _)) => Ok(Verdict::Admitted),
            Ok((1, i, wait_us)) => Ok(Verdict::RateLimited {
                index: (i.max(1) - 1) as usize,
                retry_after: Duration::from_micros(wait_us.max(1) as u64),
            }),
            Ok((2, _, _)) => Ok(Verdict::SessionSpent),
            Ok((3, j, _)) => Ok(Verdict::ToolSpent {
                index: (j.max(1) - 1) as usize,
            }),
            Ok(other) => Err(format!("unexpected answer {other:?}")),
            Err(failure) => Err(failure),
        };
        match decided {
            Ok(verdict) => Ok(verdict),
            Err(failure) => match self.unavailable(failure) {
                Some(unavailable) => Err(unavailable),
                None => Ok(Verdict::Admitted),
            },
        }
    }

    /// Runs one command within the command timeout; `Err` says why it failed (the error's
    /// kind only: never the URL).
    /// Each is timed as the operation `op` (`rate_limit`, `budget`, `session`,
    /// `approval`) for telemetry, and counted when it fails.
    async fn bounded<T>(
        &self,
        op: &'static str,
        command: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, String> {
        use tracing::Instrument as _;
        let span = span::state(op);
        let result = match tokio::time::timeout(self.timeout, command)
            .instrument(span.clone())
            .await
        {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(format!("{:?}", e.kind())),
            Err(_) => Err(format!("no answer within {} ms", self.timeout.as_millis())),
        };
        if result.is_ok() {
            span.record("airlock.outcome", "ok");
        } else {
            span.record("airlock.outcome", "error");
            span::count("state_error", op);
        }
        result
    }

    /// Runs `script` on this state's connection within the command timeout, for the stores
    /// built on it (approvals); `Err` says why it failed.
    pub(crate) async fn run_script<T: redis::FromRedisValue>(
        &self,
        script: &redis::ScriptInvocation<'_>,
    ) -> Result<T, String> {
        let mut conn = self.manager.clone();
        self.bounded("approval", script.invoke_async::<T>(&mut conn))
            .await
    }

    /// The prefix of every key.
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Calls allowed because the store was unavailable and `on_unavailable = "fail_open"`.
    pub fn failed_open(&self) -> u64 {
        self.failed_open.load(Ordering::Relaxed)
    }
}

impl SharedStore for RedisState {
    fn admit(&self, admission: Admission) -> BoxFuture<'static, Result<Verdict, StoreUnavailable>> {
        let this = self.clone();
        Box::pin(async move { this.admit_now(admission).await })
    }
}

/// Server time in milliseconds, inside a script.
const NOW_MS: &str = "local t = redis.call('TIME')\nlocal now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n";

/// `KEYS[1]`: the session; `KEYS[2]`: its owner's live sessions (a sorted set by expiry);
/// `ARGV`: the owner, the TTL in ms, the most per owner, the id. `-1` when the owner holds
/// as many as it may, `0` on an id collision, `1` when created.
const SESSION_CREATE: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then
  return -1
end
if not redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then
  return 0
end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
";

/// `KEYS[1]`: the session; `KEYS[2]`: its owner's sessions; `ARGV`: the caller's
/// fingerprint, the TTL in ms, the id. Valid (and extended) only for its owner.
const SESSION_CHECK: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('ZADD', KEYS[2], 'XX', now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  return 1
end
return 0
";

/// `KEYS[1]`: the session; `KEYS[2]`: its owner's sessions; `ARGV`: the caller's
/// fingerprint, the id. Ends it if it is theirs.
const SESSION_END: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('ZREM', KEYS[2], ARGV[2])
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// MCP sessions on Redis, for the HTTP adapter (feature `axum`): a session initialized on
/// one replica is accepted on every other, for the same caller only, and expires `ttl`
/// after its last use (Redis forgets it: nothing grows without bound). A store that cannot
/// answer in time gives `503` (sessions always fail closed: an unchecked session id would
/// let anyone spend someone else's budget).
pub struct RedisSessionStore {
    state: std::sync::Arc<RedisState>,
    ttl: Duration,
    max_per_owner: usize,
    create: redis::Script,
    check: redis::Script,
    end: redis::Script,
}

impl std::fmt::Debug for RedisSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSessionStore")
            .field("state", &self.state)
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl RedisSessionStore {
    /// Sessions in `state`, each living `ttl` after its last use.
    pub fn new(state: std::sync::Arc<RedisState>, ttl: Duration) -> Self {
        let script = |body: &str| redis::Script::new(&format!("{NOW_MS}{body}"));
        Self {
            state,
            ttl,
            max_per_owner: usize::MAX,
            create: script(SESSION_CREATE),
            check: script(SESSION_CHECK),
            end: redis::Script::new(SESSION_END),
        }
    }

    /// At most `max` live sessions per owner that presented a credential, across every
    /// replica (at least 1; default: no limit; owners without a credential are not held to
    /// it, as in [`MemorySessionStore::max_per_owner`](super::session::MemorySessionStore::max_per_owner)). Creating one past it fails with
    /// [`SessionError::OwnerFull`](super::session::SessionError::OwnerFull).
    #[must_use]
    pub fn max_per_owner(mut self, max: usize) -> Self {
        self.max_per_owner = max.max(1);
        self
    }

    fn key(&self, id: &str) -> String {
        format!("{}session:{id}", self.state.prefix)
    }

    /// The sorted set of `owner`'s live sessions (the owner hashed: a claimed id can be
    /// anything).
    fn owner_key(&self, owner: &str) -> String {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(owner.as_bytes());
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        format!("{}owner:{hex}", self.state.prefix)
    }

    fn ttl_ms(&self) -> u64 {
        (self.ttl.as_millis() as u64).max(1)
    }

    /// One command through the shared state's bound; a failure is logged and `None`.
    async fn bounded<T>(
        &self,
        command: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Option<T> {
        self.state
            .bounded("session", command)
            .await
            .inspect_err(|reason| tracing::warn!(%reason, "session store unavailable"))
            .ok()
    }
}

impl super::session::SessionStore for RedisSessionStore {
    fn create<'a>(
        &'a self,
        owner: &'a str,
    ) -> super::session::BoxFuture<'a, Result<String, super::session::SessionError>> {
        Box::pin(async move {
            let id = super::session::new_session_id();
            let mut conn = self.state.manager.clone();
            let mut invocation = self.create.key(self.key(&id));
            invocation
                .key(self.owner_key(owner))
                .arg(owner)
                .arg(self.ttl_ms())
                .arg(if super::session::held_to_quota(owner) {
                    self.max_per_owner.min(i64::MAX as usize) as i64
                } else {
                    i64::MAX
                })
                .arg(&id);
            match self
                .bounded(invocation.invoke_async::<i64>(&mut conn))
                .await
            {
                Some(1) => Ok(id),
                Some(-1) => Err(super::session::SessionError::OwnerFull),
                Some(_) => Err(super::session::SessionError::Unavailable(
                    "session id collision".into(),
                )),
                None => Err(super::session::SessionError::Unavailable(
                    "the shared session store did not answer".into(),
                )),
            }
        })
    }

    fn check<'a>(
        &'a self,
        id: &'a str,
        owner: &'a str,
    ) -> super::session::BoxFuture<'a, super::session::SessionCheck> {
        use super::session::SessionCheck;
        Box::pin(async move {
            // Server-issued ids are 32 hex digits: anything else is unknown without a trip.
            if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return SessionCheck::Unknown;
            }
            let mut conn = self.state.manager.clone();
            let mut invocation = self.check.key(self.key(id));
            invocation
                .key(self.owner_key(owner))
                .arg(owner)
                .arg(self.ttl_ms())
                .arg(id);
            match self
                .bounded(invocation.invoke_async::<i64>(&mut conn))
                .await
            {
                Some(1) => SessionCheck::Valid,
                Some(_) => SessionCheck::Unknown,
                None => SessionCheck::Unavailable,
            }
        })
    }

    fn end<'a>(&'a self, id: &'a str, owner: &'a str) -> super::session::BoxFuture<'a, bool> {
        Box::pin(async move {
            if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return false;
            }
            let mut conn = self.state.manager.clone();
            let mut invocation = self.end.key(self.key(id));
            invocation.key(self.owner_key(owner)).arg(owner).arg(id);
            matches!(
                self.bounded(invocation.invoke_async::<i64>(&mut conn))
                    .await,
                Some(1)
            )
        })
    }
}
