//! What a rule's matches start with and are made of, read from its parsed pattern: the
//! rare literals a literal-led rule is found by, the bytes a match can start with, and the
//! bytes it can hold. The automata (`automata.rs`) use them to choose a rule's group and
//! to rule rules out where a match cannot start.

use regex_syntax::hir::literal::Extractor;
use regex_syntax::hir::{Class, Hir, HirKind};

/// How many bytes of each literal the first group is searched by.
pub(super) const PREFIX_KEEP: usize = 4;

/// A set of bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct ByteSet([u64; 4]);

impl ByteSet {
    pub(super) const ALL: Self = Self([u64::MAX; 4]);

    pub(super) fn insert(&mut self, b: u8) {
        self.0[usize::from(b >> 6)] |= 1 << (b & 63);
    }

    pub(super) fn union(&mut self, other: Self) {
        for (word, more) in self.0.iter_mut().zip(other.0) {
            *word |= more;
        }
    }

    pub(super) fn contains(self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }
}

/// The literals every match of `hir` starts with, lowercase, each once, when they are a
/// finite set and each is rare enough in text to be worth finding first (see
/// [`selective`]).
pub(super) fn literal_starts(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    let mut literals = leading_literals(&head(hir))?;
    // A rule that starts with many (`[12]/[0-9]{16}`: 200 of four bytes) keeps fewer bytes
    // of each: as rare in text, and a fraction of the automaton that finds them.
    let mut keep = PREFIX_KEEP;
    while literals.len() > RULE_LITERALS && keep > 2 {
        keep -= 1;
        // Cut alike, sorted literals stay sorted.
        literals.iter_mut().for_each(|l| l.truncate(keep));
        literals.dedup();
    }
    literals.iter().all(|l| selective(l)).then_some(literals)
}

/// The most literals one rule is found by before they are cut shorter.
const RULE_LITERALS: usize = 64;

/// The literals every match of `hir` starts with, lowercase, cut to [`PREFIX_KEEP`] bytes,
/// sorted, each once; `None` when they are not a finite set.
pub(super) fn leading_literals(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    // Lowercase first: a case-insensitive word is then one literal, not one per case.
    let mut prefixes = Extractor::new().extract(&lowercase(hir));
    // A few bytes are as selective as the whole literal, and far fewer to build.
    prefixes.keep_first_bytes(PREFIX_KEEP);
    let mut literals: Vec<Vec<u8>> = prefixes
        .literals()?
        .iter()
        .map(|l| l.as_bytes().to_ascii_lowercase())
        .collect();
    literals.sort_unstable();
    literals.dedup();
    Some(literals)
}

/// The part of `hir` its first [`PREFIX_KEEP`] bytes are read from: a concatenation cut
/// after its first parts once every match of them is that long (through alternatives and
/// groups). The extractor reads a concatenation's parts in order and only lengthens the
/// literals it has (or marks them inexact), so what the cut leaves out could only add bytes
/// past the ones kept: the kept literals are the same, at a fraction of the work, since the
/// long runs of a token's body are never lowercased nor crossed.
pub(super) fn head(hir: &Hir) -> Hir {
    match hir.kind() {
        HirKind::Concat(subs) => {
            let mut least = 0;
            let mut cut = subs.len();
            for (i, sub) in subs.iter().enumerate() {
                least += sub.properties().minimum_len().unwrap_or(0);
                if least >= PREFIX_KEEP {
                    cut = i + 1;
                    break;
                }
            }
            Hir::concat(subs[..cut].to_vec())
        }
        HirKind::Alternation(subs) => Hir::alternation(subs.iter().map(head).collect()),
        HirKind::Capture(capture) => head(&capture.sub),
        _ => hir.clone(),
    }
}

