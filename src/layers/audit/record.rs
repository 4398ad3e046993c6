//! One audit record: what the caller's path captures, and the line the writer makes of it.
//!
//! A line is a JSON object whose last field is `"hash"`: the hex SHA-256 (or HMAC-SHA256)
//! of the line as it would read without that field (`…,"alg":"sha256"}`). The body holds
//! `prev`, the previous record's hash, so every record seals the one before it, and `seq`,
//! which counts up by one across rotated files.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::layers::sanitize::{Counts, Sanitizer};
use crate::limits::InputLimits;
use crate::service::{Note, ToolOutput, ToolResponse};

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
/// Deepest arguments recorded.
const MAX_RECORDED_DEPTH: usize = 64;
/// Longest id, agent, session or tool name recorded, in characters.
const MAX_LABEL_CHARS: usize = 256;
/// Longest message or error recorded, in characters.
const MAX_MESSAGE_CHARS: usize = 1024;

/// The decision recorded for a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Let through, and the tool answered.
    Allowed,
    /// Refused by a layer (see `code` and `layer`).
    Refused,
    /// Let through; the tool reported an error.
    Failed,
    /// The service returned an error instead of a response.
    Error,
    /// The caller dropped the call before it finished.
    Cancelled,
}

/// What the caller's path hands to the writer: owned data only, nothing sanitized yet, in
/// as few allocations as possible (the writer frees them on another thread, and the
/// allocator pays for every cross-thread free).
#[derive(Debug)]
pub(crate) struct Event {
    pub ts: jiff::Timestamp,
    pub labels: Labels,
    pub verified: bool,
    /// The arguments as compact JSON, or why they are not recorded.
    pub arguments: Result<String, String>,
    pub duration: Duration,
    pub outcome: Outcome,
}

/// Call id, tool, agent and session, in one string.
#[derive(Debug)]
pub(crate) struct Labels {
    text: String,
    id: usize,
    tool: usize,
    agent: Option<usize>,
    session: Option<usize>,
}

impl Labels {
    pub fn new(id: &str, tool: &str, agent: Option<&str>, session: Option<&str>) -> Self {
        let len = id.len() + tool.len() + agent.map_or(0, str::len) + session.map_or(0, str::len);
        let mut text = String::with_capacity(len);
        text.push_str(id);
        text.push_str(tool);
        text.push_str(agent.unwrap_or(""));
        text.push_str(session.unwrap_or(""));
        Self {
            text,
            id: id.len(),
            tool: tool.len(),
            agent: agent.map(str::len),
            session: session.map(str::len),
        }
    }

    pub fn id(&self) -> &str {
        &self.text[..self.id]
    }

    pub fn tool(&self) -> &str {
        &self.text[self.id..self.id + self.tool]
    }

    pub fn agent(&self) -> Option<&str> {
        let start = self.id + self.tool;
        self.agent.map(|n| &self.text[start..start + n])
    }

    pub fn session(&self) -> Option<&str> {
        let start = self.id + self.tool + self.agent.unwrap_or(0);
        self.session.map(|n| &self.text[start..start + n])
    }
}

/// The arguments as the record will hold them: compact JSON when within the bounds, or
/// why not. Runs on the caller's path: one walk and, within bounds, one allocation.
pub(crate) fn capture_arguments(arguments: &Value, max_bytes: usize) -> Result<String, String> {
    match depth_limit()
        .max_payload_bytes(max_bytes)
        .measure(arguments)
    {
        Ok(()) => serde_json::to_string(arguments).map_err(|e| format!("not recorded: {e}")),
        Err(v) => Err(format!("not recorded: {v}")),
    }
}

/// How the call ended. Inline, not boxed: every allocation on the caller's path is freed
/// on the writer's thread, which costs more than the copy.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum Outcome {
    Response(ResponseSummary),
    Error(String),
    Cancelled,
}

