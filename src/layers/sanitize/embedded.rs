//! Base64 inside text: runs found, decoded, their text masked and encoded again.
//!
//! Tools return files as base64 wherever their authors put them: an image's `data`, a
//! resource's `blob`, a `structuredContent` member mirroring either, a `data:` URL, a
//! field of an API answer, a MIME body wrapped at 76 columns. A run of the base64
//! alphabet (standard or URL-safe, padded or not, wrapped or not) long enough to hold a
//! secret is decoded; when the bytes are text (UTF-8, UTF-16 with or without a byte-order
//! mark, or a single-byte encoding of mostly ASCII), that text is masked like any other
//! and, if anything was masked, encoded again in the same alphabet, padding, wrapping and
//! text encoding. Bytes that are not text are left as they are and, when long enough to be
//! a payload rather than a hash or an identifier, counted as uninspected.
//!
//! Finding runs costs one look per `MIN_RUN` bytes of prose (a run shorter than that
//! cannot span the byte looked at), and every byte of a run is decoded at most once per
//! level of nesting: linear in the text.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// The shortest run decoded: 16 characters hold 12 bytes, enough for a short key or an
/// assignment of one.
pub(super) const MIN_RUN: usize = 16;

/// Decoded bytes that are not text, from this length on, count as an uninspected payload;
/// shorter ones are hashes, identifiers and signatures.
pub(super) const PAYLOAD_BYTES: usize = 65;

/// How deep base64 inside base64 is followed.
pub(super) const MAX_DEPTH: u8 = 3;

/// The counts entry of payloads that decode to bytes that are not text: passed on, not
/// inspected.
pub const UNINSPECTED: &str = "uninspected_binary";

fn is_b64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_')
}

/// A run of base64 in a text, possibly wrapped over several lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Run {
    /// Where the run starts in the text.
    pub start: usize,
    /// Where it ends (after its padding).
    pub end: usize,
    /// Line length and line break when wrapped.
    wrap: Option<(usize, &'static str)>,
}

/// The runs of `text`, in order, none overlapping.
pub(super) fn runs(text: &str) -> Vec<Run> {
    let b = text.as_bytes();
    let mut found = Vec::new();
    // Invariant: `i` is 0 or `b[i - 1]` is not in the alphabet.
    let mut i = 0;
    while i + MIN_RUN <= b.len() {
        let probe = i + MIN_RUN - 1;
        if !is_b64(b[probe]) {
            i = probe + 1;
            continue;
        }
        let mut start = probe;
        while start > i && is_b64(b[start - 1]) {
            start -= 1;
        }
        let mut end = probe + 1;
        while end < b.len() && is_b64(b[end]) {
            end += 1;
        }
        if end - start < MIN_RUN {
            i = end + 1;
            continue;
        }
        let (run_end, wrap) = extend(b, start, end);
        found.push(Run {
            start,
            end: run_end,
            wrap,
        });
        i = run_end + 1;
    }
    found
}

/// The end of a run starting at `start` whose first line ends at `end`: its padding, and
/// the lines that follow when it is wrapped (full lines of the first line's length, the
/// last one shorter).
fn extend(b: &[u8], start: usize, end: usize) -> (usize, Option<(usize, &'static str)>) {
    let padded = |mut at: usize| {
        let mut n = 0;
        while n < 2 && b.get(at) == Some(&b'=') {
            at += 1;
            n += 1;
        }
        (at, n > 0)
    };
    let line = end - start;
    let (after, padding) = padded(end);
    if padding || !line.is_multiple_of(4) || line < 40 {
        return (after, None);
    }
    let mut at = end;
    let mut wrap = None;
    loop {
        let newline: &'static str = match &b[at..] {
            [b'\r', b'\n', ..] => "\r\n",
            [b'\n', ..] => "\n",
            _ => break,
        };
        if wrap.is_some_and(|(_, nl)| nl != newline) {
            break;
        }
        let next = at + newline.len();
        let mut next_end = next;
        while next_end < b.len() && is_b64(b[next_end]) {
            next_end += 1;
        }
        if next_end == next || next_end - next > line {
            break;
        }
        wrap = Some((line, newline));
        let (after, padding) = padded(next_end);
        at = after;
        if next_end - next < line || padding {
            break;
        }
    }
    match wrap {
        Some(_) => (at, wrap),
        None => (after, None),
    }
}