/// `hir` with every ASCII letter lowercase: what it matches, in any case, the result
/// matches ignoring case.
pub(super) fn lowercase(hir: &Hir) -> Hir {
    use regex_syntax::hir::{Capture, Class, ClassBytes, ClassBytesRange, HirKind, Repetition};
    match hir.kind() {
        HirKind::Literal(literal) => Hir::literal(literal.0.to_ascii_lowercase()),
        HirKind::Class(Class::Bytes(class)) => {
            // A case-insensitive letter (`[Pp]`, most classes of the secret words) is
            // its lowercase at once.
            if let [upper, lower] = class.ranges()
                && upper.start() == upper.end()
                && lower.start() == lower.end()
                && upper.start().is_ascii_uppercase()
                && lower.start() == upper.start().to_ascii_lowercase()
            {
                return Hir::literal([lower.start()]);
            }
            // (the class, with its capitals' lowercase) without capitals
            let lower = class.ranges().iter().filter_map(|r| {
                let (start, end) = (r.start().max(b'A'), r.end().min(b'Z'));
                (start <= end).then(|| ClassBytesRange::new(start + 32, end + 32))
            });
            let mut folded = ClassBytes::new(class.ranges().iter().copied().chain(lower));
            folded.difference(&ClassBytes::new([ClassBytesRange::new(b'A', b'Z')]));
            match folded.ranges() {
                [one] if one.start() == one.end() => Hir::literal([one.start()]),
                _ => Hir::class(Class::Bytes(folded)),
            }
        }
        HirKind::Repetition(rep) => Hir::repetition(Repetition {
            min: rep.min,
            max: rep.max,
            greedy: rep.greedy,
            sub: Box::new(lowercase(&rep.sub)),
        }),
        HirKind::Capture(capture) => Hir::capture(Capture {
            index: capture.index,
            name: capture.name.clone(),
            sub: Box::new(lowercase(&capture.sub)),
        }),
        HirKind::Concat(subs) => Hir::concat(subs.iter().map(lowercase).collect()),
        HirKind::Alternation(subs) => Hir::alternation(subs.iter().map(lowercase).collect()),
        _ => hir.clone(),
    }
}

/// Whether text holds `literal` rarely enough: two bytes or more, not all digits (`0x`,
/// `sk`, `ghp_`), or one punctuation byte (`@`). Digits alone and single letters start
/// too many words and numbers.
pub(super) fn selective(literal: &[u8]) -> bool {
    match literal {
        [] => false,
        [b] => b.is_ascii_punctuation(),
        l => !l.iter().all(u8::is_ascii_digit),
    }
}

/// How many bytes of a match after its first `Automata::starting_at` checks against
/// the rule's alphabet.
pub(super) const ALPHABET_LOOK: usize = 4;

/// The bytes a match of `hir` can hold at each of its first [`ALPHABET_LOOK`] offsets:
/// `sets[i]` holds every byte some match has at offset `i` (a superset: repetitions are
/// read as unbounded). Sharper than the alphabet: `expdp` and `sqlplus` start a rule at
/// `e` and `s`, but only `x` and `q` may follow.
pub(super) fn positional(hir: &Hir) -> [ByteSet; ALPHABET_LOOK] {
    let mut sets = [ByteSet::default(); ALPHABET_LOOK];
    walk(hir, 1, &mut sets);
    sets
}

/// Offsets into a match, as bits: bit `i` set when a part may start at offset `i` (offsets
/// from [`ALPHABET_LOOK`] on are not tracked).
type Offsets = u8;
const TRACKED: Offsets = (1 << ALPHABET_LOOK) - 1;

