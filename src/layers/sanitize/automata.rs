//! The rules' automata: the rules split in two groups searched side by side as if they
//! were one.
//!
//! One automaton over every rule pays, at its first texts, for states that combine the
//! partial matches of all rules at once: on a megabyte of real source code that cost
//! about 50 ms, twenty times the scan itself. So the rules are split:
//!
//! - rules whose every match starts with one of a few rare literals, in any case (`ghp_`,
//!   `xoxb-`, `-----BEGIN`, a secret word, `@`, `0x`): an Aho-Corasick automaton, built
//!   whole at start (nothing to warm up), finds those literals, and the group's rules are
//!   tried anchored at each, with a forward lazy DFA whose states are only those reached
//!   from a rule's start;
//! - the rules that start on a class of bytes (digit groups, addresses, IBANs): one lazy
//!   DFA, searched unanchored.
//!
//! Searching them side by side gives exactly what one automaton would: the leftmost match
//! of either group, and at the same start the rule listed first (a pattern's id is its
//! priority). Each group's next match is kept until the scan passes its start, so every
//! group is searched forward once per match it reports. Once warm, one automaton over
//! every rule is faster than two searches: a detector builds it after [`WHOLE_AFTER`]
//! bytes.

use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use aho_corasick::AhoCorasick;
use regex_automata::hybrid;
use regex_automata::meta::Regex;
use regex_automata::nfa::thompson;
use regex_automata::util::look::{Look, LookMatcher};
use regex_automata::util::pool::Pool;
use regex_automata::util::syntax;
use regex_automata::{Anchored, HalfMatch, Input, Match, MatchKind, PatternID};
use regex_syntax::hir::Hir;

use super::error::SanitizeError;
use super::rules::MAX_MATCH_BYTES;
use super::starts::{
    ALPHABET_LOOK, ByteSet, first_bytes, leading_looks, literal_starts, positional,
};

/// The rules' automata.
pub(super) struct Automata {
    groups: Vec<Group>,
    /// Per pattern: its group and its id there.
    place: Vec<(usize, PatternID)>,
    /// Per byte: the patterns a match can start with it, in priority order.
    starting: Box<[Box<[PatternID]>]>,
    /// Per pattern: the bytes its matches can hold at each of their first offsets, and how
    /// many bytes (up to [`ALPHABET_LOOK`]) every match has.
    alphabets: Vec<([ByteSet; ALPHABET_LOOK], usize)>,
    /// Per pattern: the assertions every match makes at its start.
    leads: Vec<Box<[Look]>>,
    /// Every rule in one automaton, once the detector has scanned [`WHOLE_AFTER`] bytes:
    /// warm, one pass is faster than two (about 460 MiB/s against 230 on prose), and a
    /// long-lived detector has time to fill its states. `None` if it cannot be built.
    whole: OnceLock<Option<Group>>,
    /// Every rule, parsed, for `whole`.
    hirs: Vec<Hir>,
    /// Bytes scanned so far.
    scanned: AtomicUsize,
}

/// How much text a detector scans with the two groups before it builds the one automaton.
pub(super) const WHOLE_AFTER: usize = 8 << 20;

struct Group {
    search: Search,
    /// Per pattern of this group: its id among all patterns.
    global: Vec<PatternID>,
}

/// How a group is searched.
enum Search {
    /// By its automaton, unanchored.
    Unanchored(Regex),
    /// Every match of the group starts with one of a few literals (any case): the group
    /// is searched by finding them and trying its rules anchored at each, with a forward
    /// lazy DFA alone (no reverse automaton to build: the start is known).
    Literals {
        starts: AhoCorasick,
        forward: Box<Forward>,
    },
}

/// A forward lazy DFA for anchored searches, with a cache per thread that uses it.
struct Forward {
    dfa: hybrid::dfa::DFA,
    caches: Pool<hybrid::dfa::Cache, CacheFn>,
    /// The longest match of any of its rules.
    longest: usize,
}

/// Failed anchored tries in a row, within [`DENSE_SPAN`] bytes, after which a literal-led
/// group looks for its next match unanchored first. Real text fails tries too (`sk` of
/// `task`, a secret word without a value), but far apart: there the unanchored automaton
/// would only build states a fresh detector need not.
const DENSE_FAILURES: u32 = 16;
/// See [`DENSE_FAILURES`].
const DENSE_SPAN: usize = 256;

