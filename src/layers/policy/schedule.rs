//! Time windows: "`deploy_*` only Mon–Fri 09:00–17:00 Europe/Berlin".
//!
//! Windows are evaluated in their own time zone with `jiff`, so they follow
//! daylight-saving changes: a window that opens at 09:00 opens at 09:00 local
//! time on both sides of a change. A window whose end is not after its start
//! (`22:00`–`06:00`) runs past midnight; the day it *opens* is the one that
//! must be listed. The time zone database is bundled, so a host without
//! `/usr/share/zoneinfo` behaves the same.

use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use super::error::PolicyError;
use super::rules::Matcher;

/// A schedule rule as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Tool globs the window applies to (matched case-insensitively).
    pub tools: Vec<String>,
    /// Days the window opens: `mon`, `tue`, …, `sun` (or full names). Empty means every day.
    #[serde(default)]
    pub days: Vec<String>,
    /// Opening time, `HH:MM` or `HH:MM:SS`, local to `timezone`.
    pub start: String,
    /// Closing time (exclusive), local to `timezone`.
    pub end: String,
    /// An IANA time zone name, e.g. `Europe/Berlin`; default `UTC`.
    #[serde(default = "utc")]
    pub timezone: String,
}

fn utc() -> String {
    "UTC".into()
}

/// A compiled time window.
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    tools: Matcher,
    days: [bool; 7],
    start: Time,
    end: Time,
    tz: TimeZone,
    label: String,
}

impl Schedule {
    pub(crate) fn new(config: &ScheduleConfig) -> Result<Self, PolicyError> {
        let bad = |reason: String| PolicyError::Schedule(reason);
        let tools = Matcher::new(&config.tools, true, "schedule tools")?;
        if tools.is_empty() {
            return Err(bad("a schedule needs at least one tool pattern".into()));
        }
        let mut days = [config.days.is_empty(); 7];
        for day in &config.days {
            let weekday = parse_weekday(day).ok_or_else(|| {
                bad(format!(
                    "unknown day `{day}`; use mon, tue, wed, thu, fri, sat or sun"
                ))
            })?;
            days[weekday.to_monday_zero_offset() as usize] = true;
        }
        let time = |s: &str, key: &str| -> Result<Time, PolicyError> {
            s.parse::<Time>()
                .map_err(|e| bad(format!("`{key}` = {s:?} is not a time of day (HH:MM): {e}")))
        };
        let start = time(&config.start, "start")?;
        let end = time(&config.end, "end")?;
        let tz = TimeZone::get(&config.timezone)
            .map_err(|e| bad(format!("unknown time zone {:?}: {e}", config.timezone)))?;
        let label = format!(
            "{} {}–{} {}",
            if config.days.is_empty() {
                "daily".to_owned()
            } else {
                config.days.join(",")
            },
            config.start,
            config.end,
            config.timezone
        );
        Ok(Self {
            tools,
            days,
            start,
            end,
            tz,
            label,
        })
    }

    pub(crate) fn applies_to(&self, tool: &str) -> bool {
        self.tools.is_match(tool)
    }

    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    fn opens_on(&self, day: Weekday) -> bool {
        self.days[day.to_monday_zero_offset() as usize]
    }

    /// `Ok` when open at `now`; otherwise the next opening.
    pub(crate) fn check(&self, now: Timestamp) -> Result<(), Timestamp> {
        let local = now.to_zoned_datetime(self.tz.clone());
        let (date, time) = (local.date(), local.time());
        let open = if self.start < self.end {
            self.opens_on(date.weekday()) && time >= self.start && time < self.end
        } else {
            let yesterday = date
                .yesterday()
                .map(|d| d.weekday())
                .unwrap_or(date.weekday());
            (self.opens_on(date.weekday()) && time >= self.start)
                || (self.opens_on(yesterday) && time < self.end)
        };
        if open {
            return Ok(());
        }
        for offset in 0..8i64 {
            let Ok(day) = date.checked_add(offset.days()) else {
                break;
            };
            if !self.opens_on(day.weekday()) {
                continue;
            }
            // A start inside a DST gap resolves to the first valid instant after it.
            let Ok(opening) = day
                .to_datetime(self.start)
                .to_zoned_datetime(self.tz.clone())
            else {
                continue;
            };
            if opening.timestamp() > now {
                return Err(opening.timestamp());
            }
        }
        // No day is listed (cannot happen after `new`): closed for a week.
        Err(now.checked_add(168.hours()).unwrap_or(Timestamp::MAX))
    }
}

