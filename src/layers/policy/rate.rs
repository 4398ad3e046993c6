//! Rate limits: `"100/minute"`, `"5/second"`, `"1000/hour"`, `"50/day"`, with optional burst.
//!
//! Each limit is a GCRA limiter from `governor`, keyed by agent (or shared by
//! all agents for global limits). Checks are lock-free and exact under
//! concurrency. Memory stays bounded: stale keys are evicted as the limiter
//! goes, and when more than `max_tracked_agents` keys are live at once, the
//! excess shares one overflow bucket (everyone is throttled harder rather
//! than memory growing without bound).
//!
//! The store sits behind [`RateLimitStore`], so a shared store (Redis, …) can
//! back it for multi-replica deployments.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::Clock as _;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use serde::{Deserialize, Serialize};

use super::clock::{Clock, GovernorClock};
use super::error::PolicyError;

/// A rate: so many calls per period, with an optional burst.
///
/// ```
/// use agent_airlock::layers::policy::RateSpec;
///
/// let spec: RateSpec = "100/minute".parse().unwrap();
/// assert_eq!(spec.to_string(), "100/minute");
/// assert!("100/fortnight".parse::<RateSpec>().is_err());
/// assert!("0/second".parse::<RateSpec>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateSpec {
    count: NonZeroU32,
    period: Period,
    burst: Option<NonZeroU32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Period {
    Second,
    Minute,
    Hour,
    Day,
}

impl Period {
    fn duration(self) -> Duration {
        Duration::from_secs(match self {
            Period::Second => 1,
            Period::Minute => 60,
            Period::Hour => 3600,
            Period::Day => 86_400,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Period::Second => "second",
            Period::Minute => "minute",
            Period::Hour => "hour",
            Period::Day => "day",
        }
    }
}

impl RateSpec {
    /// Allows `burst` calls at once (default: the whole count).
    #[must_use]
    pub fn with_burst(mut self, burst: u32) -> Self {
        self.burst = NonZeroU32::new(burst);
        self
    }

    /// The time between two calls at the sustained rate (a minute / 100 for `100/minute`).
    pub fn emission_interval(&self) -> Duration {
        (self.period.duration() / self.count.get()).max(Duration::from_nanos(1))
    }

    /// How many calls may come at once (the whole count unless a burst was set).
    pub fn burst(&self) -> u32 {
        self.burst.unwrap_or(self.count).get()
    }

    fn quota(&self) -> Quota {
        let per_call = self.period.duration() / self.count.get();
        let quota = Quota::with_period(per_call.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(self.count));
        quota.allow_burst(self.burst.unwrap_or(self.count))
    }
}

impl FromStr for RateSpec {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            PolicyError::Rate(format!(
                "{s:?} is not a rate; use N/second, N/minute, N/hour or N/day with N > 0"
            ))
        };
        let (count, period) = s.trim().split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let count = NonZeroU32::new(count).ok_or_else(bad)?;
        let period = match period.trim().to_ascii_lowercase().as_str() {
            "s" | "sec" | "second" => Period::Second,
            "m" | "min" | "minute" => Period::Minute,
            "h" | "hour" => Period::Hour,
            "d" | "day" => Period::Day,
            _ => return Err(bad()),
        };
        Ok(Self {
            count,
            period,
            burst: None,
        })
    }
}

impl fmt::Display for RateSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.count, self.period.name())?;
        if let Some(b) = self.burst {
            write!(f, " (burst {b})")?;
        }
        Ok(())
    }
}

/// A rate limit in the config: `"100/minute"` or `{ rate = "100/minute", burst = 20 }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RateLimitConfig {
    /// `"N/period"`.
    Rate(String),
    /// With a burst.
    WithBurst {
        /// `"N/period"`.
        rate: String,
        /// Calls allowed at once.
        burst: u32,
    },
}

impl RateLimitConfig {
    pub(crate) fn spec(&self) -> Result<RateSpec, PolicyError> {
        match self {
            RateLimitConfig::Rate(rate) => rate.parse(),
            RateLimitConfig::WithBurst { rate, burst } => {
                if *burst == 0 {
                    return Err(PolicyError::Rate(format!(
                        "burst for {rate:?} must be at least 1"
                    )));
                }
                Ok(rate.parse::<RateSpec>()?.with_burst(*burst))
            }
        }
    }
}

