//! One audit record: what the caller's path captures, and the line the writer makes of it.
//!
//! A line is a JSON object whose last field is `"hash"`: the hex SHA-256 (or HMAC-SHA256)
//! of the line as it would read without that field (`…,"alg":"sha256"}`). The body holds
//! `prev`, the previous record's hash, so every record seals the one before it, and `seq`,
//! which counts up by one across rotated files.

use std::borrow::Cow;
use std::fmt::Write as _;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::Outcome;
use super::wire::{EventRef, OutcomeRef, OutputRef, depth_limit};
use crate::layers::sanitize::{Counts, Sanitizer, add_count};

/// The record format version (`"v"`).
pub const FORMAT_VERSION: u32 = 1;
/// `prev` of the very first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// `alg` of an unkeyed chain.
pub const ALG_SHA256: &str = "sha256";
/// `alg` of a keyed chain.
pub const ALG_HMAC: &str = "hmac-sha256";
/// The suffix before the hash: `,"hash":"`.
const HASH_FIELD: &str = ",\"hash\":\"";
/// Longest id, agent, session or tool name recorded, in characters.
const MAX_LABEL_CHARS: usize = 256;
/// Longest message or error recorded, in characters.
const MAX_MESSAGE_CHARS: usize = 1024;

/// Where the tool ran, as the record shows it.
#[derive(Debug, Serialize)]
struct SandboxLine<'a> {
    /// The backend, or none when the call ran in-process instead.
    backend: Option<&'a str>,
    /// The sandbox's outcome, or `unsandboxed`.
    outcome: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<Cow<'a, str>>,
}

/// The chain's hash function: SHA-256, or HMAC-SHA256 under a key.
#[derive(Clone)]
pub(crate) struct Chain {
    key: Option<Vec<u8>>,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.alg())
    }
}

impl Chain {
    pub(super) fn new(key: Option<Vec<u8>>) -> Self {
        Self { key }
    }

    pub(super) fn alg(&self) -> &'static str {
        if self.key.is_some() {
            ALG_HMAC
        } else {
            ALG_SHA256
        }
    }

    /// The hex digest of `body`.
    pub(super) fn digest(&self, body: &[u8]) -> String {
        let bytes: [u8; 32] = match &self.key {
            None => Sha256::digest(body).into(),
            Some(key) => {
                let mut mac =
                    Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts a key of any length");
                mac.update(body);
                mac.finalize().into_bytes().into()
            }
        };
        hex(&bytes)
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// The line as written, fields in a fixed order.
#[derive(Serialize)]
struct Line<'a> {
    v: u32,
    seq: u64,
    ts: &'a str,
    id: &'a str,
    agent: Option<&'a str>,
    verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<&'a str>,
    tool: &'a str,
    arguments: &'a RawValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    arguments_omitted: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Counts::is_empty")]
    arguments_redacted: Counts,
    decision: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    layer: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    duration_us: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<OutputLine>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    stripped: Vec<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sandbox: Option<SandboxLine<'a>>,
    prev: &'a str,
    alg: &'static str,
}

#[derive(Serialize)]
struct OutputLine {
    bytes: u64,
    #[serde(skip_serializing_if = "Counts::is_empty")]
    redacted: Counts,
    #[serde(skip_serializing_if = "Option::is_none")]
    truncated: Option<Truncated>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<Value>,
}

#[derive(Serialize)]
struct Truncated {
    original_chars: u64,
    kept_chars: u64,
}

/// Most labels (tool names, agents, sessions) remembered with their masked form.
const LABEL_CACHE: usize = 1024;

/// Turns events into chained lines. Owned by the writer thread.
#[derive(Debug)]
pub(crate) struct Encoder {
    pub sanitizer: std::sync::Arc<Sanitizer>,
    pub chain: Chain,
    pub max_output_chars: usize,
    /// The last record's seq and hash.
    pub seq: u64,
    pub prev: String,
    /// Tool, agent and session names repeat from call to call: their masked, escaped form
    /// is kept here rather than computed for every record.
    pub labels: std::collections::HashMap<Box<str>, Box<str>>,
}

