//! The lean path of a `tools/call` to a stdio upstream: the proxy owns the process's
//! stdin and stdout, and rmcp (the handshake, the listing, every other method, the
//! upstream's requests of the client) speaks through them, not to them.
//!
//! A call the lean path takes is written as one line under an id of its own (from
//! [`FIRST_ID`] up, far from rmcp's), and the upstream's answer to that id is taken off
//! the stream before rmcp would see it: the envelope is read borrowing the line, and only
//! the result is parsed, into the tool result it must be. So is the progress of such a
//! call, passed on as rmcp's handler passes it, in the order it came (before the answer).
//! Everything else the upstream writes goes to rmcp as it came. When the upstream's stdout
//! ends, rmcp sees the end too (and the supervisor starts the upstream again), and every
//! lean call waiting is told the upstream is gone.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::io::{AsyncWriteExt as _, ReadHalf, SimplexStream};
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::{mpsc, oneshot};

use super::client::{Downstream, Listener, Reported, pass_progress};
use crate::layers::sanitize::Sanitizer;
use crate::mcp::frames::{Envelope, FrameSink, Read, pass_line, read_line, write_frames};

/// The first id of a lean call.
const FIRST_ID: u64 = 1 << 40;
/// Messages waiting for the upstream's stdin.
const OUTBOX: usize = 64;

/// The lean calls to one run of a stdio upstream.
pub(super) struct Wire {
    outbox: mpsc::Sender<Vec<u8>>,
    /// The upstream's stdout has ended: the process is gone, whatever rmcp knows yet.
    ended: AtomicBool,
    waiting: Mutex<HashMap<u64, Waiting>>,
    next: AtomicU64,
}

struct Waiting {
    answer: oneshot::Sender<Vec<u8>>,
    progress: Option<Listener>,
}

/// The upstream is gone (its stdout ended, or its stdin is closed).
#[derive(Debug)]
pub(super) struct Gone;

/// rmcp's side of the upstream's stdio.
pub(super) type RmcpSide = (ReadHalf<SimplexStream>, FrameSink);

/// Where the progress of a lean call goes: what rmcp's handler uses.
pub(super) struct ProgressRelay {
    pub(super) sanitizer: Option<Arc<Sanitizer>>,
    pub(super) downstream: Downstream,
}

impl Wire {
    /// Takes the upstream's `stdin` and `stdout`: the lean calls go through the returned
    /// wire, everything else through the returned transport, for rmcp.
    pub(super) fn connect(
        stdin: ChildStdin,
        stdout: ChildStdout,
        relay: ProgressRelay,
    ) -> (Arc<Self>, RmcpSide) {
        let (outbox, frames) = mpsc::channel(OUTBOX);
        let (rmcp_reads, to_rmcp) = tokio::io::simplex(64 * 1024);
        let wire = Arc::new(Self {
            outbox: outbox.clone(),
            ended: AtomicBool::new(false),
            waiting: Mutex::default(),
            next: AtomicU64::new(FIRST_ID),
        });
        tokio::spawn(async move {
            if let Err(e) = write_frames(stdin, frames).await {
                tracing::debug!(error = %e, "the upstream's stdin is closed");
            }
        });
        tokio::spawn(read_upstream(stdout, Arc::downgrade(&wire), to_rmcp, relay));
        (wire, (rmcp_reads, FrameSink::new(outbox)))
    }