/// How decoded bytes held their text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TextEncoding {
    Utf8 { bom: bool },
    Utf16 { little: bool, bom: bool },
    Latin1,
}

/// What a run decodes to.
#[derive(Debug)]
pub(super) enum Decoded {
    /// Text, to mask.
    Text {
        text: String,
        encoding: TextEncoding,
        /// The alphabet and padding to encode it in again.
        form: Form,
    },
    /// Bytes that are not text, this many.
    Binary(usize),
    /// Not base64 (a word, a path, a run of the wrong length).
    Not,
}

const fn engine(alphabet: &alphabet::Alphabet, pad: bool) -> GeneralPurpose {
    GeneralPurpose::new(
        alphabet,
        GeneralPurposeConfig::new()
            .with_encode_padding(pad)
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    )
}

const STANDARD: GeneralPurpose = engine(&alphabet::STANDARD, true);
const STANDARD_NO_PAD: GeneralPurpose = engine(&alphabet::STANDARD, false);
const URL_SAFE: GeneralPurpose = engine(&alphabet::URL_SAFE, true);
const URL_SAFE_NO_PAD: GeneralPurpose = engine(&alphabet::URL_SAFE, false);

/// A run's alphabet and padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Form {
    url_safe: bool,
    padded: bool,
}

impl Form {
    fn engine(self) -> &'static GeneralPurpose {
        match (self.url_safe, self.padded) {
            (false, true) => &STANDARD,
            (false, false) => &STANDARD_NO_PAD,
            (true, true) => &URL_SAFE,
            (true, false) => &URL_SAFE_NO_PAD,
        }
    }
}

/// Decodes one run of `text`.
pub(super) fn decode(text: &str, run: &Run) -> Decoded {
    let raw = &text[run.start..run.end];
    let joined;
    let body = match run.wrap {
        Some((_, newline)) => {
            joined = raw.replace(newline, "");
            joined.as_str()
        }
        None => raw,
    };
    let standard = body.bytes().any(|c| matches!(c, b'+' | b'/'));
    let url_safe = body.bytes().any(|c| matches!(c, b'-' | b'_'));
    // A body whose length is a multiple of four needs no padding: it is encoded again
    // padded, as most encoders write.
    let padded = body.ends_with('=') || body.len() % 4 == 0;
    if standard && url_safe {
        return Decoded::Not;
    }
    let form = Form { url_safe, padded };
    let Ok(bytes) = form.engine().decode(body) else {
        return Decoded::Not;
    };
    match as_text(&bytes) {
        Some((text, encoding)) => Decoded::Text {
            text,
            encoding,
            form,
        },
        // Encoded bytes of any length worth counting use all three classes of the
        // alphabet; a run of one letter (`xxxx…`) is filler, not a payload.
        None if [
            u8::is_ascii_uppercase,
            u8::is_ascii_lowercase,
            u8::is_ascii_digit,
        ]
        .iter()
        .all(|class| body.bytes().any(|c| class(&c))) =>
        {
            Decoded::Binary(bytes.len())
        }
        None => Decoded::Not,
    }
}

/// A run with both `+`/`/` and `-`/`_` is no one alphabet: its parts between `-` and `_`
/// are tried as standard base64 (identifiers join words with those).
pub(super) fn parts(text: &str, run: &Run) -> Vec<Run> {
    if run.wrap.is_some() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut start = run.start;
    let separators = text[run.start..run.end]
        .match_indices(['-', '_'])
        .map(|(i, _)| run.start + i);
    for at in separators.chain([run.end]) {
        if at - start >= MIN_RUN {
            out.push(Run {
                start,
                end: at,
                wrap: None,
            });
        }
        start = at + 1;
    }
    out
}

