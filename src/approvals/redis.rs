//! [`RedisApprovalStore`]: approval requests on Redis (feature `redis`), so that any replica
//! can resume a call another replica held.
//!
//! Keys (under the state's prefix), each expiring with its request: `approval:<id>` (the
//! request as made, JSON), `approval-state:<id>` (a hash: `state`, `by`, `at`; absent while
//! pending), `approval-bound:<binding>` (the id of the binding's live, unused request), and
//! `approvals` (live ids by expiry, for listing and the bound on their number). Using an
//! approval, and deciding, are scripts: atomic across replicas.

use std::sync::Arc;

use serde_json::Value;

use super::store::{
    ApprovalError, ApprovalRequest, ApprovalState, ApprovalStore, Binding, BoxFuture, Held,
};
use crate::state::RedisState;

/// `KEYS[1]`: the binding's key; `KEYS[2]`: the live ids. `ARGV`: the prefix, now, the new
/// request (JSON), its id, its expiry, the most live requests. Answers `{outcome, request,
/// by, at}`.
const HOLD: &str = r"
local p, now = ARGV[1], tonumber(ARGV[2])
local id = redis.call('GET', KEYS[1])
if id then
  local body = redis.call('GET', p .. 'approval:' .. id)
  if body then
    local st = redis.call('HMGET', p .. 'approval-state:' .. id, 'state', 'by', 'at')
    if st[1] == 'approved' then
      redis.call('HSET', p .. 'approval-state:' .. id, 'state', 'used', 'at', now)
      redis.call('DEL', KEYS[1])
      return {'granted', body, st[2], tostring(now)}
    elseif st[1] == 'denied' then
      return {'denied', body, st[2], st[3]}
    end
    return {'pending', body, '', ''}
  end
  redis.call('DEL', KEYS[1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[6]) then
  return {'full', '', '', ''}
end
local expires = tonumber(ARGV[5])
redis.call('SET', p .. 'approval:' .. ARGV[4], ARGV[3], 'EXAT', expires)
redis.call('SET', KEYS[1], ARGV[4], 'EXAT', expires)
redis.call('ZADD', KEYS[2], expires, ARGV[4])
return {'pending', ARGV[3], '', ''}
";

/// `ARGV`: the prefix, the id, the verdict (`approved` or `denied`), who, now. Answers
/// `{outcome, request}`: `missing`, `decided`, or `ok`.
const DECIDE: &str = r"
local p, id = ARGV[1], ARGV[2]
local body = redis.call('GET', p .. 'approval:' .. id)
if not body then return {'missing', ''} end
local key = p .. 'approval-state:' .. id
if redis.call('HGET', key, 'state') then return {'decided', body} end
redis.call('HSET', key, 'state', ARGV[3], 'by', ARGV[4], 'at', ARGV[5])
local ttl = redis.call('PTTL', p .. 'approval:' .. id)
if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
return {'ok', body}
";

/// `KEYS[1]`: the live ids. `ARGV`: the prefix, now, the most to answer, and an id to look
/// up alone (or empty). Answers `{request, state, by, at, …}` newest first.
const READ: &str = r"
local p, now = ARGV[1], tonumber(ARGV[2])
local ids
if ARGV[4] ~= '' then
  ids = {ARGV[4]}
else
  ids = redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', '(' .. now, 'LIMIT', 0, tonumber(ARGV[3]))
end
local out = {}
for _, id in ipairs(ids) do
  local body = redis.call('GET', p .. 'approval:' .. id)
  if body then
    local st = redis.call('HMGET', p .. 'approval-state:' .. id, 'state', 'by', 'at')
    table.insert(out, body)
    table.insert(out, st[1] or '')
    table.insert(out, st[2] or '')
    table.insert(out, st[3] or '')
  end
end
return out
";

/// Approval requests on the Redis server of a [`RedisState`], at most `max` live at once.
#[derive(Clone)]
pub struct RedisApprovalStore {
    state: Arc<RedisState>,
    max: usize,
    hold: Arc<redis::Script>,
    decide: Arc<redis::Script>,
    read: Arc<redis::Script>,
}

impl std::fmt::Debug for RedisApprovalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisApprovalStore")
            .field("max", &self.max)
            .finish()
    }
}