/// A record line's fields that the writer and `verify` read back.
#[derive(Debug, Deserialize)]
pub(crate) struct Header {
    pub v: u32,
    pub seq: u64,
    pub ts: String,
    pub prev: String,
    pub alg: String,
}

/// `text` masked, with control and bidi characters escaped, cut to `max` characters;
/// borrowed when there is nothing to change.
fn shown<'t>(sanitizer: &Sanitizer, text: &'t str, max: usize) -> Cow<'t, str> {
    match sanitizer.sanitize_text(text, &mut Counts::new()) {
        Cow::Borrowed(clean) => crate::preview::display_text(clean, max),
        Cow::Owned(masked) => Cow::Owned(crate::preview::display_text(&masked, max).into_owned()),
    }
}

impl Encoder {
    /// A writer's encoder continuing the chain after `seq` / `prev`.
    pub(super) fn new(
        sanitizer: std::sync::Arc<Sanitizer>,
        chain: Chain,
        max_output_chars: usize,
        seq: u64,
        prev: String,
    ) -> Self {
        Self {
            sanitizer,
            chain,
            max_output_chars,
            seq,
            prev,
            labels: std::collections::HashMap::new(),
        }
    }

    /// Remembers the shown form of a short, repeating label.
    fn remember(&mut self, text: Option<&str>) {
        let Some(text) = text.filter(|t| t.len() <= MAX_LABEL_CHARS) else {
            return;
        };
        if self.labels.contains_key(text) {
            return;
        }
        if self.labels.len() >= LABEL_CACHE {
            self.labels.clear();
        }
        let value = shown(&self.sanitizer, text, MAX_LABEL_CHARS).into();
        self.labels.insert(text.into(), value);
    }

    /// Appends a record saying that a record could not be read back, so the gap shows in
    /// the chain.
    pub(super) fn encode_unreadable(&mut self, out: &mut Vec<u8>) {
        let event = EventRef {
            ts: jiff::Timestamp::now(),
            duration_us: 0,
            verified: false,
            id: "",
            tool: "",
            session: None,
            arguments: Err("not recorded: the record could not be read back"),
            agent: None,
            outcome: OutcomeRef::Error("the audit record could not be read back (a bug)"),
        };
        self.encode(event, out);
    }