/// Adds what `hir` can hold at each tracked offset when it starts at one of `at`; returns
/// the offsets it can end at.
fn walk(hir: &Hir, at: Offsets, sets: &mut [ByteSet; ALPHABET_LOOK]) -> Offsets {
    let at = at & TRACKED;
    if at == 0 {
        return 0;
    }
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => at,
        HirKind::Literal(lit) => lit.0.iter().fold(at, |now, &b| {
            let mut one = ByteSet::default();
            one.insert(b);
            step(now, one, sets)
        }),
        HirKind::Class(Class::Bytes(class)) => {
            let mut set = ByteSet::default();
            for range in class.ranges() {
                (range.start()..=range.end()).for_each(|b| set.insert(b));
            }
            step(at, set, sets)
        }
        // A Unicode class is one to four bytes, any of them.
        HirKind::Class(Class::Unicode(_)) => {
            let lowest = at.trailing_zeros() as usize;
            sets[lowest..].iter_mut().for_each(|s| *s = ByteSet::ALL);
            (at << 1 | at << 2 | at << 3 | at << 4) & TRACKED
        }
        HirKind::Repetition(rep) => {
            if rep.max == Some(0) {
                return at;
            }
            let mut now = at;
            for _ in 0..rep.min {
                now = walk(&rep.sub, now, sets);
                if now == 0 {
                    return 0;
                }
            }
            let (mut reached, mut frontier) = (now, now);
            match rep.max.map(|max| max - rep.min) {
                // Up to a few more: each from where the last could end.
                Some(more) if more as usize <= ALPHABET_LOOK => {
                    for _ in 0..more {
                        frontier = walk(&rep.sub, frontier, sets);
                        reached |= frontier;
                    }
                }
                // Any number more: every offset reachable from here.
                _ => {
                    while frontier != 0 {
                        let next = walk(&rep.sub, frontier, sets);
                        frontier = next & !reached;
                        reached |= next;
                    }
                }
            }
            reached
        }
        HirKind::Capture(cap) => walk(&cap.sub, at, sets),
        HirKind::Concat(subs) => subs.iter().fold(at, |now, sub| walk(sub, now, sets)),
        HirKind::Alternation(subs) => subs.iter().fold(0, |ends, sub| ends | walk(sub, at, sets)),
    }
}

/// One byte of `class` at each offset of `at`; returns the offsets after it.
fn step(at: Offsets, class: ByteSet, sets: &mut [ByteSet; ALPHABET_LOOK]) -> Offsets {
    for (i, set) in sets.iter_mut().enumerate() {
        if at & (1 << i) != 0 {
            set.union(class);
        }
    }
    (at << 1) & TRACKED
}

/// The assertions every match of `hir` makes where it starts (`(?m:^)`, `\b`): a rule
/// cannot match at a place they do not hold.
pub(super) fn leading_looks(hir: &Hir) -> Vec<regex_automata::util::look::Look> {
    let mut looks = Vec::new();
    lead(hir, &mut looks);
    looks
}

/// Adds the assertions at the start of `hir`; false once past them.
fn lead(hir: &Hir, looks: &mut Vec<regex_automata::util::look::Look>) -> bool {
    match hir.kind() {
        HirKind::Look(look) => {
            looks.extend(regex_automata::util::look::Look::from_repr(look.as_repr()));
            true
        }
        HirKind::Empty => true,
        HirKind::Capture(cap) => lead(&cap.sub, looks),
        HirKind::Concat(subs) => subs.iter().all(|sub| lead(sub, looks)),
        _ => false,
    }
}

/// The bytes a match of `hir` can start with (every byte when it can match the empty
/// string).
pub(super) fn first_bytes(hir: &Hir) -> ByteSet {
    let (set, empty) = firsts(hir);
    if empty { ByteSet::ALL } else { set }
}

