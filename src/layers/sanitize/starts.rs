//! What a rule's matches start with and are made of, read from its parsed pattern: the
//! rare literals a literal-led rule is found by, the bytes a match can start with, and the
//! bytes it can hold. The automata (`automata.rs`) use them to choose a rule's group and
//! to rule rules out where a match cannot start.

use regex_syntax::hir::literal::Extractor;
use regex_syntax::hir::{Class, Hir, HirKind};

/// How many bytes of each literal the first group is searched by.
pub(super) const PREFIX_KEEP: usize = 4;

/// A set of bytes.
#[derive(Debug, Clone, Copy, Default)]
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
    literals.iter().all(|l| selective(l)).then_some(literals)
}

/// `hir` with every ASCII letter lowercase: what it matches, in any case, the result
/// matches ignoring case.
pub(super) fn lowercase(hir: &Hir) -> Hir {
    use regex_syntax::hir::{Capture, Class, ClassBytes, ClassBytesRange, HirKind, Repetition};
    match hir.kind() {
        HirKind::Literal(literal) => Hir::literal(literal.0.to_ascii_lowercase()),
        HirKind::Class(Class::Bytes(class)) => {
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

/// Adds to `set` every byte a match of `hir` can hold.
pub(super) fn made_of(hir: &Hir, set: &mut ByteSet) {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(lit) => lit.0.iter().for_each(|&b| set.insert(b)),
        HirKind::Class(Class::Bytes(class)) => {
            for range in class.ranges() {
                (range.start()..=range.end()).for_each(|b| set.insert(b));
            }
        }
        HirKind::Class(Class::Unicode(_)) => set.union(ByteSet::ALL),
        HirKind::Repetition(rep) => made_of(&rep.sub, set),
        HirKind::Capture(cap) => made_of(&cap.sub, set),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => {
            subs.iter().for_each(|sub| made_of(sub, set));
        }
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

    #[test]
    fn first_bytes_read_past_assertions_and_optional_parts() {
        let firsts = |pattern: &str| {
            let hir =
                syntax::parse_with(pattern, &syntax::Config::new().unicode(false).utf8(false))
                    .unwrap();
            let set = first_bytes(&hir);
            (0..=255u8)
                .filter(|&b| set.contains(b))
                .collect::<Vec<u8>>()
        };
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
}