/// The parts of a response the record keeps.
#[derive(Debug)]
pub(crate) struct ResponseSummary {
    pub decision: Decision,
    pub code: Option<&'static str>,
    pub layer: Option<String>,
    pub message: Option<String>,
    pub output_bytes: usize,
    pub redacted: Counts,
    pub truncated: Option<(usize, usize)>,
    pub stripped: Vec<String>,
    pub output: Option<ToolOutput>,
    pub sandbox: Option<SandboxLine>,
}

/// Where the tool ran, when a sandbox layer was involved.
#[derive(Debug, Serialize)]
pub(crate) struct SandboxLine {
    /// The backend, or none when the call ran in-process instead.
    backend: Option<String>,
    /// The sandbox's outcome, or `unsandboxed`.
    outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

impl ResponseSummary {
    /// Summarizes `response` without consuming it; copies the output only when `keep`.
    pub fn of(response: &ToolResponse, keep: bool) -> Self {
        let (decision, code, layer, message) = match &response.rejection {
            Some(r) => (
                Decision::Refused,
                Some(r.code.as_str()),
                Some(r.layer.to_string()),
                Some(r.message.clone()),
            ),
            None if response.is_error => (
                Decision::Failed,
                None,
                None,
                Some(response.output.to_text().into_owned()),
            ),
            None => (Decision::Allowed, None, None, None),
        };
        let mut redacted = Counts::new();
        let mut truncated = None;
        let mut stripped = Vec::new();
        let mut sandbox = None;
        for note in &response.notes {
            match note {
                Note::Redacted { counts, .. } => {
                    for (kind, n) in counts {
                        *redacted.entry(kind.clone()).or_default() += n;
                    }
                }
                Note::Truncated {
                    original_chars,
                    kept_chars,
                    ..
                } => truncated = Some((*original_chars, *kept_chars)),
                Note::ArgumentsStripped { arguments, .. } => {
                    stripped.extend(arguments.iter().cloned())
                }
                Note::Sandboxed {
                    backend, outcome, ..
                } => {
                    sandbox = Some(SandboxLine {
                        backend: Some(backend.clone()),
                        outcome: outcome.clone(),
                        reason: None,
                    })
                }
                Note::Unsandboxed { reason, .. } => {
                    sandbox = Some(SandboxLine {
                        backend: None,
                        outcome: "unsandboxed".into(),
                        reason: Some(reason.clone()),
                    })
                }
                _ => {}
            }
        }
        let output_bytes = match &response.output {
            ToolOutput::Text(t) => t.len(),
            ToolOutput::Json(v) => json_len(v),
        };
        Self {
            decision,
            code,
            layer,
            message,
            output_bytes,
            redacted,
            truncated,
            stripped,
            output: (keep && response.rejection.is_none()).then(|| response.output.clone()),
            sandbox,
        }
    }
}

/// Serialized length of `value` in bytes, without building the string.
fn json_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => 0,
    }
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
    pub fn new(key: Option<Vec<u8>>) -> Self {
        Self { key }
    }

    pub fn alg(&self) -> &'static str {
        if self.key.is_some() {
            ALG_HMAC
        } else {
            ALG_SHA256
        }
    }

    /// The hex digest of `body`.
    pub fn digest(&self, body: &[u8]) -> String {
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
    ts: String,
    id: &'a str,
    agent: Option<&'a str>,
    verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<&'a str>,
    tool: &'a str,
    arguments: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    arguments_omitted: Option<String>,
    #[serde(skip_serializing_if = "Counts::is_empty")]
    arguments_redacted: Counts,
    decision: Decision,
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
    stripped: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sandbox: Option<SandboxLine>,
    prev: &'a str,
    alg: &'static str,
}

#[derive(Serialize)]
struct OutputLine {
    bytes: usize,
    #[serde(skip_serializing_if = "Counts::is_empty")]
    redacted: Counts,
    #[serde(skip_serializing_if = "Option::is_none")]
    truncated: Option<Truncated>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<Value>,
}

#[derive(Serialize)]
struct Truncated {
    original_chars: usize,
    kept_chars: usize,
}