type CacheFn = Box<dyn Fn() -> hybrid::dfa::Cache + Send + Sync + UnwindSafe + RefUnwindSafe>;

impl Group {
    /// The group's leftmost match from `pos` on, by priority at its start.
    fn find(&self, text: &str, pos: usize) -> Option<Match> {
        let (starts, forward) = match &self.search {
            Search::Unanchored(regex) => {
                return regex
                    .search(&Input::new(text).range(pos..))
                    .map(|m| Match::new(self.global[m.pattern().as_usize()], m.span()));
            }
            Search::Literals { starts, forward } => (starts, forward),
        };
        // Every match starts where one of the literals does: the first place, in order,
        // where a rule matches anchored is where the unanchored search would have found
        // its leftmost match, and the rule it reports there is the same.
        let (mut at, mut failed, mut since) = (pos, 0, pos);
        // One cache for every try of this search.
        let mut cache = forward.caches.get();
        while at < text.len() {
            let candidate = starts.find(aho_corasick::Input::new(text).range(at..))?;
            let input = Input::new(text)
                .range(candidate.start()..)
                .anchored(Anchored::Yes);
            if let Some(end) = forward.end(&mut cache, &input) {
                let pattern = self.global[end.pattern().as_usize()];
                return Some(Match::new(pattern, candidate.start()..end.offset()));
            }
            if failed == 0 {
                since = candidate.start();
            }
            at = candidate.start() + 1;
            failed += 1;
            if failed == DENSE_FAILURES {
                failed = 0;
                if at - since <= DENSE_SPAN {
                    // Literals everywhere and no rule matching (`-----…`, a prefix
                    // repeated): one unanchored pass says where the next match ends, if
                    // anywhere, and it starts at most the rules' longest match before that.
                    let end = forward.end(&mut cache, &Input::new(text).range(at..))?;
                    at = at.max(end.offset().saturating_sub(forward.longest));
                }
            }
        }
        None
    }

    /// The match of an anchored `input`, its pattern this group's.
    fn anchored(&self, input: &Input<'_>) -> Option<Match> {
        match &self.search {
            Search::Unanchored(regex) => regex.search(input),
            Search::Literals { forward, .. } => forward.search(input),
        }
    }
}

impl Forward {
    fn new(hirs: &[&Hir]) -> Result<Self, SanitizeError> {
        let nfa = thompson::Compiler::new()
            .configure(
                thompson::Config::new()
                    .nfa_size_limit(Some(256 << 20))
                    .which_captures(thompson::WhichCaptures::None),
            )
            .build_many_from_hir(hirs)
            .map_err(pattern_error)?;
        let dfa = hybrid::dfa::DFA::builder()
            .configure(
                hybrid::dfa::Config::new()
                    .match_kind(MatchKind::LeftmostFirst)
                    .starts_for_each_pattern(true)
                    .cache_capacity(64 << 20)
                    // Cleared as often as it fills, never given up on: every search is
                    // anchored and bounded by the rules' length.
                    .minimum_cache_clear_count(None),
            )
            .build_from_nfa(nfa)
            .map_err(pattern_error)?;
        let owned = dfa.clone();
        let create: CacheFn = Box::new(move || owned.create_cache());
        let longest = hirs
            .iter()
            .map(|h| h.properties().maximum_len().unwrap_or(MAX_MATCH_BYTES))
            .max()
            .unwrap_or(0);
        Ok(Self {
            dfa,
            caches: Pool::new(create),
            longest,
        })
    }

    /// Where the leftmost match of `input` ends, and its pattern.
    fn end(&self, cache: &mut hybrid::dfa::Cache, input: &Input<'_>) -> Option<HalfMatch> {
        // No byte makes the DFA quit and it never gives up (see `new`): an error cannot
        // happen, and would mean no match.
        self.dfa.try_search_fwd(cache, input).ok()?
    }

    /// The match of an anchored `input`.
    fn search(&self, input: &Input<'_>) -> Option<Match> {
        let end = self.end(&mut self.caches.get(), input)?;
        Some(Match::new(end.pattern(), input.start()..end.offset()))
    }
}