/// Whether a run mixes the two alphabets.
pub(super) fn mixed(text: &str, run: &Run) -> bool {
    let raw = &text.as_bytes()[run.start..run.end];
    raw.iter().any(|c| matches!(c, b'+' | b'/')) && raw.iter().any(|c| matches!(c, b'-' | b'_'))
}

/// `text`, masked, as the run it was decoded from.
pub(super) fn encode(text: &str, encoding: TextEncoding, form: Form, run: &Run) -> String {
    let bytes: Vec<u8> = match encoding {
        TextEncoding::Utf8 { bom } => {
            let mut out = Vec::with_capacity(text.len() + 3);
            if bom {
                out.extend_from_slice(b"\xEF\xBB\xBF");
            }
            out.extend_from_slice(text.as_bytes());
            out
        }
        TextEncoding::Utf16 { little, bom } => {
            let mut out = Vec::with_capacity(text.len() * 2 + 2);
            let units = bom
                .then_some(0xFEFF_u16)
                .into_iter()
                .chain(text.encode_utf16());
            for unit in units {
                out.extend_from_slice(&if little {
                    unit.to_le_bytes()
                } else {
                    unit.to_be_bytes()
                });
            }
            out
        }
        // Masks are ASCII; every other character came from a byte.
        TextEncoding::Latin1 => text
            .chars()
            .map(|c| u8::try_from(c).unwrap_or(b'?'))
            .collect(),
    };
    let encoded = form.engine().encode(bytes);
    match run.wrap {
        Some((line, newline)) => {
            let mut out = String::with_capacity(encoded.len() + encoded.len() / line * 2);
            for (n, chunk) in encoded.as_bytes().chunks(line).enumerate() {
                if n > 0 {
                    out.push_str(newline);
                }
                out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
            }
            out
        }
        None => encoded,
    }
}

/// The text `bytes` hold, and how, or `None` when they are not text.
fn as_text(bytes: &[u8]) -> Option<(String, TextEncoding)> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        let text = std::str::from_utf8(rest).ok()?;
        return textual(text).then(|| (text.to_owned(), TextEncoding::Utf8 { bom: true }));
    }
    match bytes {
        [0xFF, 0xFE, rest @ ..] => return utf16(rest, true, true),
        [0xFE, 0xFF, rest @ ..] => return utf16(rest, false, true),
        _ => {}
    }
    // (UTF-16 of ASCII is valid UTF-8 too, but full of zeros: not textual.)
    if let Ok(text) = std::str::from_utf8(bytes)
        && textual(text)
    {
        return Some((text.to_owned(), TextEncoding::Utf8 { bom: false }));
    }
    // UTF-16 without a mark: ASCII text has a zero in every other byte.
    if bytes.len().is_multiple_of(2) && bytes.len() >= 8 {
        let zeros = |parity: usize| bytes.iter().skip(parity).step_by(2).filter(|&&b| b == 0);
        let half = bytes.len() / 2;
        if zeros(1).count() * 10 >= half * 9 {
            return utf16(bytes, true, false);
        }
        if zeros(0).count() * 10 >= half * 9 {
            return utf16(bytes, false, false);
        }
    }
    // A single-byte encoding (Latin-1, Windows-1252): mostly printable ASCII, no zero
    // (random bytes are about 40% printable ASCII).
    let ascii = bytes
        .iter()
        .filter(|&&b| b.is_ascii_graphic() || matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .count();
    if !bytes.contains(&0) && ascii * 100 >= bytes.len() * 85 {
        let text: String = bytes.iter().map(|&b| char::from(b)).collect();
        return Some((text, TextEncoding::Latin1));
    }
    None
}

fn utf16(bytes: &[u8], little: bool, bom: bool) -> Option<(String, TextEncoding)> {
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let units = bytes.chunks_exact(2).map(|p| {
        let pair = [p[0], p[1]];
        if little {
            u16::from_le_bytes(pair)
        } else {
            u16::from_be_bytes(pair)
        }
    });
    let text: String = char::decode_utf16(units).collect::<Result<_, _>>().ok()?;
    textual(&text).then_some((text, TextEncoding::Utf16 { little, bom }))
}