fn parse_weekday(day: &str) -> Option<Weekday> {
    Some(match day.to_ascii_lowercase().as_str() {
        "mon" | "monday" => Weekday::Monday,
        "tue" | "tues" | "tuesday" => Weekday::Tuesday,
        "wed" | "wednesday" => Weekday::Wednesday,
        "thu" | "thurs" | "thursday" => Weekday::Thursday,
        "fri" | "friday" => Weekday::Friday,
        "sat" | "saturday" => Weekday::Saturday,
        "sun" | "sunday" => Weekday::Sunday,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn berlin_office() -> Schedule {
        Schedule::new(&ScheduleConfig {
            tools: vec!["deploy_*".into()],
            days: ["mon", "tue", "wed", "thu", "fri"]
                .map(String::from)
                .to_vec(),
            start: "09:00".into(),
            end: "17:00".into(),
            timezone: "Europe/Berlin".into(),
        })
        .unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn edges_are_inclusive_at_start_and_exclusive_at_end() {
        let s = berlin_office();
        // Wednesday 2026-01-14, CET = UTC+1.
        assert!(
            s.check(ts("2026-01-14T08:00:00Z")).is_ok(),
            "09:00:00 local is open"
        );
        assert!(
            s.check(ts("2026-01-14T15:59:59Z")).is_ok(),
            "16:59:59 local is open"
        );
        assert_eq!(
            s.check(ts("2026-01-14T16:00:00Z")),
            Err(ts("2026-01-15T08:00:00Z"))
        );
        assert_eq!(
            s.check(ts("2026-01-14T07:59:59Z")),
            Err(ts("2026-01-14T08:00:00Z"))
        );
    }

    #[test]
    fn next_opening_across_the_spring_dst_change() {
        let s = berlin_office();
        // Friday 2026-03-27 17:00 CET; clocks go forward on Sunday 2026-03-29.
        let closed = ts("2026-03-27T16:00:00Z");
        // Monday 09:00 is now CEST (UTC+2): 07:00Z, not 08:00Z.
        assert_eq!(s.check(closed), Err(ts("2026-03-30T07:00:00Z")));
        assert!(s.check(ts("2026-03-30T07:00:00Z")).is_ok());
        assert!(s.check(ts("2026-03-30T06:59:59Z")).is_err());
    }

    #[test]
    fn next_opening_across_the_autumn_dst_change() {
        let s = berlin_office();
        // Friday 2026-10-23 after hours (CEST); clocks go back on Sunday 2026-10-25.
        assert_eq!(
            s.check(ts("2026-10-23T20:00:00Z")),
            Err(ts("2026-10-26T08:00:00Z"))
        );
    }

    #[test]
    fn overnight_windows_wrap_midnight() {
        let s = Schedule::new(&ScheduleConfig {
            tools: vec!["batch_*".into()],
            days: vec!["fri".into()],
            start: "22:00".into(),
            end: "06:00".into(),
            timezone: "UTC".into(),
        })
        .unwrap();
        // 2026-01-16 is a Friday.
        assert!(s.check(ts("2026-01-16T23:00:00Z")).is_ok());
        assert!(
            s.check(ts("2026-01-17T05:59:59Z")).is_ok(),
            "Saturday morning belongs to Friday's window"
        );
        assert_eq!(
            s.check(ts("2026-01-17T06:00:00Z")),
            Err(ts("2026-01-23T22:00:00Z"))
        );
    }

    #[test]
    fn bad_configuration_is_refused() {
        let mut c = ScheduleConfig {
            tools: vec!["x".into()],
            days: vec!["funday".into()],
            start: "09:00".into(),
            end: "17:00".into(),
            timezone: "UTC".into(),
        };
        assert!(Schedule::new(&c).is_err());
        c.days = vec![];
        c.timezone = "Mars/Olympus".into();
        assert!(Schedule::new(&c).is_err());
        c.timezone = "UTC".into();
        c.start = "25:00".into();
        assert!(Schedule::new(&c).is_err());
    }
}
