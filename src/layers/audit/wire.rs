//! How a record travels from the caller's path to the writer: as bytes appended to one
//! shared buffer, not as owned strings.
//!
//! Every block the caller allocated and the writer freed would be freed on another thread,
//! and general-purpose allocators pay for that (glibc takes the owning arena's lock, which
//! the caller's next allocation then waits for). So the caller writes the record's raw
//! parts (nothing is masked or serialized as JSON yet, that is the writer's work) into a
//! reused per-thread buffer, copies it into the queue's buffer under the queue's lock, and
//! the writer reads the parts back as borrowed slices. In steady state a record costs no
//! allocation on either side for the hand-off.
//!
//! A frame is a little-endian `u32` length, then the fields in a fixed order: numbers as
//! little-endian integers, strings as a `u32` length and UTF-8 bytes, optional values behind
//! a `0`/`1` byte.

use std::cell::Cell;
use std::time::Duration;

use serde_json::Value;

use super::Outcome;
use crate::layers::sanitize::UNINSPECTED;
use crate::limits::InputLimits;
use crate::service::{Note, ToolOutput, ToolResponse};

/// Deepest arguments recorded.
const MAX_RECORDED_DEPTH: usize = 64;

/// The bounds of what a record holds: depth only (size is bounded by the caller).
pub(crate) fn depth_limit() -> InputLimits {
    InputLimits::default()
        .max_depth(MAX_RECORDED_DEPTH)
        .max_payload_bytes(usize::MAX)
        .max_keys(usize::MAX)
}

/// What a call captured before it ran: its labels and arguments, already in wire form.
#[derive(Debug)]
pub(crate) struct CallCapture {
    bytes: Vec<u8>,
    /// Where the claimed agent starts; it is last, so a verified one can replace it.
    agent_at: usize,
}

impl CallCapture {
    /// Captures id, tool, session, arguments (compact JSON within `max_argument_bytes` and
    /// the depth bound, otherwise why not) and the claimed agent, in one allocation.
    pub(super) fn new(
        id: &str,
        tool: &str,
        session: Option<&str>,
        arguments: &Value,
        max_argument_bytes: usize,
        agent: Option<&str>,
    ) -> Self {
        let mut bytes = Vec::with_capacity(
            64 + id.len()
                + tool.len()
                + session.map_or(0, str::len)
                + agent.map_or(0, str::len)
                + 128,
        );
        let mut put = FrameWriter(&mut bytes);
        put.str(id);
        put.str(tool);
        put.opt_str(session);
        match depth_limit()
            .max_payload_bytes(max_argument_bytes)
            .measure(arguments)
        {
            Ok(()) => {
                put.u8(0);
                let at = put.open_str();
                // A `Value` always serializes; were it ever not to, the arguments read as
                // empty text and the record says they could not be parsed.
                let _ = serde_json::to_writer(&mut *put.0, arguments);
                put.close_str(at);
            }
            Err(v) => {
                put.u8(1);
                put.str(&format!("not recorded: {v}"));
            }
        }
        let agent_at = bytes.len();
        FrameWriter(&mut bytes).opt_str(agent);
        Self { bytes, agent_at }
    }

    /// The agent the caller claimed.
    pub(super) fn claimed_agent(&self) -> Option<&str> {
        Take::new(&self.bytes[self.agent_at..]).opt_str().flatten()
    }
}

/// How a call ended, as the caller's path sees it.
pub(crate) enum Ending<'a> {
    Response {
        response: &'a ToolResponse,
        keep_output: bool,
    },
    Error(&'a str),
    Cancelled,
}