/// Whether decoded characters read as text: almost no control characters but white space.
fn textual(text: &str) -> bool {
    let (mut chars, mut control) = (0usize, 0usize);
    for c in text.chars() {
        chars += 1;
        if c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c') {
            control += 1;
        }
    }
    chars > 0 && control * 50 <= chars
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(text: &str) -> Vec<&str> {
        runs(text).iter().map(|r| &text[r.start..r.end]).collect()
    }

    #[test]
    fn finds_runs_between_separators_with_their_padding() {
        assert_eq!(
            spans("data:text/plain;base64,SGVsbG8sIHdvcmxkIQ== and short abc"),
            ["SGVsbG8sIHdvcmxkIQ=="]
        );
        assert_eq!(spans("a b c"), Vec::<&str>::new());
        let text = "x".repeat(15) + " " + &"y".repeat(16);
        assert_eq!(spans(&text), ["y".repeat(16)]);
        assert_eq!(spans(&"z".repeat(40)), ["z".repeat(40)]);
    }

    #[test]
    fn follows_wrapped_lines() {
        let body = STANDARD.encode("PASSWORD=correct-horse-battery-staple\n".repeat(5));
        let wrapped: Vec<&str> = body
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let text = format!("begin\r\n{}\r\nend", wrapped.join("\r\n"));
        let found = runs(&text);
        assert_eq!(found.len(), 1);
        assert_eq!(&text[found[0].start..found[0].end], wrapped.join("\r\n"));
        let Decoded::Text { text: plain, .. } = decode(&text, &found[0]) else {
            panic!("not text");
        };
        assert!(plain.starts_with("PASSWORD=correct"));
    }

    #[test]
    fn tells_text_encodings_from_binary() {
        let cases: [(&[u8], Option<TextEncoding>); 6] = [
            (
                b"KEY=value of some length",
                Some(TextEncoding::Utf8 { bom: false }),
            ),
            (
                b"\xEF\xBB\xBFKEY=value",
                Some(TextEncoding::Utf8 { bom: true }),
            ),
            (
                b"\xFF\xFEK\0E\0Y\0=\0v\0",
                Some(TextEncoding::Utf16 {
                    little: true,
                    bom: true,
                }),
            ),
            (
                b"K\0E\0Y\0=\0v\0a\0l\0u\0",
                Some(TextEncoding::Utf16 {
                    little: true,
                    bom: false,
                }),
            ),
            (
                b"caf\xE9 au lait, s'il vous pla\xEEt",
                Some(TextEncoding::Latin1),
            ),
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x01\0", None),
        ];
        for (bytes, want) in cases {
            assert_eq!(as_text(bytes).map(|(_, e)| e), want, "{bytes:?}");
        }
    }

    #[test]
    fn encodes_back_in_the_same_form() {
        let form = |url_safe, padded| Form { url_safe, padded };
        for (form, encoding, plain) in [
            (
                form(false, true),
                TextEncoding::Utf8 { bom: false },
                "token=[REDACTED:SECRET] ??>",
            ),
            (
                form(true, false),
                TextEncoding::Utf16 {
                    little: false,
                    bom: true,
                },
                "token=[REDACTED:SECRET] ??>",
            ),
            (
                form(false, false),
                TextEncoding::Latin1,
                "café token=[REDACTED:SECRET] and more",
            ),
        ] {
            let run = Run {
                start: 0,
                end: 0,
                wrap: None,
            };
            let encoded = encode(plain, encoding, form, &run);
            let text = encoded.clone();
            let run = Run {
                start: 0,
                end: text.len(),
                wrap: None,
            };
            match decode(&text, &run) {
                Decoded::Text {
                    text, encoding: e, ..
                } => {
                    assert_eq!(text, plain);
                    assert_eq!(e, encoding);
                }
                other => panic!("{other:?}"),
            }
        }
    }
}