/// Turns events into chained lines. Owned by the writer thread.
#[derive(Debug)]
pub(crate) struct Encoder {
    pub sanitizer: std::sync::Arc<Sanitizer>,
    pub chain: Chain,
    pub max_output_chars: usize,
    /// The last record's seq and hash.
    pub seq: u64,
    pub prev: String,
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

impl Encoder {
    /// Appends `event` as one `\n`-terminated line to `out`, advancing the chain.
    pub fn encode(&mut self, event: Event, out: &mut Vec<u8>) {
        let s = &self.sanitizer;
        // Masked, control and bidi characters escaped, cut to `max` characters.
        let shown = |text: &str, max: usize| {
            let masked = s.sanitize_text(text, &mut Counts::new());
            crate::preview::display_text(&masked, max).into_owned()
        };
        let label = |text: &str| shown(text, MAX_LABEL_CHARS);
        let long_text = |text: &str| shown(text, MAX_MESSAGE_CHARS);

        let mut arguments_redacted = Counts::new();
        let (arguments, arguments_omitted) = match event.arguments {
            Ok(json) => match serde_json::from_str::<Value>(&json) {
                Ok(mut value) => {
                    s.sanitize_json(&mut value, &mut arguments_redacted);
                    (value, None)
                }
                Err(e) => (Value::Null, Some(format!("not recorded: {e}"))),
            },
            Err(why) => (Value::Null, Some(why)),
        };

        let mut sandbox = None;
        let (decision, code, layer, message, output, stripped) = match event.outcome {
            Outcome::Cancelled => (Decision::Cancelled, None, None, None, None, Vec::new()),
            Outcome::Error(e) => (
                Decision::Error,
                None,
                None,
                Some(long_text(&e)),
                None,
                Vec::new(),
            ),
            Outcome::Response(r) => {
                let content = r.output.map(|o| {
                    let mut counts = Counts::new();
                    let mut value = match o {
                        ToolOutput::Json(v) if !too_deep(&v) => v,
                        other => Value::String(other.to_text().into_owned()),
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
                let output = OutputLine {
                    bytes: r.output_bytes,
                    redacted: r.redacted,
                    truncated: r.truncated.map(|(original_chars, kept_chars)| Truncated {
                        original_chars,
                        kept_chars,
                    }),
                    content,
                };
                let stripped = r.stripped.iter().map(|a| label(a)).collect();
                sandbox = r.sandbox.map(|mut line| {
                    line.reason = line.reason.as_deref().map(long_text);
                    line
                });
                (
                    r.decision,
                    r.code,
                    r.layer,
                    r.message.map(|m| long_text(&m)),
                    Some(output),
                    stripped,
                )
            }
        };

        let id = label(event.labels.id());
        let agent = event.labels.agent().map(label);
        let session = event.labels.session().map(label);
        let tool = label(event.labels.tool());
        let layer = layer.as_deref().map(label);
        let seq = self.seq + 1;
        let line = Line {
            v: FORMAT_VERSION,
            seq,
            ts: event.ts.to_string(),
            id: &id,
            agent: agent.as_deref(),
            verified: event.verified,
            session: session.as_deref(),
            tool: &tool,
            arguments: &arguments,
            arguments_omitted,
            arguments_redacted,
            decision,
            code,
            layer: layer.as_deref(),
            message: message.as_deref(),
            duration_us: u64::try_from(event.duration.as_micros()).unwrap_or(u64::MAX),
            output,
            stripped,
            sandbox,
            prev: &self.prev,
            alg: self.chain.alg(),
        };
        let start = out.len();
        serde_json::to_writer(&mut *out, &line).expect("records serialize");
        let hash = self.chain.digest(&out[start..]);
        out.pop(); // the closing brace
        out.extend_from_slice(HASH_FIELD.as_bytes());
        out.extend_from_slice(hash.as_bytes());
        out.extend_from_slice(b"\"}\n");
        self.seq = seq;
        self.prev = hash;
    }
}

fn depth_limit() -> InputLimits {
    InputLimits::default()
        .max_depth(MAX_RECORDED_DEPTH)
        .max_payload_bytes(usize::MAX)
        .max_keys(usize::MAX)
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