/// Where rate-limit state lives. The built-in store is in memory; implement this to share
/// limits between replicas.
pub trait RateLimitStore: Send + Sync + fmt::Debug + 'static {
    /// Takes one call from bucket `key` of limit number `limit` (in the order the limits
    /// were configured). `Err` carries how long to wait.
    fn try_acquire(&self, limit: usize, key: &str) -> Result<(), Duration>;

    /// Keys currently tracked, over all limits (for metrics and tests).
    fn tracked_keys(&self) -> usize;
}

type Keyed = RateLimiter<
    String,
    DefaultKeyedStateStore<String>,
    GovernorClock,
    governor::middleware::NoOpMiddleware<governor::nanos::Nanos>,
>;

/// The in-memory store: one keyed `governor` limiter per limit.
pub struct GovernorStore {
    limiters: Vec<Keyed>,
    clock: GovernorClock,
    max_keys: usize,
    calls: AtomicU64,
    saturated: Vec<AtomicBool>,
}

impl fmt::Debug for GovernorStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GovernorStore")
            .field("limits", &self.limiters.len())
            .field("max_keys", &self.max_keys)
            .finish()
    }
}

/// Key shared by every caller once a limiter tracks `max_keys` keys.
const OVERFLOW_KEY: &str = "\u{0}overflow";
/// Housekeeping runs once per this many checks.
const MAINTENANCE_EVERY: u64 = 1024;

impl GovernorStore {
    /// A store for `specs`, reading time from `clock`, tracking at most about `max_keys`
    /// keys per limit.
    pub fn new(specs: &[RateSpec], clock: Arc<dyn Clock>, max_keys: usize) -> Self {
        let clock = GovernorClock(clock);
        let limiters = specs
            .iter()
            .map(|s| RateLimiter::new(s.quota(), DefaultKeyedStateStore::default(), clock.clone()))
            .collect();
        Self {
            saturated: specs.iter().map(|_| AtomicBool::new(false)).collect(),
            limiters,
            clock,
            max_keys: max_keys.max(1),
            calls: AtomicU64::new(0),
        }
    }

    fn maintain(&self) {
        for (limiter, saturated) in self.limiters.iter().zip(&self.saturated) {
            if limiter.len() >= self.max_keys / 2 {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
            let full = limiter.len() >= self.max_keys;
            if full != saturated.swap(full, Ordering::Relaxed) && full {
                tracing::warn!(
                    max_keys = self.max_keys,
                    "rate limiter tracks too many callers; new callers share one bucket"
                );
            }
        }
    }
}

impl RateLimitStore for GovernorStore {
    fn try_acquire(&self, limit: usize, key: &str) -> Result<(), Duration> {
        let Some(limiter) = self.limiters.get(limit) else {
            return Ok(());
        };
        if self.calls.fetch_add(1, Ordering::Relaxed) % MAINTENANCE_EVERY == MAINTENANCE_EVERY - 1 {
            self.maintain();
        }
        let key = if self.saturated[limit].load(Ordering::Relaxed) {
            OVERFLOW_KEY
        } else {
            key
        };
        limiter
            .check_key(&key.to_owned())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    fn tracked_keys(&self) -> usize {
        self.limiters.iter().map(|l| l.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::policy::ManualClock;

    #[test]
    fn parses_rates() {
        for (text, shown) in [
            ("100/minute", "100/minute"),
            ("5/second", "5/second"),
            ("1000/hour", "1000/hour"),
            ("50/day", "50/day"),
            (" 10 / MIN ", "10/minute"),
        ] {
            assert_eq!(text.parse::<RateSpec>().unwrap().to_string(), shown);
        }
        for bad in [
            "",
            "10",
            "/minute",
            "-1/minute",
            "1.5/second",
            "10/week",
            "99999999999/second",
        ] {
            assert!(bad.parse::<RateSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn refills_with_time_and_reports_the_wait() {
        let clock = ManualClock::at("2026-01-01T00:00:00Z".parse().unwrap());
        let spec: RateSpec = "2/minute".parse().unwrap();
        let store = GovernorStore::new(&[spec], Arc::new(clock.clone()), 100);
        assert!(store.try_acquire(0, "a").is_ok());
        assert!(store.try_acquire(0, "a").is_ok());
        let wait = store.try_acquire(0, "a").unwrap_err();
        assert!(
            wait <= Duration::from_secs(30) && wait > Duration::from_secs(29),
            "{wait:?}"
        );
        assert!(store.try_acquire(0, "b").is_ok(), "keys are independent");
        clock.advance(Duration::from_secs(30));
        assert!(store.try_acquire(0, "a").is_ok());
    }
}
