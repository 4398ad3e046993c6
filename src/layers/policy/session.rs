//! Per-session (conversation) budgets with a time-to-live.
//!
//! A session's counters live until it has been idle for the TTL (default one
//! hour), then start again from zero. Expired sessions are swept as calls
//! arrive, and at most `max_sessions` are tracked: past that, calls that
//! would open a new session are refused until old ones expire, so memory
//! stays bounded under a flood of session ids.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::clock::Clock;
use super::error::PolicyError;
use super::rules::Matcher;
use super::shared::{SessionCharge, ToolCharge};

/// `[policy.sessions]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    /// Idle time after which a session's counters reset, in seconds (default 3600).
    pub ttl_secs: u64,
    /// Most calls in one session (none: no limit).
    pub max_calls: Option<u32>,
    /// Most calls per tool glob in one session.
    pub max_calls_per_tool: BTreeMap<String, u32>,
    /// Refuse calls that carry no session id (otherwise they are not budgeted).
    pub require_session: bool,
    /// Most sessions tracked at once (default 100,000).
    pub max_sessions: usize,
    /// Most live MCP sessions one caller may hold at a door that issues them (default 64):
    /// one caller's `initialize` flood cannot fill the store for everyone else. Callers are
    /// told apart by their identity (verified, or the fingerprint of their credential);
    /// callers without a credential cannot be, and are held to the store's limit only
    /// (with `require_identity` they get no session).
    pub max_per_caller: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            ttl_secs: 3600,
            max_calls: None,
            max_calls_per_tool: BTreeMap::new(),
            require_session: false,
            max_sessions: 100_000,
            max_per_caller: 64,
        }
    }
}

/// Why a session budget refused a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BudgetExceeded {
    /// The session used all its calls.
    Session { limit: u32 },
    /// The session used all its calls of tools matching `pattern`.
    Tool { pattern: String, limit: u32 },
    /// Too many sessions are active.
    TooManySessions,
    /// No session id and one is required.
    NoSession,
}

#[derive(Debug)]
struct State {
    last_seen: Timestamp,
    calls: u32,
    per_tool: Vec<u32>,
}

/// The budgets and their counters.
#[derive(Debug)]
pub(crate) struct SessionBudgets {
    ttl: Duration,
    max_calls: Option<u32>,
    per_tool: Vec<(Matcher, String, u32)>,
    require_session: bool,
    max_sessions: usize,
    clock: Arc<dyn Clock>,
    sessions: Mutex<HashMap<String, State>>,
    checks: std::sync::atomic::AtomicU64,
}

/// Sweep expired sessions once per this many checks.
const SWEEP_EVERY: u64 = 1024;
/// Longest session id tracked; longer ids are refused as malformed by the layer.
pub(crate) const MAX_SESSION_ID: usize = 256;

/// Why [`SessionBudgets::check_then_count`] refused a call.
pub(crate) enum Refused<E> {
    /// The session's budget.
    Budget(BudgetExceeded),
    /// What was checked after it.
    Then(E),
}

impl SessionBudgets {
    pub(crate) fn new(config: &SessionConfig, clock: Arc<dyn Clock>) -> Result<Self, PolicyError> {
        if config.ttl_secs == 0 {
            return Err(PolicyError::Session("`ttl_secs` must be at least 1".into()));
        }
        let per_tool = config
            .max_calls_per_tool
            .iter()
            .map(|(pattern, limit)| {
                Ok((
                    Matcher::new(std::slice::from_ref(pattern), true, "session tool budget")?,
                    pattern.clone(),
                    *limit,
                ))
            })
            .collect::<Result<_, PolicyError>>()?;
        Ok(Self {
            ttl: Duration::from_secs(config.ttl_secs),
            max_calls: config.max_calls,
            per_tool,
            require_session: config.require_session,
            max_sessions: config.max_sessions.max(1),
            clock,
            sessions: Mutex::new(HashMap::new()),
            checks: std::sync::atomic::AtomicU64::new(0),
        })
    }

    fn expired(&self, state: &State, now: Timestamp) -> bool {
        now.duration_since(state.last_seen).unsigned_abs() > self.ttl
    }

    /// Counts the call against its session, or refuses it without counting.
    #[cfg(test)]
    pub(crate) fn check_and_count(
        &self,
        session: Option<&str>,
        tool: &str,
    ) -> Result<(), BudgetExceeded> {
        self.check_then_count(session, tool, || Ok::<(), BudgetExceeded>(()))
            .map_err(|refused| match refused {
                Refused::Budget(e) | Refused::Then(e) => e,
            })
    }

