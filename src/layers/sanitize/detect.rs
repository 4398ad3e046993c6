//! The detection engine: every rule in one forward pass over the text, without Tower.
//!
//! All rules are compiled into `regex-automata` multi-pattern automata (finite
//! automata, no backtracking; two searched side by side as if they were one, then one
//! once the detector is warm: [`super::automata`]). Each rule's pattern is bounded in
//! length ([`MAX_MATCH_BYTES`](super::rules)): a search therefore looks at
//! most that far past the start of what it finds. The scan takes the
//! leftmost match of any rule, lets the rule's check decide (Luhn, mod-97,
//! Verhoeff, base58check, bech32, EIP-55, CRC32, an IP or JWT parser, a
//! name's strength, a placeholder test; each on a bounded window), tries the
//! other rules matching at the same position when it says no, and then
//! **continues after the match**: no position is searched again from a
//! later start, whatever the checks decide. Digit groups are one rule whose
//! check finds every card, SSN, phone and IPv4 inside the run in one pass
//! over it. Work is therefore linear in the input for every rule set, which
//! `benches/sanitize.rs` measures on inputs built to be slow.
//!
//! Text holding escapes (`\u0040`, `%40`, `\n`) is decoded first and each
//! finding mapped back onto the original ([`super::decode`]).
//!
//! ```
//! use agent_airlock::layers::sanitize::{Detector, DetectorOptions, Kind};
//!
//! let detector = Detector::new(&DetectorOptions::default()).unwrap();
//! let text = "mail alice@example.com, card 4111 1111 1111 1111, order 1234 5678 9012 3456";
//! let kinds: Vec<Kind> = detector.find(text).into_iter().map(|f| f.kind).collect();
//! assert_eq!(kinds, [Kind::Email, Kind::CreditCard]); // the order number fails Luhn
//! ```

use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use regex_automata::PatternID;
use regex_automata::meta::Regex;
use regex_automata::util::syntax;
use serde::{Deserialize, Serialize};

use super::automata::{Automata, syntax_config};
use super::context;
use super::decode;
use super::error::SanitizeError;
use super::kind::{Finding, Kind};
use super::locales;
use super::numbers::NumberRules;
use super::phones::PhoneLocales;
use super::rules::{self, Check, DetectorInfo, MAX_MATCH_BYTES};
use super::vendors::VENDORS;

pub(super) fn floor_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

pub(super) fn ceil_boundary(text: &str, mut i: usize) -> usize {
    while i < text.len() && !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// A workspace pattern: a name (its kind), a regex and, optionally, how to mask it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomPattern {
    /// The kind name, used in labels (`[REDACTED:<NAME>]`) and counts.
    pub name: String,
    /// A regex (the `regex` crate's syntax: linear time, no look-around) whose matches are
    /// bounded in length: `{1,64}` rather than `+` or `*`, at most 4096 bytes.
    pub regex: String,
    /// `label` (default), `partial` or `hash`.
    #[serde(default)]
    pub mask: Option<super::mask::MaskStyle>,
}

/// What the detector looks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorOptions {
    /// Look for personal data (e-mails, phones, cards, …).
    pub pii: bool,
    /// Look for secrets (keys, tokens, passwords, …).
    pub secrets: bool,
    /// Opt-in locales ([`LOCALES`](super::LOCALES)): `in` adds Aadhaar, PAN, UPI ids and
    /// IFSC codes; `uk`, the EU members (`eu` for all), `br`, `ca` and `au` their national
    /// identifiers.
    pub locales: Vec<String>,
    /// Workspace patterns, tried before the built-in ones.
    pub patterns: Vec<CustomPattern>,
    /// Values never masked (exact match of the sensitive part).
    pub allow_values: Vec<String>,
}

impl Default for DetectorOptions {
    fn default() -> Self {
        Self {
            pii: true,
            secrets: true,
            locales: Vec::new(),
            patterns: Vec::new(),
            allow_values: Vec::new(),
        }
    }
}