    /// Sends `params` as a `tools/call` (with a progress token of its own when `progress`
    /// listens) and waits for the upstream's answer: the whole line.
    pub(super) async fn call(
        &self,
        mut params: rmcp::model::CallToolRequestParams,
        progress: Option<Listener>,
    ) -> Result<Vec<u8>, Gone> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (answer, answered) = oneshot::channel();
        if progress.is_some() {
            let token = rmcp::model::ProgressToken(rmcp::model::NumberOrString::Number(
                i64::try_from(id).unwrap_or(i64::MAX),
            ));
            params
                .meta
                .get_or_insert_with(Default::default)
                .set_progress_token(token);
        }
        let mut frame = Vec::with_capacity(256);
        frame.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
        frame.extend_from_slice(id.to_string().as_bytes());
        frame.extend_from_slice(b",\"method\":\"tools/call\",\"params\":");
        serde_json::to_writer(&mut frame, &params).map_err(|_| Gone)?;
        frame.extend_from_slice(b"}\n");
        {
            // Under the lock the reader ends with: a call is either waiting before the
            // end (and told of it) or sees the end and never waits.
            let mut waiting = self.lock();
            if self.ended() {
                return Err(Gone);
            }
            waiting.insert(id, Waiting { answer, progress });
        }
        let mut pending = Pending {
            wire: self,
            id,
            answered: false,
        };
        self.outbox.send(frame).await.map_err(|_| Gone)?;
        let line = answered.await.map_err(|_| Gone)?;
        pending.answered = true;
        Ok(line)
    }

    /// Whether the upstream's stdout has ended (set before any waiting call hears of it).
    pub(super) fn ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Waiting>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The upstream's answer to a lean call, read as rmcp's client reads it: a tool result,
/// the capabilities a 2026-07-28 upstream needs of the client, or a refusal said so.
pub(super) fn answer_of(line: &[u8]) -> Result<super::rounds::Answer, String> {
    #[derive(Deserialize)]
    struct Reply<'a> {
        #[serde(borrow, default)]
        result: Option<&'a RawValue>,
        #[serde(default)]
        error: Option<rmcp::model::ErrorData>,
    }
    let unreadable = || "the upstream server failed the call: its answer is not a tool result";
    let reply: Reply<'_> = serde_json::from_slice(line).map_err(|_| unreadable())?;
    match (reply.result, reply.error) {
        (Some(result), None) => {
            // Blocks of the kinds MCP defines, each with what its kind must hold, kept as
            // they came; anything else is read by rmcp's model, which decides.
            if let Ok(plain) = serde_json::from_str::<PlainResult>(result.get())
                && plain.content.iter().all(crate::mcp::frames::known_block)
            {
                let content = crate::service::McpContent {
                    content: plain.content,
                    structured: plain.structured,
                };
                return Ok(super::rounds::Answer::Content(
                    content,
                    plain.is_error.unwrap_or(false),
                ));
            }
            serde_json::from_str(result.get())
                .map(super::rounds::Answer::Complete)
                .map_err(|_| unreadable().to_owned())
        }
        (None, Some(error)) => super::rounds::Answer::refused(error),
        _ => Err(unreadable().to_owned()),
    }
}

/// A tool result as the lean path reads it.
#[derive(Deserialize)]
struct PlainResult {
    content: Vec<serde_json::Value>,
    #[serde(rename = "structuredContent", default)]
    structured: Option<serde_json::Value>,
    #[serde(rename = "isError", default)]
    is_error: Option<bool>,
}

/// A lean call under way: forgotten when it ends, and cancelled upstream when it ends
/// unanswered (a timeout, a client that gave up).
struct Pending<'a> {
    wire: &'a Wire,
    id: u64,
    answered: bool,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.wire.lock().remove(&self.id);
        if !self.answered {
            let cancel = format!(
                "{{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{{\"requestId\":{},\"reason\":\"the proxy's client gave up\"}}}}\n",
                self.id
            );
            let _ = self.wire.outbox.try_send(cancel.into_bytes());
        }
    }
}

#[derive(Deserialize)]
struct Progress {
    #[serde(rename = "progressToken")]
    token: serde_json::Value,
    progress: f64,
    #[serde(default)]
    total: Option<f64>,
    #[serde(default)]
    message: Option<String>,
}

/// What the upstream's line is to the lean path.
enum Taken {
    /// The answer to a lean call.
    Answer(oneshot::Sender<Vec<u8>>),
    /// The progress of a lean call, for its listener.
    Progress(Listener, Reported),
    /// The progress of a lean call nobody listens to, or of one that ended: dropped, as
    /// rmcp's handler drops it.
    Dropped,
    /// Not the lean path's: rmcp's.
    Not,
}