thread_local! {
    /// The frame being built, reused by every record of this thread.
    static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Most capacity a thread keeps for building frames: one huge record does not pin its size
/// on every thread.
const MAX_SCRATCH: usize = 1024 * 1024;

/// Builds the frame of one record and hands it to `deliver`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn with_frame<R>(
    ts: jiff::Timestamp,
    duration: Duration,
    head: &CallCapture,
    verified: bool,
    agent: Option<&str>,
    ending: Ending<'_>,
    deliver: impl FnOnce(&[u8]) -> R,
) -> R {
    // Taken out of the thread's slot and put back: nothing stays borrowed, so a thread
    // being torn down (no slot) or a nested record (an empty slot) just gets a new buffer.
    let mut buf = SCRATCH.try_with(Cell::take).unwrap_or_default();
    buf.clear();
    let mut put = FrameWriter(&mut buf);
    let at = put.open_str();
    put.bytes(&ts.as_nanosecond().to_le_bytes());
    put.u64(u64::try_from(duration.as_micros()).unwrap_or(u64::MAX));
    put.u8(verified.into());
    put.bytes(&head.bytes[..head.agent_at]);
    put.opt_str(agent);
    put_ending(&mut put, ending);
    put.close_str(at);
    let result = deliver(&buf);
    if buf.capacity() <= MAX_SCRATCH {
        let _ = SCRATCH.try_with(|slot| slot.set(buf));
    }
    result
}

fn put_ending(put: &mut FrameWriter<'_>, ending: Ending<'_>) {
    let (response, keep_output) = match ending {
        Ending::Cancelled => return put.u8(0),
        Ending::Error(e) => {
            put.u8(1);
            return put.str(e);
        }
        Ending::Response {
            response,
            keep_output,
        } => (response, keep_output),
    };
    put.u8(2);
    match &response.rejection {
        Some(r) => {
            put.u8(Outcome::Refused as u8);
            put.opt_str(Some(r.code.as_str()));
            put.opt_str(Some(&r.layer));
            put.opt_str(Some(&r.message));
        }
        None if response.is_error => {
            put.u8(Outcome::Failed as u8);
            put.opt_str(None);
            put.opt_str(None);
            put.opt_str(Some(&response.output.to_text()));
        }
        None => {
            put.u8(Outcome::Allowed as u8);
            put.opt_str(None);
            put.opt_str(None);
            put.opt_str(None);
        }
    }
    let output_bytes = match &response.output {
        ToolOutput::Text(t) => t.len(),
        ToolOutput::Json(v) => json_len(v),
        ToolOutput::Content(c) => {
            c.content.iter().map(json_len).sum::<usize>()
                + c.structured.as_ref().map_or(0, json_len)
        }
        ToolOutput::InputRequired(i) => i.requests.values().map(json_len).sum::<usize>(),
    };
    put.u64(output_bytes as u64);

    // Counts of every redaction note, then the last truncation, the stripped arguments and
    // where the tool ran.
    // Payloads left uninspected are counted with them, under their own name.
    let redactions = response.notes.iter().flat_map(|n| {
        let (counts, uninspected) = match n {
            Note::Redacted { counts, .. } => (Some(counts), None),
            Note::Uninspected { payloads, .. } => (None, Some((UNINSPECTED, *payloads))),
            _ => (None, None),
        };
        let counts = counts.into_iter().flatten().map(|(k, n)| (k.as_str(), *n));
        counts.chain(uninspected)
    });
    put.u32(redactions.clone().count() as u32);
    for (kind, n) in redactions {
        put.str(kind);
        put.u64(n as u64);
    }
    match response.notes.iter().rev().find_map(|n| match n {
        Note::Truncated {
            original_chars,
            kept_chars,
            ..
        } => Some((*original_chars, *kept_chars)),
        _ => None,
    }) {
        Some((original, kept)) => {
            put.u8(1);
            put.u64(original as u64);
            put.u64(kept as u64);
        }
        None => put.u8(0),
    }
    let stripped = response.notes.iter().filter_map(|n| match n {
        Note::ArgumentsStripped { arguments, .. } => Some(arguments),
        _ => None,
    });
    put.u32(stripped.clone().map(Vec::len).sum::<usize>() as u32);
    for name in stripped.flatten() {
        put.str(name);
    }
    match response.rejection.is_none().then_some(keep_output) {
        Some(true) => match &response.output {
            ToolOutput::Text(t) => {
                put.u8(1);
                put.str(t);
            }
            ToolOutput::Json(v) => {
                put.u8(2);
                let at = put.open_str();
                let _ = serde_json::to_writer(&mut *put.0, v);
                put.close_str(at);
            }
            ToolOutput::Content(c) => {
                put.u8(2);
                let at = put.open_str();
                let _ = serde_json::to_writer(&mut *put.0, c);
                put.close_str(at);
            }
            ToolOutput::InputRequired(i) => {
                put.u8(2);
                let at = put.open_str();
                let _ = serde_json::to_writer(&mut *put.0, i);
                put.close_str(at);
            }
        },
        _ => put.u8(0),
    }
    let sandbox = response.notes.iter().rev().find_map(|n| match n {
        Note::Sandboxed {
            backend, outcome, ..
        } => Some((Some(backend.as_str()), outcome.as_str(), None)),
        Note::Unsandboxed { reason, .. } => Some((None, "unsandboxed", Some(reason.as_str()))),
        _ => None,
    });
    match sandbox {
        Some((backend, outcome, reason)) => {
            put.u8(1);
            put.opt_str(backend);
            put.str(outcome);
            put.opt_str(reason);
        }
        None => put.u8(0),
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

/// Appends fields to a buffer.
struct FrameWriter<'a>(&'a mut Vec<u8>);

impl FrameWriter<'_> {
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }

    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }

    fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }

    fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }

    fn str(&mut self, s: &str) {
        // Longer texts than 4 GiB are cut (on a character boundary) rather than corrupt
        // the frame.
        let mut end = s.len().min(u32::MAX as usize);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.u32(end as u32);
        self.bytes(&s.as_bytes()[..end]);
    }

    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
            None => self.u8(0),
        }
    }

    /// Starts a length-prefixed field whose content is written next; see `close_str`.
    fn open_str(&mut self) -> usize {
        let at = self.0.len();
        self.u32(0);
        at
    }

    fn close_str(&mut self, at: usize) {
        let len = u32::try_from(self.0.len() - at - 4).unwrap_or(u32::MAX);
        self.0[at..at + 4].copy_from_slice(&len.to_le_bytes());
    }
}