pub(super) struct Compiled {
    /// A vendor row found next to its name (`DD_API_KEY=…`): the value is what follows
    /// the separator.
    pub(super) keyed: bool,
    /// A vendor row's literal prefix length (computed once, not per match).
    pub(super) prefix_len: usize,
    /// A vendor row's long last run, read by its check (computed once, not per match).
    pub(super) tail: Option<rules::LongTail>,
    pub(super) name: Arc<str>,
    pub(super) kind: Kind,
    pub(super) check: Check,
    pub(super) description: String,
    pub(super) example: String,
    pub(super) locale: Option<&'static str>,
}

/// The kinds found inside digit runs, listed as detectors of their own.
const NUMBER_KINDS: &[(&str, Kind, &str, &str, bool)] = &[
    (
        "credit_card",
        Kind::CreditCard,
        "payment card numbers: Luhn, 13–19 digits, a known issuer range (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro, Mir, RuPay, Verve, Troy, Elo) or a card word nearby",
        "card 2200 0000 0000 0004",
        false,
    ),
    (
        "ssn",
        Kind::Ssn,
        "US Social Security numbers with `-`, space or `.` (never-issued ranges excluded), or nine digits after `SSN`",
        "SSN 123.45.6789",
        false,
    ),
    (
        "phone",
        Kind::Phone,
        "phone numbers: US (NANP), international (`+` and 8–15 digits), national formats next to a phone word, and those of the `uk`, `fr`, `de`, `br`, `in` and `au` numbering plans without one when their locale is on",
        "tel: 020 7946 0958, +1 (415) 555-2671",
        false,
    ),
    (
        "ipv4",
        Kind::IpAddress,
        "IPv4 addresses that parse (not part of a longer dotted number)",
        "from 203.0.113.42 port 22",
        false,
    ),
    (
        "aadhaar",
        Kind::Aadhaar,
        "Aadhaar numbers (Verhoeff check digit)",
        "Aadhaar 2341 2341 2346",
        true,
    ),
];

/// The state of one scan.
pub(super) struct Scan<'a> {
    /// Where value scans stopped.
    pub(super) values: context::ValueCache,
    /// Where the last finding ended.
    pub(super) floor: &'a Cell<usize>,
}

/// How far back a rule anchored on a later character looks for its start.
pub(super) const BACK_LIMIT: usize = 64;

/// The start of the run of bytes satisfying `class` that ends at `at`: at most `limit`
/// bytes back, never below `floor`.
pub(super) fn run_back(
    b: &[u8],
    at: usize,
    floor: usize,
    limit: usize,
    class: impl Fn(u8) -> bool,
) -> usize {
    let low = at.saturating_sub(limit).max(floor);
    let mut i = at;
    while i > low && class(b[i - 1]) {
        i -= 1;
    }
    i
}

/// Whether `b[start..end]` is `key` and its separator, then (past three blanks and a
/// quote) eight characters of a token without `=` (`key=` of a key/value pair names
/// nothing; `key=key=…` holds no value).
fn key_then_token(b: &[u8], start: usize, end: usize) -> bool {
    if !b[start..end]
        .get(..3)
        .is_some_and(|w| w.eq_ignore_ascii_case(b"key"))
    {
        return false;
    }
    let mut at = end;
    while at < b.len() && at - end < 3 && matches!(b[at], b' ' | b'\t') {
        at += 1;
    }
    at += usize::from(matches!(b.get(at), Some(b'"' | b'\'')));
    b.get(at..at + 8).is_some_and(|w| {
        w.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'_' | b'.' | b'-'))
    })
}

pub(super) fn local_part_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-') || c >= 0x80
}

/// Finds sensitive values in text. Build once, share freely (`Send + Sync`).
pub struct Detector {
    pub(super) automata: Automata,
    /// Per pattern: its rule.
    pub(super) by_pattern: Vec<usize>,
    pub(super) rules: Vec<Compiled>,
    pub(super) numbers: NumberRules,
    pub(super) allow: HashSet<String>,
    /// The assignment rule's pattern: tried where `key=` is no key/value pair.
    pub(super) assignment: Option<PatternID>,
}