impl Wire {
    fn take(&self, line: &[u8]) -> Taken {
        let Ok(envelope) = serde_json::from_slice::<Envelope<'_>>(line) else {
            return Taken::Not;
        };
        let lean_id = |raw: &RawValue| raw.get().parse::<u64>().ok().filter(|id| *id >= FIRST_ID);
        match (envelope.method.as_deref(), envelope.id.and_then(lean_id)) {
            (None, Some(id)) => match self.lock().remove(&id) {
                Some(waiting) => Taken::Answer(waiting.answer),
                None => Taken::Not,
            },
            (Some("notifications/progress"), None) => {
                let Some(progress) = envelope
                    .params
                    .and_then(|p| serde_json::from_str::<Progress>(p.get()).ok())
                else {
                    return Taken::Not;
                };
                let Some(id) = progress.token.as_u64().filter(|id| *id >= FIRST_ID) else {
                    return Taken::Not;
                };
                // A lean call's token: passed on if it listens, dropped otherwise.
                let listener = self.lock().get(&id).and_then(|w| w.progress.clone());
                match listener {
                    Some(listener) => Taken::Progress(
                        listener,
                        Reported {
                            progress: progress.progress,
                            total: progress.total,
                            message: progress.message,
                        },
                    ),
                    None => Taken::Dropped,
                }
            }
            _ => Taken::Not,
        }
    }
}

/// Reads the upstream's stdout: lean answers and progress taken, the rest to rmcp.
async fn read_upstream(
    stdout: ChildStdout,
    wire: std::sync::Weak<Wire>,
    mut to_rmcp: tokio::io::WriteHalf<SimplexStream>,
    relay: ProgressRelay,
) {
    let mut reader = tokio::io::BufReader::with_capacity(64 * 1024, stdout);
    let mut line = Vec::new();
    loop {
        line.clear();
        match read_line(&mut reader, &mut line).await {
            Read::Line => {}
            Read::Oversized => continue,
            Read::End => break,
        }
        let taken = match wire.upgrade() {
            Some(wire) => wire.take(&line),
            None => Taken::Not,
        };
        match taken {
            Taken::Answer(answer) => {
                let _ = answer.send(std::mem::take(&mut line));
            }
            Taken::Progress(listener, reported) => {
                pass_progress(
                    listener,
                    reported,
                    relay.sanitizer.as_deref(),
                    &relay.downstream,
                )
                .await;
            }
            Taken::Dropped => {}
            Taken::Not => {
                if pass_line(&mut to_rmcp, &line).await.is_err() {
                    break; // rmcp has stopped reading
                }
            }
        }
    }
    // The next call starts the upstream again, even before rmcp has seen the end; the
    // lean calls waiting are told the upstream is gone.
    if let Some(wire) = wire.upgrade() {
        let mut waiting = wire.lock();
        wire.ended.store(true, Ordering::Release);
        waiting.clear();
    }
    let _ = to_rmcp.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A wire to a process that exits at once, and the end read.
    async fn ended() -> Arc<Wire> {
        let mut child = tokio::process::Command::new("true")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("true runs");
        let relay = ProgressRelay {
            sanitizer: None,
            downstream: Arc::new(Mutex::new(None)),
        };
        let (wire, (mut rmcp_reads, _rmcp_writes)) = Wire::connect(
            child.stdin.take().unwrap(),
            child.stdout.take().unwrap(),
            relay,
        );
        // rmcp's side sees the end once the wire has.
        let mut rest = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut rmcp_reads, &mut rest)
            .await
            .unwrap();
        let _ = child.wait().await;
        wire
    }

    #[tokio::test]
    async fn a_call_after_the_upstream_exited_is_told_so_and_never_waits() {
        let wire = ended().await;
        assert!(wire.ended());
        let params = rmcp::model::CallToolRequestParams::new("echo");
        let called =
            tokio::time::timeout(std::time::Duration::from_secs(5), wire.call(params, None))
                .await
                .expect("answered at once, not left waiting for an answer that cannot come");
        assert!(called.is_err());
        assert!(wire.lock().is_empty());
    }
}