impl RedisApprovalStore {
    /// Requests on `state`'s server, at most `max` live (at least 1).
    pub fn new(state: Arc<RedisState>, max: usize) -> Self {
        Self {
            state,
            max: max.max(1),
            hold: Arc::new(redis::Script::new(HOLD)),
            decide: Arc::new(redis::Script::new(DECIDE)),
            read: Arc::new(redis::Script::new(READ)),
        }
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.state.prefix())
    }

    async fn read(
        &self,
        now: i64,
        max: usize,
        id: &str,
    ) -> Result<Vec<ApprovalRequest>, ApprovalError> {
        let mut invocation = self.read.key(self.key("approvals"));
        invocation
            .arg(self.state.prefix())
            .arg(now)
            .arg(max.min(10_000))
            .arg(id);
        let flat: Vec<String> = self
            .state
            .run_script(&invocation)
            .await
            .map_err(ApprovalError::Unavailable)?;
        flat.chunks_exact(4)
            .map(|c| request_of(&c[0], &c[1], &c[2], &c[3]))
            .collect()
    }
}

/// A request from its stored body and its state's fields.
fn request_of(
    body: &str,
    state: &str,
    by: &str,
    at: &str,
) -> Result<ApprovalRequest, ApprovalError> {
    let mut request: ApprovalRequest = serde_json::from_str(body)
        .map_err(|e| ApprovalError::Unavailable(format!("a stored request does not parse: {e}")))?;
    let (by, at) = (by.to_owned(), at.parse().unwrap_or(0));
    request.state = match state {
        "approved" => ApprovalState::Approved { by, at },
        "denied" => ApprovalState::Denied { by, at },
        "used" => ApprovalState::Used { by, at },
        _ => ApprovalState::Pending,
    };
    Ok(request)
}

impl ApprovalStore for RedisApprovalStore {
    fn hold<'a>(
        &'a self,
        binding: &'a Binding,
        preview: Value,
        reason: &'a str,
        now: i64,
        ttl_secs: i64,
    ) -> BoxFuture<'a, Result<Held, ApprovalError>> {
        Box::pin(async move {
            let request = ApprovalRequest::pending(binding, preview, reason, now, ttl_secs);
            let body = serde_json::to_string(&request)
                .map_err(|e| ApprovalError::Unavailable(e.to_string()))?;
            let mut invocation = self
                .hold
                .key(self.key(&format!("approval-bound:{}", binding.key())));
            invocation
                .key(self.key("approvals"))
                .arg(self.state.prefix())
                .arg(now)
                .arg(&body)
                .arg(&request.id)
                .arg(request.expires_at)
                .arg(self.max);
            let answer: Vec<String> = self
                .state
                .run_script(&invocation)
                .await
                .map_err(ApprovalError::Unavailable)?;
            let [outcome, body, by, at] = answer.as_slice() else {
                return Err(ApprovalError::Unavailable("unexpected answer".into()));
            };
            match outcome.as_str() {
                "full" => Err(ApprovalError::Full),
                "granted" => Ok(Held::Granted(request_of(body, "used", by, at)?)),
                "denied" => Ok(Held::Denied(request_of(body, "denied", by, at)?)),
                _ => Ok(Held::Pending(request_of(body, "", "", "")?)),
            }
        })
    }

    fn get<'a>(
        &'a self,
        id: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<Option<ApprovalRequest>, ApprovalError>> {
        Box::pin(async move {
            if id.is_empty() || id.len() > 64 {
                return Ok(None);
            }
            Ok(self.read(now, 1, id).await?.into_iter().next())
        })
    }

    fn list(
        &self,
        now: i64,
        max: usize,
    ) -> BoxFuture<'_, Result<Vec<ApprovalRequest>, ApprovalError>> {
        Box::pin(async move { self.read(now, max, "").await })
    }

    fn decide<'a>(
        &'a self,
        id: &'a str,
        approve: bool,
        by: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<ApprovalRequest, ApprovalError>> {
        Box::pin(async move {
            let mut invocation = self.decide.prepare_invoke();
            let verdict = if approve { "approved" } else { "denied" };
            invocation
                .arg(self.state.prefix())
                .arg(id)
                .arg(verdict)
                .arg(by)
                .arg(now);
            let answer: Vec<String> = self
                .state
                .run_script(&invocation)
                .await
                .map_err(ApprovalError::Unavailable)?;
            match answer.first().map(String::as_str) {
                Some("ok") => request_of(&answer[1], verdict, by, &now.to_string()),
                Some("decided") => Err(ApprovalError::Decided(id.to_owned())),
                _ => Err(ApprovalError::NotFound(id.to_owned())),
            }
        })
    }
}