/// Reads fields back; `None` when the bytes run out or a text is not UTF-8.
pub(crate) struct Take<'a> {
    buf: &'a [u8],
}

impl<'a> Take<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.buf.len() < n {
            return None;
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.bytes(1)?[0])
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.bytes(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.bytes(8)?.try_into().ok()?))
    }

    fn str(&mut self) -> Option<&'a str> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.bytes(n)?).ok()
    }

    fn opt_str(&mut self) -> Option<Option<&'a str>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.str()?)),
            _ => None,
        }
    }

    /// The next frame's bytes.
    pub(super) fn frame(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.bytes(n)
    }
}

/// One record as the writer reads it, borrowing from the queue's buffer.
#[derive(Debug)]
pub(crate) struct EventRef<'a> {
    pub ts: jiff::Timestamp,
    pub duration_us: u64,
    pub verified: bool,
    pub id: &'a str,
    pub tool: &'a str,
    pub session: Option<&'a str>,
    /// Compact JSON, or why the arguments are not recorded.
    pub arguments: Result<&'a str, &'a str>,
    pub agent: Option<&'a str>,
    pub outcome: OutcomeRef<'a>,
}

/// How the call ended.
#[derive(Debug)]
pub(crate) enum OutcomeRef<'a> {
    Response(SummaryRef<'a>),
    Error(&'a str),
    Cancelled,
}

/// The parts of a response the record keeps.
#[derive(Debug)]
pub(crate) struct SummaryRef<'a> {
    pub decision: Outcome,
    pub code: Option<&'a str>,
    pub layer: Option<&'a str>,
    pub message: Option<&'a str>,
    pub output_bytes: u64,
    pub redacted: Vec<(&'a str, u64)>,
    pub truncated: Option<(u64, u64)>,
    pub stripped: Vec<&'a str>,
    pub output: Option<OutputRef<'a>>,
    pub sandbox: Option<SandboxRef<'a>>,
}

/// A copy of the output (only with `keep_output`).
#[derive(Debug)]
pub(crate) enum OutputRef<'a> {
    Text(&'a str),
    Json(&'a str),
}

/// Where the tool ran, when a sandbox layer was involved.
#[derive(Debug)]
pub(crate) struct SandboxRef<'a> {
    pub backend: Option<&'a str>,
    pub outcome: &'a str,
    pub reason: Option<&'a str>,
}

impl<'a> EventRef<'a> {
    /// Reads one frame's content (without its length).
    pub(super) fn read(frame: &'a [u8]) -> Option<Self> {
        let mut t = Take::new(frame);
        let ts = i128::from_le_bytes(t.bytes(16)?.try_into().ok()?);
        let ts = jiff::Timestamp::from_nanosecond(ts).ok()?;
        let duration_us = t.u64()?;
        let verified = t.u8()? != 0;
        let id = t.str()?;
        let tool = t.str()?;
        let session = t.opt_str()?;
        let arguments = match t.u8()? {
            0 => Ok(t.str()?),
            _ => Err(t.str()?),
        };
        let agent = t.opt_str()?;
        let outcome = match t.u8()? {
            0 => OutcomeRef::Cancelled,
            1 => OutcomeRef::Error(t.str()?),
            _ => OutcomeRef::Response(SummaryRef::read(&mut t)?),
        };
        t.is_empty().then_some(Self {
            ts,
            duration_us,
            verified,
            id,
            tool,
            session,
            arguments,
            agent,
            outcome,
        })
    }
}

impl<'a> SummaryRef<'a> {
    fn read(t: &mut Take<'a>) -> Option<Self> {
        let decision = match t.u8()? {
            d if d == Outcome::Refused as u8 => Outcome::Refused,
            d if d == Outcome::Failed as u8 => Outcome::Failed,
            _ => Outcome::Allowed,
        };
        let code = t.opt_str()?;
        let layer = t.opt_str()?;
        let message = t.opt_str()?;
        let output_bytes = t.u64()?;
        let n = t.u32()? as usize;
        let mut redacted = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            redacted.push((t.str()?, t.u64()?));
        }
        let truncated = match t.u8()? {
            0 => None,
            _ => Some((t.u64()?, t.u64()?)),
        };
        let n = t.u32()? as usize;
        let mut stripped = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            stripped.push(t.str()?);
        }
        let output = match t.u8()? {
            0 => None,
            1 => Some(OutputRef::Text(t.str()?)),
            _ => Some(OutputRef::Json(t.str()?)),
        };
        let sandbox = match t.u8()? {
            0 => None,
            _ => Some(SandboxRef {
                backend: t.opt_str()?,
                outcome: t.str()?,
                reason: t.opt_str()?,
            }),
        };
        Some(Self {
            decision,
            code,
            layer,
            message,
            output_bytes,
            redacted,
            truncated,
            stripped,
            output,
            sandbox,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::{Rejection, RejectionCode};
    use serde_json::json;
    use std::borrow::Cow;

    fn frame(head: &CallCapture, agent: Option<&str>, ending: Ending<'_>) -> Vec<u8> {
        with_frame(
            jiff::Timestamp::from_second(1_700_000_000).unwrap(),
            Duration::from_micros(1234),
            head,
            true,
            agent,
            ending,
            <[u8]>::to_vec,
        )
    }

    #[test]
    fn a_response_reads_back_field_for_field() {
        let head = CallCapture::new(
            "id-1",
            "read_file",
            Some("s-1"),
            &json!({"path": "a\u{202e}b", "n": 1}),
            1024,
            Some("claimed"),
        );
        assert_eq!(head.claimed_agent(), Some("claimed"));
        let mut response = ToolResponse::text("héllo");
        let mut counts = crate::layers::sanitize::Counts::new();
        counts.insert("EMAIL".into(), 2);
        response.notes.push(Note::Redacted {
            layer: Cow::Borrowed("sanitize"),
            counts,
        });
        let bytes = frame(
            &head,
            Some("verified"),
            Ending::Response {
                response: &response,
                keep_output: true,
            },
        );
        let mut take = Take::new(&bytes);
        let event = EventRef::read(take.frame().unwrap()).unwrap();
        assert!(take.is_empty());
        assert_eq!(event.ts.as_second(), 1_700_000_000);
        assert_eq!(event.duration_us, 1234);
        assert!(event.verified);
        assert_eq!((event.id, event.tool), ("id-1", "read_file"));
        assert_eq!(event.session, Some("s-1"));
        assert_eq!(event.agent, Some("verified"));
        let args: Value = serde_json::from_str(event.arguments.unwrap()).unwrap();
        assert_eq!(args, json!({"path": "a\u{202e}b", "n": 1}));
        let OutcomeRef::Response(s) = event.outcome else {
            panic!("not a response")
        };
        assert_eq!(s.decision, Outcome::Allowed);
        assert_eq!(s.output_bytes, "héllo".len() as u64);
        assert_eq!(s.redacted, vec![("EMAIL", 2)]);
        assert!(matches!(s.output, Some(OutputRef::Text("héllo"))));
    }

    #[test]
    fn refusals_errors_and_cancellations_read_back() {
        let head = CallCapture::new("i", "t", None, &json!({}), 1024, None);
        let refused = ToolResponse::rejected(Rejection::new(
            RejectionCode::PolicyDenied,
            "policy",
            "denied",
        ));
        let bytes = frame(
            &head,
            None,
            Ending::Response {
                response: &refused,
                keep_output: true,
            },
        );
        let event = EventRef::read(Take::new(&bytes).frame().unwrap()).unwrap();
        let OutcomeRef::Response(s) = event.outcome else {
            panic!("not a response")
        };
        assert_eq!(s.decision, Outcome::Refused);
        assert_eq!(s.code, Some("policy_denied"));
        assert_eq!(s.layer, Some("policy"));
        assert!(s.output.is_none(), "a refusal's output is never kept");

        let bytes = frame(&head, None, Ending::Error("boom"));
        let event = EventRef::read(Take::new(&bytes).frame().unwrap()).unwrap();
        assert!(matches!(event.outcome, OutcomeRef::Error("boom")));
        let bytes = frame(&head, None, Ending::Cancelled);
        let event = EventRef::read(Take::new(&bytes).frame().unwrap()).unwrap();
        assert!(matches!(event.outcome, OutcomeRef::Cancelled));
    }

    #[test]
    fn oversized_or_too_deep_arguments_are_captured_as_the_reason() {
        let head = CallCapture::new("i", "t", None, &json!({"x": "y".repeat(100)}), 50, None);
        let bytes = frame(&head, None, Ending::Cancelled);
        let event = EventRef::read(Take::new(&bytes).frame().unwrap()).unwrap();
        assert!(event.arguments.unwrap_err().starts_with("not recorded"));
    }

    #[test]
    fn a_cut_or_corrupt_frame_is_not_read() {
        let head = CallCapture::new("i", "t", None, &json!({}), 1024, None);
        let bytes = frame(&head, None, Ending::Error("e"));
        let content = Take::new(&bytes).frame().unwrap().to_vec();
        for n in 0..content.len() {
            assert!(EventRef::read(&content[..n]).is_none(), "cut at {n}");
        }
        let mut longer = content.clone();
        longer.push(0);
        assert!(EventRef::read(&longer).is_none());
    }
}