    /// Appends `event` as one `\n`-terminated line to `out`, advancing the chain.
    pub(super) fn encode(&mut self, event: EventRef<'_>, out: &mut Vec<u8>) {
        self.remember(Some(event.tool));
        self.remember(event.agent);
        self.remember(event.session);
        let s = &*self.sanitizer;
        let cache = &self.labels;
        let label = |text| label(cache, s, text);
        let long_text = |text| shown(s, text, MAX_MESSAGE_CHARS);

        let mut arguments_redacted = Counts::new();
        let (arguments, arguments_omitted) = match event.arguments {
            Ok(json) => match mask_arguments(s, json, &mut arguments_redacted) {
                Ok(masked) => (masked, None),
                Err(e) => (
                    Cow::Borrowed("null"),
                    Some(Cow::Owned(format!("not recorded: {e}"))),
                ),
            },
            Err(why) => (Cow::Borrowed("null"), Some(long_text(why))),
        };
        let arguments: &RawValue = match serde_json::from_str(&arguments) {
            Ok(raw) => raw,
            Err(_) => NULL_RAW.get_or_init(null_raw),
        };

        let mut sandbox = None;
        let (decision, code, layer, message, output, stripped) = match event.outcome {
            OutcomeRef::Cancelled => (Outcome::Cancelled, None, None, None, None, Vec::new()),
            OutcomeRef::Error(e) => (
                Outcome::Error,
                None,
                None,
                Some(long_text(e)),
                None,
                Vec::new(),
            ),
            OutcomeRef::Response(r) => {
                let content = r.output.map(|o| {
                    let mut counts = Counts::new();
                    let mut value = match o {
                        OutputRef::Json(json) => match serde_json::from_str::<Value>(json) {
                            Ok(v) if !too_deep(&v) => v,
                            _ => Value::String(json.to_owned()),
                        },
                        OutputRef::Text(text) => Value::String(text.to_owned()),
                    };
                    s.sanitize_json(&mut value, &mut counts);
                    if crate::limits::json_longer_than(&value, self.max_output_chars) {
                        let text = match &value {
                            Value::String(t) => t.clone(),
                            other => other.to_string(),
                        };
                        let cut: String = text.chars().take(self.max_output_chars).collect();
                        value = Value::String(cut);
                    }
                    value
                });
                let mut redacted = Counts::new();
                for (kind, n) in r.redacted {
                    add_count(
                        &mut redacted,
                        kind,
                        usize::try_from(n).unwrap_or(usize::MAX),
                    );
                }
                let output = OutputLine {
                    bytes: r.output_bytes,
                    redacted,
                    truncated: r.truncated.map(|(original_chars, kept_chars)| Truncated {
                        original_chars,
                        kept_chars,
                    }),
                    content,
                };
                let stripped = r.stripped.iter().map(|a| label(a)).collect();
                sandbox = r.sandbox.map(|line| SandboxLine {
                    backend: line.backend,
                    outcome: line.outcome,
                    reason: line.reason.map(long_text),
                });
                (
                    r.decision,
                    r.code,
                    r.layer,
                    r.message.map(long_text),
                    Some(output),
                    stripped,
                )
            }
        };

        let id = label(event.id);
        let agent = event.agent.map(label);
        let session = event.session.map(label);
        let tool = label(event.tool);
        let layer = layer.map(label);
        let seq = self.seq + 1;
        let mut ts = TsText::new();
        let _ = write!(ts, "{}", event.ts);
        let line = Line {
            v: FORMAT_VERSION,
            seq,
            ts: ts.as_str(),
            id: &id,
            agent: agent.as_deref(),
            verified: event.verified,
            session: session.as_deref(),
            tool: &tool,
            arguments,
            arguments_omitted,
            arguments_redacted,
            decision,
            code,
            layer: layer.as_deref(),
            message: message.as_deref(),
            duration_us: event.duration_us,
            output,
            stripped,
            sandbox,
            prev: &self.prev,
            alg: self.chain.alg(),
        };
        let start = out.len();
        let mut serializer = serde_json::Serializer::with_formatter(&mut *out, LineFormatter);
        line.serialize(&mut serializer).expect("records serialize");
        let hash = self.chain.digest(&out[start..]);
        out.pop(); // the closing brace
        out.extend_from_slice(HASH_FIELD.as_bytes());
        out.extend_from_slice(hash.as_bytes());
        out.extend_from_slice(b"\"}\n");
        self.seq = seq;
        self.prev = hash;
    }
}

/// Compact JSON that also escapes U+2028 and U+2029: JSON allows them raw in strings, but
/// Unicode-aware line readers (Python's `splitlines`, JavaScript) end a line at them, which
/// would split one record into two. Raw fragments (the masked arguments) are escaped too.
struct LineFormatter;

impl LineFormatter {
    fn write_escaped<W: ?Sized + std::io::Write>(
        writer: &mut W,
        text: &str,
    ) -> std::io::Result<()> {
        let mut rest = text;
        // Both separators are E2 80 A8/A9 in UTF-8; most text has no 0xE2 byte at all.
        while let Some(i) = memchr::memchr(0xE2, rest.as_bytes()) {
            let tail = &rest[i..];
            let escape = if tail.starts_with('\u{2028}') {
                "\\u2028"
            } else if tail.starts_with('\u{2029}') {
                "\\u2029"
            } else {
                let next = i + tail.chars().next().map_or(1, char::len_utf8);
                writer.write_all(&rest.as_bytes()[..next])?;
                rest = &rest[next..];
                continue;
            };
            writer.write_all(&rest.as_bytes()[..i])?;
            writer.write_all(escape.as_bytes())?;
            rest = &rest[i + 3..];
        }
        writer.write_all(rest.as_bytes())
    }
}

