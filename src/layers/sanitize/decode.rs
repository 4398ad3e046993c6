//! Escapes decoded before matching: `\uXXXX` (surrogate pairs included), `\n`, `\r`, `\t`,
//! `\/` and `%XX` (to printable ASCII). A secret written as `alice\u0040example.com`,
//! `alice%40example.com` or a PEM block inside a JSON string is then found like any other;
//! each finding's span is mapped back onto the original text, whole escapes included.
//!
//! `\"`, `\\`, `\u0022`, `\u005c`, `%22` and `%5C` stay as they are: they delimit quoted
//! values, and decoding them would end a value early.

/// Text with its escapes decoded, and where each decoded byte came from.
pub(super) struct Decoded {
    /// The decoded text.
    pub text: String,
    /// Where each stretch of `text` starts, in order, and the last one at its end: a few
    /// entries per escape rather than one per byte.
    marks: Vec<Mark>,
}

/// The start of a stretch of decoded text.
#[derive(Debug, Clone, Copy)]
struct Mark {
    /// Its offset in the decoded text.
    decoded: u32,
    /// Its offset in the original.
    raw: u32,
    /// An escape's character: every byte of it comes from the escape's start. Otherwise
    /// a copy: the stretch follows the original byte for byte.
    escape: bool,
}

impl Decoded {
    /// The original offset of decoded offset `i`.
    pub(super) fn raw(&self, i: usize) -> usize {
        let at = self.marks.partition_point(|m| m.decoded as usize <= i) - 1;
        let m = self.marks[at];
        if m.escape {
            m.raw as usize
        } else {
            m.raw as usize + (i - m.decoded as usize)
        }
    }
}

fn hex(b: u8) -> Option<u32> {
    (b as char).to_digit(16)
}

fn hex4(b: &[u8]) -> Option<u32> {
    if b.len() < 4 {
        return None;
    }
    b[..4]
        .iter()
        .try_fold(0u32, |acc, &c| Some(acc * 16 + hex(c)?))
}

/// The escape at `i` (a `\` or `%`): the character it stands for and its length.
fn escape_at(b: &[u8], i: usize) -> Option<(char, usize)> {
    match b[i] {
        b'\\' => match *b.get(i + 1)? {
            b'n' => Some(('\n', 2)),
            b'r' => Some(('\r', 2)),
            b't' => Some(('\t', 2)),
            b'/' => Some(('/', 2)),
            b'u' => {
                let hi = hex4(&b[i + 2..])?;
                if (0xD800..0xDC00).contains(&hi) {
                    if b.get(i + 6) != Some(&b'\\') || b.get(i + 7) != Some(&b'u') {
                        return None;
                    }
                    let lo = hex4(&b[i + 8..])?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return None;
                    }
                    let c = char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?;
                    return Some((c, 12));
                }
                let c = char::from_u32(hi)?;
                (!matches!(c, '"' | '\\') && (c >= ' ' || matches!(c, '\n' | '\r' | '\t')))
                    .then_some((c, 6))
            }
            _ => None,
        },
        b'%' => {
            let v = hex(*b.get(i + 1)?)? * 16 + hex(*b.get(i + 2)?)?;
            let c = char::from_u32(v)?;
            ((c.is_ascii_graphic() && !matches!(c, '"' | '\\'))
                || matches!(c, ' ' | '\n' | '\r' | '\t'))
            .then_some((c, 3))
        }
        _ => None,
    }
}

/// `None` when `text` holds no escape to decode (the common case, found without copying).
pub(super) fn decode(text: &str) -> Option<Decoded> {
    let b = text.as_bytes();
    let mut first = None;
    let mut skip_to = 0;
    for i in memchr::memchr2_iter(b'\\', b'%', b) {
        if i < skip_to {
            continue;
        }
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'\\') {
            skip_to = i + 2; // an escaped backslash, not the start of an escape
            continue;
        }
        if escape_at(b, i).is_some() {
            first = Some(i);
            break;
        }
    }
    let first = first?;
    let mut out = String::with_capacity(text.len());
    let mut marks = vec![Mark {
        decoded: 0,
        raw: 0,
        escape: false,
    }];
    out.push_str(&text[..first]);
    let mut i = first;
    while i < b.len() {
        let c = b[i];
        if c == b'\\' && b.get(i + 1) == Some(&b'\\') {
            out.push_str("\\\\");
            i += 2;
            continue;
        }
        if matches!(c, b'\\' | b'%')
            && let Some((ch, len)) = escape_at(b, i)
        {
            let mut buf = [0u8; 4];
            marks.push(Mark {
                decoded: out.len() as u32,
                raw: i as u32,
                escape: true,
            });
            out.push_str(ch.encode_utf8(&mut buf));
            i += len;
            marks.push(Mark {
                decoded: out.len() as u32,
                raw: i as u32,
                escape: false,
            });
            continue;
        }
        // Copy up to the next possible escape.
        let next = memchr::memchr2(b'\\', b'%', &b[i + 1..]).map_or(b.len(), |j| i + 1 + j);
        out.push_str(&text[i..next]);
        i = next;
    }
    Some(Decoded { text: out, marks })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_maps_back() {
        let raw = r"mail alice\u0040example.com or bob%40example.org\nnext";
        let d = decode(raw).unwrap();
        assert_eq!(d.text, "mail alice@example.com or bob@example.org\nnext");
        let at = d.text.find('@').unwrap();
        assert_eq!(&raw[d.raw(at)..d.raw(at + 1)], r"\u0040");
        assert_eq!(d.raw(d.text.len()), raw.len());
        assert!(decode("plain text, 50% done").is_none());
        assert!(decode(r#"a \"quoted\" \\n value"#).is_none());
        assert_eq!(decode(r"\ud83d\ude00!").unwrap().text, "😀!");
        // Every byte of an escape's character maps to the escape; what follows, byte
        // for byte after it; the end to the end.
        let raw = r"a\ud83d\ude00b%41\\n\n";
        let d = decode(raw).unwrap();
        assert_eq!(d.text, "a😀bA\\\\n\n");
        assert_eq!(
            (d.raw(0), d.raw(1), d.raw(4), d.raw(5), d.raw(6)),
            (0, 1, 1, 13, 14)
        );
        assert_eq!((d.raw(7), d.raw(9), d.raw(10), d.raw(11)), (17, 19, 20, 22));
    }
}