impl fmt::Debug for Detector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Detector")
            .field("rules", &self.rules.len())
            .finish()
    }
}

/// Words near an all-lowercase Ethereum address that make it one.
pub(super) const WALLET_WORDS: &[&str] = &[
    "wallet",
    "address",
    "addr",
    "eth",
    "ether",
    "ethereum",
    "recipient",
    "sender",
    "account",
    "payee",
    "beneficiary",
    "deposit",
    "withdraw",
    "from",
    "to",
];

impl Detector {
    /// Compiles the rules `options` select. A workspace pattern that does not compile, or
    /// whose matches are not bounded in length, is refused, naming it.
    pub fn new(options: &DetectorOptions) -> Result<Self, SanitizeError> {
        let mut sources: Vec<String> = Vec::new();
        let mut by_pattern = Vec::new();
        let mut rules: Vec<Compiled> = Vec::new();
        for custom in &options.patterns {
            if custom.name.is_empty()
                || !custom
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                return Err(SanitizeError::Pattern {
                    name: custom.name.clone(),
                    reason: "a pattern name is letters, digits and `_`".into(),
                });
            }
            // Compile alone first, for an error that names the pattern.
            Regex::new(&custom.regex).map_err(|e| SanitizeError::Pattern {
                name: custom.name.clone(),
                reason: e.to_string(),
            })?;
            let hir = syntax::parse_with(&custom.regex, &syntax_config()).map_err(|e| {
                SanitizeError::Pattern {
                    name: custom.name.clone(),
                    reason: e.to_string(),
                }
            })?;
            match hir.properties().maximum_len() {
                Some(max) if max <= MAX_MATCH_BYTES => {}
                _ => {
                    return Err(SanitizeError::Pattern {
                        name: custom.name.clone(),
                        reason: format!(
                            "matches must be bounded in length (at most {MAX_MATCH_BYTES} bytes): write `{{1,64}}` instead of `+` or `*`"
                        ),
                    });
                }
            }
            sources.push(custom.regex.clone());
            by_pattern.push(rules.len());
            rules.push(Compiled {
                keyed: false,
                prefix_len: 0,
                tail: None,
                name: Arc::from(custom.name.as_str()),
                kind: Kind::Custom(Arc::from(custom.name.as_str())),
                check: Check::Whole,
                description: format!("workspace pattern `{}`", custom.name),
                example: String::new(),
                locale: None,
            });
        }
        if let Some(unknown) = options
            .locales
            .iter()
            .find(|l| !locales::LOCALES.iter().any(|k| k.eq_ignore_ascii_case(l)))
        {
            return Err(SanitizeError::Config(format!(
                "unknown sanitize locale `{unknown}` (known: {})",
                locales::LOCALES.join(", ")
            )));
        }
        let on = |l: &str| locales::enabled(l, &options.locales);
        let locale_on = |l: Option<&str>| l.is_none_or(on);
        let mut numbers = NumberRules {
            phones: PhoneLocales {
                uk: on("uk"),
                fr: on("fr"),
                de: on("de"),
                br: on("br"),
                india: on("in"),
                au: on("au"),
                mobiles: 0,
            }
            .with_mobiles(on),
            ..NumberRules::default()
        };
        for r in rules::builtin_rules() {
            let wanted = if r.check == Check::Numbers {
                options.pii
            } else if r.secret {
                options.secrets
            } else {
                options.pii
            };
            if !wanted || !locale_on(r.locale) {
                continue;
            }
            if r.check == Check::Numbers {
                // The digit-run rule finds several kinds: one rule id per kind.
                for &(name, ref kind, description, example, india) in NUMBER_KINDS {
                    if india && !locale_on(Some("in")) {
                        continue;
                    }
                    let id = rules.len();
                    match name {
                        "credit_card" => numbers.card = Some(id),
                        "ssn" => numbers.ssn = Some(id),
                        "phone" => numbers.phone = Some(id),
                        "ipv4" => numbers.ipv4 = Some(id),
                        _ => numbers.aadhaar = Some(id),
                    }
                    rules.push(Compiled {
                        keyed: false,
                        prefix_len: 0,
                        tail: None,
                        name: Arc::from(name),
                        kind: kind.clone(),
                        check: Check::Numbers,
                        description: description.to_owned(),
                        example: example.to_owned(),
                        locale: india.then_some("in"),
                    });
                }
            }
            sources.push(r.pattern.into_owned());
            by_pattern.push(rules.len());
            let keyed = matches!(r.check, Check::Vendor(row) if VENDORS[row].named);
            let (prefix_len, tail) = match r.check {
                Check::Vendor(row) => (
                    VENDORS[row].prefix_len(),
                    rules::long_tail(VENDORS[row].pattern),
                ),
                _ => (0, None),
            };
            rules.push(Compiled {
                keyed,
                prefix_len,
                tail,
                name: Arc::from(&*r.name),
                kind: r.kind,
                check: r.check,
                description: r.description.into_owned(),
                example: r.example.into_owned(),
                locale: r.locale,
            });
        }
        let assignment = by_pattern
            .iter()
            .position(|&r| &*rules[r].name == "assignment")
            .map(PatternID::must);
        Ok(Self {
            automata: Automata::new(&sources)?,
            by_pattern,
            rules,
            numbers,
            allow: options.allow_values.iter().cloned().collect(),
            assignment,
        })
    }

    /// The kind of each rule, by rule index ([`Finding::rule_id`]).
    pub fn rule_kinds(&self) -> impl Iterator<Item = &Kind> {
        self.rules.iter().map(|r| &r.kind)
    }

    /// Every detector this one runs: name, kind, description and an example it masks.
    pub fn detectors(&self) -> Vec<DetectorInfo> {
        self.rules
            .iter()
            .enumerate()
            .filter(|(i, r)| r.check != Check::Numbers || !self.by_pattern.contains(i))
            .map(|(_, r)| DetectorInfo {
                name: r.name.to_string(),
                kind: r.kind.name().to_owned(),
                description: r.description.clone(),
                example: r.example.clone(),
                locale: r.locale.map(str::to_owned),
            })
            .collect()
    }

    /// Every finding in `text`, in order, non-overlapping.
    pub fn find(&self, text: &str) -> Vec<Finding> {
        let mut findings = Vec::new();
        self.scan(text, |f| findings.push(f));
        findings
    }

    /// Calls `found` for each finding, in order, without collecting them. Spans are byte
    /// offsets in `text`; where `text` holds escapes, a span covers whole escapes.
    pub fn scan(&self, text: &str, mut found: impl FnMut(Finding)) {
        match decode::decode(text) {
            None => self.scan_plain(text, &mut found),
            Some(decoded) => self.scan_plain(&decoded.text, &mut |mut f: Finding| {
                f.start = decoded.raw(f.start);
                f.end = decoded.raw(f.end);
                found(f);
            }),
        }
    }

    /// [`scan`](Self::scan) of text without escapes (or decoded).
    pub(super) fn scan_plain(&self, text: &str, found: &mut dyn FnMut(Finding)) {
        // Where the last finding ended: a rule that extends its match backward (the local
        // part of an e-mail address, the name of an assignment) stops there.
        let floor = Cell::new(0);
        let mut scan = Scan {
            values: context::ValueCache::default(),
            floor: &floor,
        };
        let found = &mut |f: Finding| {
            floor.set(f.end);
            found(f);
        };
        let mut cursor = self.automata.cursor(text.len());
        let mut pos = 0;
        while pos < text.len() {
            let Some(m) = self.automata.next(text, pos, &mut cursor) else {
                break;
            };
            let (start, end) = (m.start(), m.end());
            let next = match self.accept(text, m.pattern(), start, end, &mut scan, found) {
                Some(next) => next,
                None if self.fallback(m.pattern()) => self
                    .try_others(text, m.pattern(), start, &mut scan, found)
                    .unwrap_or_else(|| self.keyed_word(text, m.pattern(), start, end)),
                // `key=` that is no key/value pair is a secret word's assignment.
                None if self.rules[self.by_pattern[m.pattern().as_usize()]].check
                    == Check::Assign(super::rules::Assign::NameValue)
                    && key_then_token(text.as_bytes(), start, end) =>
                {
                    self.assignment
                        .and_then(|pid| {
                            let m = self.automata.anchored_pattern(text, start, pid)?;
                            self.accept(text, pid, m.start(), m.end(), &mut scan, found)
                        })
                        .unwrap_or(end)
                }
                None => end,
            };
            pos = ceil_boundary(text, next.max(start + 1));
        }
    }

    /// Where to continue after a rule turned down `start..end`: at its end, or, for a vendor
    /// row found next to its name (`CLOUDFLARE_API_KEY=…`), at the first secret word inside
    /// that name, so the assignment rules still read it (a value the vendor's shape turns
    /// down may be a secret all the same). One more try per rejection: still linear.
    fn keyed_word(&self, text: &str, pattern: PatternID, start: usize, end: usize) -> usize {
        if !self.rules[self.by_pattern[pattern.as_usize()]].keyed {
            return end;
        }
        let b = &text.as_bytes()[start..end];
        // The name ends at the separator.
        let name = b
            .iter()
            .position(|&c| matches!(c, b':' | b'='))
            .map_or(b, |at| &b[..at]);
        (1..name.len())
            .find(|&i| {
                rules::SECRET_WORDS.iter().any(|w| {
                    name.get(i..i + w.len())
                        .is_some_and(|n| n.eq_ignore_ascii_case(w.as_bytes()))
                })
            })
            .map_or(end, |i| start + i)
    }

    /// Other rules matching at `start`, in priority order: the first that claims the
    /// position says where to continue.
    fn try_others(
        &self,
        text: &str,
        tried: PatternID,
        start: usize,
        scan: &mut Scan<'_>,
        found: &mut dyn FnMut(Finding),
    ) -> Option<usize> {
        // The byte here rules most rules out; each other rule tries an anchored search.
        for pid in self.automata.starting_at(text, start) {
            if pid == tried {
                continue;
            }
            if let Some(m) = self.automata.anchored_pattern(text, start, pid)
                && let Some(next) = self.accept(text, pid, m.start(), m.end(), scan, found)
            {
                return Some(next);
            }
        }
        None
    }

    /// Whether a match the rule of `pid` turned down may be another rule's: only where a
    /// lower-priority rule can start at the same place (a vendor key named without a
    /// random value is still an assignment; a MAC look-alike may be an IPv6 address).
    /// Elsewhere the scan goes on after the match.
    fn fallback(&self, pid: PatternID) -> bool {
        let rule = &self.rules[self.by_pattern[pid.as_usize()]];
        matches!(
            rule.check,
            Check::Vendor(_)
                | Check::NationalId(_)
                | Check::Jwt
                | Check::Mac
                | Check::Email
                | Check::WrittenEmail
                | Check::Whole
        )
    }

    /// Reports a finding unless its value is allowlisted.
    pub(super) fn emit(
        &self,
        rule: usize,
        text: &str,
        start: usize,
        end: usize,
        found: &mut dyn FnMut(Finding),
    ) {
        let start = floor_boundary(text, start);
        let end = ceil_boundary(text, end);
        if start >= end || (!self.allow.is_empty() && self.allow.contains(&text[start..end])) {
            return;
        }
        let r = &self.rules[rule];
        found(Finding {
            kind: r.kind.clone(),
            rule: r.name.clone(),
            rule_id: rule,
            start,
            end,
        });
    }
}