/// The bytes a match of `hir` can start with, and whether it can match the empty string
/// (then what follows it starts the match too). Assertions match the empty string.
pub(super) fn firsts(hir: &Hir) -> (ByteSet, bool) {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => (ByteSet::default(), true),
        HirKind::Literal(lit) => match lit.0.first() {
            Some(&b) => {
                let mut set = ByteSet::default();
                set.insert(b);
                (set, false)
            }
            None => (ByteSet::default(), true),
        },
        HirKind::Class(Class::Bytes(class)) => {
            let mut set = ByteSet::default();
            for range in class.ranges() {
                for b in range.start()..=range.end() {
                    set.insert(b);
                }
            }
            (set, false)
        }
        // Rules are ASCII (see `syntax_config`); a Unicode class allows any byte.
        HirKind::Class(Class::Unicode(_)) => (ByteSet::ALL, false),
        HirKind::Repetition(rep) => {
            let (set, empty) = firsts(&rep.sub);
            (set, empty || rep.min == 0)
        }
        HirKind::Capture(cap) => firsts(&cap.sub),
        HirKind::Concat(subs) => {
            let mut all = ByteSet::default();
            for sub in subs {
                let (set, empty) = firsts(sub);
                all.union(set);
                if !empty {
                    return (all, false);
                }
            }
            (all, true)
        }
        HirKind::Alternation(subs) => {
            let mut all = (ByteSet::default(), false);
            for sub in subs {
                let (set, empty) = firsts(sub);
                all.0.union(set);
                all.1 |= empty;
            }
            all
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex_automata::util::syntax;

    /// `pattern` parsed as the detectors parse their rules (bytes, not Unicode).
    fn parse(pattern: &str) -> Hir {
        syntax::parse_with(pattern, &syntax::Config::new().unicode(false).utf8(false)).unwrap()
    }

    /// The bytes of `set`, in order.
    fn bytes(set: ByteSet) -> Vec<u8> {
        (0..=255u8).filter(|&b| set.contains(b)).collect()
    }

    #[test]
    fn first_bytes_read_past_assertions_and_optional_parts() {
        let firsts = |pattern: &str| bytes(first_bytes(&parse(pattern)));
        // A word boundary, then an optional century: the digits.
        assert_eq!(
            firsts(r"(?-u:\b)(?:19|20)?[0-9]{6}[-+][0-9]{4}"),
            (b'0'..=b'9').collect::<Vec<u8>>()
        );
        assert_eq!(firsts(r"(?-u:\b)eyJ[A-Za-z0-9_-]{4}"), b"e".to_vec());
        assert_eq!(firsts(r"(?i)(?-u:\b)ab"), b"Aa".to_vec());
        // What can match the empty string can start anywhere.
        assert_eq!(firsts(r"(?-u:\b)x?").len(), 256);
    }

    #[test]
    fn positional_sets_hold_each_offset_s_bytes() {
        let at = |pattern: &str| {
            positional(&parse(pattern)).map(|set| String::from_utf8(bytes(set)).unwrap())
        };
        // Words of a list: only their own second letters follow.
        assert_eq!(
            at(r"(?i)(?:sqlplus|expdp) "),
            ["ESes", "QXqx", "LPlp", "DPdp"]
        );
        // An optional part: what follows it may come first.
        assert_eq!(at(r"a?bc(?-u:\b)d"), ["ab", "bc", "cd", "d"]);
        // Repetitions: every offset they reach.
        assert_eq!(
            at(r"[0-9]{2,}x"),
            ["0123456789", "0123456789", "0123456789x", "0123456789x"]
        );
        assert_eq!(at(r"(?:ab)*c"), ["ac", "b", "ac", "b"]);
        // Alternatives of different lengths.
        assert_eq!(at(r"(?:a|bb)c"), ["ab", "bc", "c", ""]);
    }

    #[test]
    fn leading_assertions_are_read_through_groups() {
        use regex_automata::util::look::Look;
        let looks = |pattern: &str| leading_looks(&parse(pattern));
        assert_eq!(looks(r"(?m:^)(?:a|b):"), [Look::StartLF]);
        assert_eq!(looks(r"((?-u:\b)x)y"), [Look::WordAscii]);
        // An assertion after the first byte, or in one alternative only, is not every match's.
        assert!(looks(r"x(?-u:\b)").is_empty());
        assert!(looks(r"(?m:^)a|b").is_empty());
    }
}