fn pattern_error(e: impl std::fmt::Display) -> SanitizeError {
    SanitizeError::Pattern {
        name: "built-in".into(),
        reason: e.to_string(),
    }
}

/// Where a scan stands in each automaton it searches.
pub(super) struct Cursor<'a> {
    groups: &'a [Group],
    /// Per group: the next match from `from` on, `None` once the group has none left
    /// (two at most: no allocation per scan, however small the text).
    next: [Option<(usize, Option<Match>)>; 2],
}

impl Automata {
    /// The automata of `sources` (one pattern each, in priority order).
    pub(super) fn new(sources: &[String]) -> Result<Self, SanitizeError> {
        // Each pattern is parsed once: for its group, its first bytes and the automata.
        let mut hirs = Vec::with_capacity(sources.len());
        for source in sources {
            hirs.push(syntax::parse_with(source, &syntax_config()).map_err(|e| {
                SanitizeError::Pattern {
                    name: "built-in".into(),
                    reason: e.to_string(),
                }
            })?);
        }
        let mut split: [Vec<(PatternID, &Hir)>; 2] = [Vec::new(), Vec::new()];
        let mut starting: Vec<Vec<PatternID>> = vec![Vec::new(); 256];
        let mut alphabets = Vec::with_capacity(sources.len());
        let mut leads = Vec::with_capacity(sources.len());
        // The literals the first group's matches start with, lowercase, each once.
        let mut literals: Vec<Vec<u8>> = Vec::new();
        for (i, hir) in hirs.iter().enumerate() {
            let starts = literal_starts(hir);
            let group = usize::from(starts.is_none());
            literals.extend(starts.into_iter().flatten());
            split[group].push((PatternID::new_unchecked(i), hir));
            let alphabet = positional(hir);
            leads.push(leading_looks(hir).into_boxed_slice());
            let least = hir.properties().minimum_len().unwrap_or(0);
            alphabets.push((alphabet, least.min(ALPHABET_LOOK)));
            let firsts = first_bytes(hir);
            for (b, list) in starting.iter_mut().enumerate() {
                if firsts.contains(b as u8) {
                    list.push(PatternID::new_unchecked(i));
                }
            }
        }
        literals.sort_unstable();
        literals.dedup();
        let mut place = vec![(0, PatternID::ZERO); sources.len()];
        let mut groups = Vec::new();
        for (led, members) in split.into_iter().enumerate() {
            if members.is_empty() {
                continue;
            }
            let (global, sources): (Vec<PatternID>, Vec<&Hir>) = members.into_iter().unzip();
            for (local, g) in global.iter().enumerate() {
                place[g.as_usize()] = (groups.len(), PatternID::new_unchecked(local));
            }
            let search = match led {
                0 => Search::Literals {
                    starts: literal_finder(&literals)?,
                    forward: Box::new(Forward::new(&sources)?),
                },
                _ => Search::Unanchored(build(&sources, MatchKind::LeftmostFirst)?),
            };
            groups.push(Group { search, global });
        }
        Ok(Self {
            groups,
            place,
            starting: starting.into_iter().map(Vec::into_boxed_slice).collect(),
            alphabets,
            leads,
            whole: OnceLock::new(),
            hirs,
            scanned: AtomicUsize::new(0),
        })
    }