    /// Checks the budget, then `then` (the rate limits), and counts the call only when
    /// both admit it: a call refused by either spends neither.
    pub(crate) fn check_then_count<E>(
        &self,
        session: Option<&str>,
        tool: &str,
        then: impl FnOnce() -> Result<(), E>,
    ) -> Result<(), Refused<E>> {
        let Some(session) = session else {
            return if self.require_session {
                Err(Refused::Budget(BudgetExceeded::NoSession))
            } else {
                then().map_err(Refused::Then)
            };
        };
        let now = self.clock.now();
        let mut sessions = self
            .sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let n = self
            .checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n % SWEEP_EVERY == SWEEP_EVERY - 1 || sessions.len() >= self.max_sessions {
            sessions.retain(|_, state| !self.expired(state, now));
        }
        if !sessions.contains_key(session) && sessions.len() >= self.max_sessions {
            return Err(Refused::Budget(BudgetExceeded::TooManySessions));
        }
        let state = sessions.entry(session.to_owned()).or_insert_with(|| State {
            last_seen: now,
            calls: 0,
            per_tool: vec![0; self.per_tool.len()],
        });
        if self.expired(state, now) {
            state.calls = 0;
            state.per_tool.iter_mut().for_each(|c| *c = 0);
        }
        state.last_seen = now;
        if let Some(limit) = self.max_calls
            && state.calls >= limit
        {
            return Err(Refused::Budget(BudgetExceeded::Session { limit }));
        }
        for (i, (matcher, pattern, limit)) in self.per_tool.iter().enumerate() {
            if matcher.is_match(tool) && state.per_tool[i] >= *limit {
                return Err(Refused::Budget(BudgetExceeded::Tool {
                    pattern: pattern.clone(),
                    limit: *limit,
                }));
            }
        }
        then().map_err(Refused::Then)?;
        state.calls += 1;
        for (i, (matcher, _, _)) in self.per_tool.iter().enumerate() {
            if matcher.is_match(tool) {
                state.per_tool[i] += 1;
            }
        }
        Ok(())
    }

    /// What a shared store must count for this call (nothing is counted here): `None`
    /// for a call without a session when none is required. The store forgets a session
    /// idle for the TTL, so `max_sessions` is not needed there.
    pub(crate) fn charge(
        &self,
        session: Option<&str>,
        tool: &str,
    ) -> Result<Option<SessionCharge>, BudgetExceeded> {
        let Some(session) = session else {
            return if self.require_session {
                Err(BudgetExceeded::NoSession)
            } else {
                Ok(None)
            };
        };
        let tools = self
            .per_tool
            .iter()
            .filter(|(matcher, _, _)| matcher.is_match(tool))
            .map(|(_, pattern, limit)| ToolCharge {
                field: format!("t:{pattern}"),
                limit: *limit,
            })
            .collect();
        Ok(Some(SessionCharge {
            key: format!("budget:{session}"),
            ttl: self.ttl,
            max_calls: self.max_calls,
            tools,
        }))
    }

    /// Sessions currently tracked.
    pub(crate) fn tracked(&self) -> usize {
        self.sessions.lock().map(|s| s.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::policy::ManualClock;

    fn budgets(config: SessionConfig) -> (SessionBudgets, ManualClock) {
        let clock = ManualClock::at("2026-01-01T00:00:00Z".parse().unwrap());
        (
            SessionBudgets::new(&config, Arc::new(clock.clone())).unwrap(),
            clock,
        )
    }

    #[test]
    fn budgets_per_session_and_per_tool_reset_after_the_ttl() {
        let (b, clock) = budgets(SessionConfig {
            max_calls: Some(3),
            max_calls_per_tool: [("search*".to_owned(), 2)].into(),
            ..SessionConfig::default()
        });
        assert!(b.check_and_count(Some("s1"), "search").is_ok());
        assert!(b.check_and_count(Some("s1"), "SEARCH_docs").is_ok());
        assert!(matches!(
            b.check_and_count(Some("s1"), "search"),
            Err(BudgetExceeded::Tool { limit: 2, .. })
        ));
        assert!(b.check_and_count(Some("s1"), "read").is_ok());
        assert_eq!(
            b.check_and_count(Some("s1"), "read"),
            Err(BudgetExceeded::Session { limit: 3 })
        );
        assert!(
            b.check_and_count(Some("s2"), "read").is_ok(),
            "sessions are independent"
        );
        // Activity keeps the session alive; idleness past the TTL resets it.
        clock.advance(Duration::from_secs(3000));
        assert!(b.check_and_count(Some("s1"), "read").is_err());
        clock.advance(Duration::from_secs(3601));
        assert!(b.check_and_count(Some("s1"), "read").is_ok());
    }

    #[test]
    fn memory_is_bounded_and_expired_sessions_are_swept() {
        let (b, clock) = budgets(SessionConfig {
            max_calls: Some(10),
            max_sessions: 1000,
            ..SessionConfig::default()
        });
        for i in 0..1000 {
            assert!(b.check_and_count(Some(&format!("s{i}")), "t").is_ok());
        }
        assert_eq!(
            b.check_and_count(Some("one-too-many"), "t"),
            Err(BudgetExceeded::TooManySessions)
        );
        assert!(
            b.check_and_count(Some("s5"), "t").is_ok(),
            "known sessions still work"
        );
        assert_eq!(b.tracked(), 1000);
        clock.advance(Duration::from_secs(3601));
        assert!(b.check_and_count(Some("fresh"), "t").is_ok());
        assert_eq!(b.tracked(), 1, "expired sessions were swept");
    }

    #[test]
    fn sessionless_calls() {
        let (b, _) = budgets(SessionConfig::default());
        assert!(b.check_and_count(None, "t").is_ok());
        let (b, _) = budgets(SessionConfig {
            require_session: true,
            ..SessionConfig::default()
        });
        assert_eq!(b.check_and_count(None, "t"), Err(BudgetExceeded::NoSession));
    }
}