impl serde_json::ser::Formatter for LineFormatter {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        Self::write_escaped(writer, fragment)
    }

    fn write_raw_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        Self::write_escaped(writer, fragment)
    }
}

/// A label's shown form, from the cache when it is there.
fn label<'a>(
    cache: &'a std::collections::HashMap<Box<str>, Box<str>>,
    sanitizer: &Sanitizer,
    text: &'a str,
) -> Cow<'a, str> {
    match cache.get(text) {
        Some(shown) => Cow::Borrowed(shown),
        None => shown(sanitizer, text, MAX_LABEL_CHARS),
    }
}

/// An RFC 3339 timestamp, formatted on the stack.
struct TsText {
    buf: [u8; 40],
    len: usize,
}

impl TsText {
    fn new() -> Self {
        Self {
            buf: [0; 40],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl std::fmt::Write for TsText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// The arguments masked, as compact JSON text: masked where they stand (no tree is built,
/// which measured about a third faster than parse, mask and serialize), parsed only when
/// the text pass cannot follow them.
fn mask_arguments<'a>(
    sanitizer: &Sanitizer,
    json: &'a str,
    counts: &mut Counts,
) -> Result<Cow<'a, str>, serde_json::Error> {
    if let Some(masked) = sanitizer.sanitize_json_text(json, counts) {
        return Ok(masked);
    }
    counts.clear();
    let mut value: Value = serde_json::from_str(json)?;
    sanitizer.sanitize_json(&mut value, counts);
    Ok(Cow::Owned(value.to_string()))
}

static NULL_RAW: std::sync::OnceLock<Box<RawValue>> = std::sync::OnceLock::new();

fn null_raw() -> Box<RawValue> {
    RawValue::from_string("null".to_owned()).expect("null is JSON")
}

fn too_deep(value: &Value) -> bool {
    depth_limit().measure(value).is_err()
}

/// Why a line is not a valid record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LineError {
    /// Not a record at all (not JSON, no hash field, wrong version).
    Malformed(String),
    /// The stored hash does not match the line.
    HashMismatch,
}

/// Checks `line` (without its newline) against `chain`; returns its header and hash.
pub(crate) fn check_line(line: &[u8], chain: &Chain) -> Result<(Header, String), LineError> {
    let (body, hash) = split_line(line)?;
    let header: Header = serde_json::from_slice(&body)
        .map_err(|e| LineError::Malformed(format!("not a JSON record: {e}")))?;
    if header.v != FORMAT_VERSION {
        return Err(LineError::Malformed(format!(
            "format version {} is not {FORMAT_VERSION}",
            header.v
        )));
    }
    if header.alg != chain.alg() {
        return Err(LineError::Malformed(format!(
            "the record is hashed with {}, the check uses {} ({})",
            header.alg,
            chain.alg(),
            if chain.key.is_some() {
                "a key was given"
            } else {
                "give the HMAC key"
            }
        )));
    }
    if chain.digest(&body) != hash {
        return Err(LineError::HashMismatch);
    }
    Ok((header, hash))
}

/// Splits a line into the body it was hashed as and the stored hash.
fn split_line(line: &[u8]) -> Result<(Vec<u8>, String), LineError> {
    let malformed = || LineError::Malformed("no hash at the end of the line".into());
    // …,"hash":"<64 hex>"}
    let tail = HASH_FIELD.len() + 64 + 2;
    if line.len() < tail + 2 || !line.ends_with(b"\"}") {
        return Err(malformed());
    }
    let at = line.len() - tail;
    if &line[at..at + HASH_FIELD.len()] != HASH_FIELD.as_bytes() {
        return Err(malformed());
    }
    let hash = &line[at + HASH_FIELD.len()..line.len() - 2];
    if !hash.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(malformed());
    }
    let mut body = line[..at].to_vec();
    body.push(b'}');
    Ok((body, String::from_utf8_lossy(hash).into_owned()))
}

/// Parses a stored `ts` back, for the day a file was started.
pub(crate) fn day_of(ts: &str) -> Option<String> {
    ts.get(..10).map(str::to_owned)
}