    /// A cursor for a scan of `len` bytes: over the two groups, or over the one automaton
    /// once this detector has scanned enough (the scan that crosses the line builds it).
    pub(super) fn cursor(&self, len: usize) -> Cursor<'_> {
        let before = self.scanned.fetch_add(len, Ordering::Relaxed);
        let groups = if before.saturating_add(len) >= WHOLE_AFTER {
            let whole = self.whole.get_or_init(|| {
                let regex = build(&self.hirs, MatchKind::LeftmostFirst)
                    .inspect_err(|e| tracing::error!(error = %e, "the rules cannot be built as one automaton"))
                    .ok()?;
                Some(Group {
                    search: Search::Unanchored(regex),
                    global: (0..self.hirs.len()).map(PatternID::new_unchecked).collect(),
                })
            });
            whole
                .as_ref()
                .map_or(&self.groups[..], std::slice::from_ref)
        } else {
            &self.groups[..]
        };
        debug_assert!(groups.len() <= 2);
        Cursor {
            groups,
            next: [Some((0, None)); 2],
        }
    }

    /// The first match at or after `pos`, leftmost, then by priority.
    pub(super) fn next(&self, text: &str, pos: usize, cursor: &mut Cursor<'_>) -> Option<Match> {
        let mut best: Option<Match> = None;
        for (group, slot) in cursor.groups.iter().zip(cursor.next.iter_mut()) {
            let Some((from, found)) = slot else {
                continue; // no match left in this group
            };
            let stale = *from > pos
                || match found {
                    Some(m) => m.start() < pos,
                    None => true,
                };
            if stale {
                *found = group.find(text, pos);
                *from = pos;
                if found.is_none() {
                    *slot = None;
                    continue;
                }
            }
            let m = found.expect("searched above");
            if best.is_none_or(|b| (m.start(), m.pattern()) < (b.start(), b.pattern())) {
                best = Some(m);
            }
        }
        best
    }

    /// The match starting exactly at `at` that one automaton would report: of the rules
    /// matching there, the first listed.
    pub(super) fn anchored(&self, text: &str, at: usize) -> Option<Match> {
        let input = Input::new(text).range(at..).anchored(Anchored::Yes);
        self.groups
            .iter()
            .filter_map(|g| {
                g.anchored(&input)
                    .map(|m| Match::new(g.global[m.pattern().as_usize()], m.span()))
            })
            .min_by_key(Match::pattern)
    }

    /// The match of the rule of `pid` starting exactly at `at`.
    pub(super) fn anchored_pattern(&self, text: &str, at: usize, pid: PatternID) -> Option<Match> {
        let (group, local) = self.place[pid.as_usize()];
        let input = Input::new(text)
            .range(at..)
            .anchored(Anchored::Pattern(local));
        self.groups[group]
            .anchored(&input)
            .map(|m| Match::new(pid, m.span()))
    }

    /// The rules that may have a match starting at `at` (its byte is one they can start
    /// with, each byte after it, as many as each of their matches has, one they can hold at
    /// that offset, and the assertions they start with hold there), in priority order: after a rule turns a match down, the
    /// others to try.
    pub(super) fn starting_at<'a>(
        &'a self,
        text: &'a str,
        at: usize,
    ) -> impl Iterator<Item = PatternID> + 'a {
        let bytes = text.as_bytes();
        let byte = bytes.get(at).copied();
        let looks = LookMatcher::new();
        byte.map_or(&[][..], |b| &self.starting[usize::from(b)])
            .iter()
            .copied()
            .filter(move |p| {
                let (offsets, least) = &self.alphabets[p.as_usize()];
                // A match of `least` bytes or more has these; a text too short has none.
                (*least <= 1
                    || bytes.get(at + 1..at + least).is_some_and(|next| {
                        next.iter()
                            .zip(&offsets[1..])
                            .all(|(&b, set)| set.contains(b))
                    }))
                    && self.leads[p.as_usize()]
                        .iter()
                        .all(|&look| looks.matches(look, bytes, at))
            })
    }
}

/// Finds where any of `literals` starts, in any ASCII case: a deterministic automaton
/// built at once, so a fresh detector searches as fast as a warm one.
fn literal_finder(literals: &[Vec<u8>]) -> Result<AhoCorasick, SanitizeError> {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(aho_corasick::MatchKind::LeftmostFirst)
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .build(literals)
        .map_err(|e| SanitizeError::Pattern {
            name: "built-in".into(),
            reason: e.to_string(),
        })
}

/// The rules of `hirs` as one automaton that reports matches by `kind`.
fn build<H: std::borrow::Borrow<Hir>>(hirs: &[H], kind: MatchKind) -> Result<Regex, SanitizeError> {
    Regex::builder()
        .configure(
            Regex::config()
                .match_kind(kind)
                .which_captures(regex_automata::nfa::thompson::WhichCaptures::Implicit)
                .nfa_size_limit(Some(256 << 20))
                .hybrid_cache_capacity(64 << 20)
                // Literal extraction over hundreds of rules finds no prefilter worth having
                // (their first bytes cover most of the alphabet) and cost 4 of the 12 ms
                // the detectors took to build.
                .auto_prefilter(false),
        )
        .build_many_from_hir(hirs)
        .map_err(|e| SanitizeError::Pattern {
            name: "built-in".into(),
            reason: e.to_string(),
        })
}

/// The syntax every rule is compiled with.
pub(super) fn syntax_config() -> syntax::Config {
    // ASCII semantics: smaller automata, faster scans; spans are snapped to char
    // boundaries, so a mask never splits a character.
    syntax::Config::new().unicode(false).utf8(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::sanitize::rules::builtin_rules;
    use crate::layers::sanitize::starts;

    /// Text where many rules start, overlap and fail: prefixes, digit groups, addresses,
    /// secret words, cut-off tokens.
    fn texts() -> Vec<String> {
        let pieces = [
            "ghp_",
            "xoxb-12-",
            "AKIA",
            "sk-",
            "-----BEGIN ",
            "PRIVATE KEY-----",
            "eyJ",
            "@",
            "alice",
            ".example",
            ".com",
            " at ",
            " dot ",
            "4111 1111 1111 1111",
            "555-0100",
            "+44 20 7946 0958",
            "10.0.0.",
            "fe80::",
            "1:2:3:4:5:6:7:8",
            "00:1A:2B:3C:4D:5E",
            "GB82 WEST 1234 5698 7654 32",
            "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
            "bc1q",
            "0x",
            "52908400098527886E0F7030069857D2E4169EE7",
            "password",
            "=",
            ": ",
            "\"",
            "token",
            "api_key",
            "Bearer ",
            "Authorization: ",
            "postgres://u:",
            "p@ss",
            "@db/x",
            " ",
            "\n",
            "ABCPE1234F",
            "HDFC0001234",
            "x",
            "Zq81ksjAQm9yTz7kWx2Lp8aZ",
            "--token=",
            "machine h login u password ",
            "name: DB_PASSWORD\n  value: ",
            "-u a:b",
            "key",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut texts: Vec<String> = (0..200)
            .map(|_| {
                let n = 1 + next() % 40;
                (0..n)
                    .map(|_| pieces[(next() % pieces.len() as u64) as usize])
                    .collect()
            })
            .collect();
        // Literals at every byte and no rule matching, then matches: the literal-led group
        // looks ahead unanchored.
        for (dense, then) in [
            ("-", "-----BEGIN RSA PRIVATE KEY-----"),
            ("sk.eyJ_3", "ghp_Zq81ksjAQm9yTz7kWx2Lp8aZQm9yTz7kWx2L"),
            ("A", "AAAAAAAAAAAAAAAAAAAAA"),
            ("key", " password=hunter2"),
        ] {
            texts.push(format!("{}{then} {}", dense.repeat(600), dense.repeat(40)));
            texts.push(format!("{then}{}{then}", dense.repeat(5000)));
        }
        texts
    }

    #[test]
    fn rules_led_by_rare_literals_are_found_by_them_in_any_case() {
        let starts = |pattern: &str| {
            literal_starts(&syntax::parse_with(pattern, &syntax_config()).unwrap()).map(|l| {
                l.iter()
                    .map(|l| String::from_utf8_lossy(l).into_owned())
                    .collect::<Vec<_>>()
            })
        };
        // A case-insensitive word is one literal, cut to its first bytes.
        assert_eq!(
            starts("(?i)(?:proxy-)?authorization[:=]").unwrap(),
            ["auth", "prox"]
        );
        assert_eq!(
            starts("(?i:dd|datadog)_?api").unwrap(),
            ["data", "dd_a", "ddap"]
        );
        assert_eq!(starts("ghp_[A-Za-z0-9]{36}").unwrap(), ["ghp_"]);
        assert_eq!(starts("@[a-z]{2,8}").unwrap(), ["@"]);
        assert_eq!(starts("0x[0-9a-f]{40}").unwrap(), ["0x"]);
        // Single letters, digits and classes start too much text.
        assert_eq!(starts("[MNO][A-Za-z0-9]{23}"), None);
        assert_eq!(starts("[0-9]{8}:AA"), None);
        assert_eq!(starts(r"(?:\+|\b)[0-9]{7}"), None);
        assert_eq!(starts("[A-Za-z0-9]{14}\\.atlasv1"), None);
    }

    #[test]
    fn two_groups_find_what_one_automaton_finds() {
        let sources: Vec<String> = builtin_rules()
            .into_iter()
            .map(|r| r.pattern.into_owned())
            .collect();
        let split = Automata::new(&sources).unwrap();
        assert_eq!(split.groups.len(), 2, "the rules are split");
        assert_eq!(
            split.cursor(0).groups.len(),
            2,
            "a fresh detector searches two"
        );
        let warm = Automata::new(&sources).unwrap();
        warm.cursor(WHOLE_AFTER);
        assert_eq!(warm.cursor(0).groups.len(), 1, "then one");
        let hirs: Vec<Hir> = sources
            .iter()
            .map(|s| syntax::parse_with(s, &syntax_config()).unwrap())
            .collect();
        let one = build(&hirs, MatchKind::LeftmostFirst).unwrap();
        let all = build(&hirs, MatchKind::All).unwrap();
        for text in texts() {
            // Every position a match starts at, not only non-overlapping ones.
            let (mut pos, mut cursor, mut whole) = (0, split.cursor(0), warm.cursor(0));
            while pos < text.len() {
                let expected = one.search(&Input::new(&text).range(pos..));
                let got = split.next(&text, pos, &mut cursor);
                assert_eq!(got, expected, "{text:?} from {pos}");
                assert_eq!(
                    warm.next(&text, pos, &mut whole),
                    expected,
                    "{text:?} from {pos}"
                );
                let Some(m) = expected else { break };
                assert_eq!(split.anchored(&text, m.start()), Some(m), "{text:?}");
                assert_eq!(
                    split.anchored_pattern(&text, m.start(), m.pattern()),
                    Some(m),
                    "{text:?}"
                );
                assert!(
                    split
                        .starting_at(&text, m.start())
                        .any(|p| p == m.pattern())
                );
                // Every rule matching at the start is among those the first byte allows.
                let mut here = regex_automata::PatternSet::new(sources.len());
                let anchored = Input::new(&text).range(m.start()..).anchored(Anchored::Yes);
                all.which_overlapping_matches(&anchored, &mut here);
                let allowed: Vec<PatternID> = split.starting_at(&text, m.start()).collect();
                assert!(here.iter().all(|p| allowed.contains(&p)), "{text:?}");
                pos = m.start() + 1;
            }
        }
    }

    #[test]
    fn literals_read_from_a_rule_s_head_are_those_of_the_whole_rule() {
        let rules = builtin_rules();
        let mut led = 0;
        for rule in &rules {
            let hir = syntax::parse_with(&rule.pattern, &syntax_config()).unwrap();
            let whole = starts::leading_literals(&hir);
            assert_eq!(
                starts::leading_literals(&starts::head(&hir)),
                whole,
                "{}",
                rule.name
            );
            led += usize::from(literal_starts(&hir).is_some());
        }
        // Both groups are represented: the comparison is not between two empty answers.
        assert!(
            led > rules.len() / 2 && led < rules.len(),
            "{led} of {}",
            rules.len()
        );
        for pattern in [
            r"(?i)(?:ab|abcdef)[0-9]{3}x",
            r"(?:ghp_|gho_)[A-Za-z0-9]{36}",
            r"(a)(b)(c)[0-9]{2}[a-z]{40}",
            r"(?i)x?y?z?w?v[0-9]",
        ] {
            let hir = syntax::parse_with(pattern, &syntax_config()).unwrap();
            let whole = starts::leading_literals(&hir);
            assert_eq!(
                starts::leading_literals(&starts::head(&hir)),
                whole,
                "{pattern}"
            );
        }
    }

    #[test]
    fn a_rule_that_starts_with_many_literals_is_found_by_fewer_bytes_of_them() {
        let literals = |pattern: &str| {
            literal_starts(&syntax::parse_with(pattern, &syntax_config()).unwrap()).unwrap()
        };
        // 200 literals of four bytes (`1/00`…`2/99`), 20 of three.
        let asana = literals(r"[12]/[0-9]{16}:[a-f0-9]{32}");
        assert_eq!(asana.len(), 20);
        assert!(asana.iter().all(|l| l.len() == 3 && l[1] == b'/'));
        // A few stay whole.
        assert_eq!(
            literals(r"(?i)(?:ghp|gho)_[A-Za-z0-9]{36}"),
            [b"gho_".to_vec(), b"ghp_".to_vec()]
        );
    }
}
