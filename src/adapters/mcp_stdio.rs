//! [`AirlockMcp::serve_stream`]: one client over a byte stream of newline-delimited
//! JSON-RPC (stdio), with a lean path for the message that matters most.
//!
//! A `tools/call` of an initialized client of the handshake revisions, with nothing in it
//! but `name`, `arguments` and a `_meta` of `progressToken`, `traceparent` and
//! `tracestate`, is read here once (borrowing the line), run through the stack on its own
//! task, and answered by writing the result as [`call_result`] encodes it: the same answer
//! rmcp's `call_tool` gives (`mcp_session.rs` is the one body both run), without rmcp
//! parsing the message into its model, dispatching it through its service loop and
//! encoding the result again. So is a `tools/call` of a client of 2026-07-28 (no
//! handshake: its revision and capabilities in each request's `_meta`) once rmcp has
//! opened its session on its first request, with those keys, its `logLevel` and a retry's
//! `inputResponses` and `requestState` besides; its round, when the tool needs its input,
//! is written as rmcp writes it. Everything else (the handshake, the other methods, the
//! client's answers to what the server asks, any `tools/call` that does not fit the above)
//! goes to rmcp as it came. One writer task puts every message on the stream, whole and in
//! the order sent: what a call sends before its answer goes out before it.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};
use tokio::sync::mpsc;

use super::mcp::AirlockMcp;
use super::mcp_client::{Asked, trace_of};
use super::mcp_rounds::{Answered, Stateless};
use crate::mcp::frames::{Envelope, FrameSink, Read, pass_line, read_line, write_frames};
use crate::mcp::result::call_result;
use rmcp::service::{Peer, RoleServer};

/// Messages waiting for the writer; a client that stops reading holds the door back.
const OUTBOX: usize = 64;
/// Lean calls under way at once; past this, the next line waits for one to end.
const MAX_CALLS: usize = 256;

impl AirlockMcp {
    /// Serves one client on `reader` and `writer` (newline-delimited JSON-RPC, MCP's stdio
    /// transport) until the client closes `reader` and what it asked is answered. rmcp
    /// serves the handshake and every method; an ordinary `tools/call` of a client of the
    /// handshake revisions takes a lean path that gives the same answer at less cost (see
    /// the module's source).
    pub async fn serve_stream<R, W>(self, reader: R, writer: W) -> std::io::Result<()>
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        use rmcp::ServiceExt as _;
        let (frames, outbox) = mpsc::channel::<Vec<u8>>(OUTBOX);
        let writing = tokio::spawn(write_frames(writer, outbox));
        let (rmcp_reads, mut to_rmcp) = tokio::io::simplex(64 * 1024);
        let rmcp_writes = FrameSink::new(frames.clone());
        let door = Arc::new(self.connection_clone());
        // A client of 2026-07-28: the peer of the session rmcp opened on its first request.
        let inline: Arc<std::sync::OnceLock<Peer<RoleServer>>> = Arc::default();
        let opened = inline.clone();
        let serving = tokio::spawn(async move {
            match self.serve((rmcp_reads, rmcp_writes)).await {
                Ok(running) => {
                    if running.peer().peer_info().is_none() {
                        let _ = opened.set(running.peer().clone());
                    }
                    let _ = running.waiting().await;
                }
                Err(e) => tracing::warn!(error = %e, "the client did not initialize"),
            }
        });
        let mut reader = tokio::io::BufReader::with_capacity(64 * 1024, reader);
        let mut line = Vec::new();
        // A permit per call under way: at most MAX_CALLS, and all of them back once every
        // call has ended.
        let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CALLS));
        let mut running: HashMap<Box<str>, tokio::task::AbortHandle> = HashMap::new();
        loop {
            line.clear();
            match read_line(&mut reader, &mut line).await {
                Read::Line => {}
                Read::Oversized => {
                    tracing::error!(
                        max = crate::mcp::frames::MAX_LINE,
                        "a message longer than the longest read is dropped"
                    );
                    continue;
                }
                Read::End => break,
            }
            match door.lean(&line, inline.get()) {
                Some(Lean::Call(call)) => {
                    let Ok(permit) = permits.clone().acquire_owned().await else {
                        break;
                    };
                    let id: Box<str> = call.id.get().into();
                    let run = call.run(door.clone(), frames.clone());
                    // Boxed: the task holds a pointer, not the whole call's state, which
                    // spawning would otherwise copy, and copy again as it ends.
                    let handle = tokio::spawn(Box::pin(async move {
                        run.await;
                        drop(permit);
                    }))
                    .abort_handle();
                    if running.len() >= MAX_CALLS {
                        running.retain(|_, h| !h.is_finished());
                    }
                    running.insert(id, handle);
                }
                Some(Lean::Cancel(id)) if running.contains_key(id.get()) => {
                    if let Some(handle) = running.remove(id.get()) {
                        handle.abort();
                    }
                }
                _ => {
                    if pass_line(&mut to_rmcp, &line).await.is_err() {
                        break; // rmcp has stopped serving
                    }
                }
            }
        }
        // The client said all it will: rmcp sees the end, the calls under way finish.
        let _ = to_rmcp.shutdown().await;
        drop(to_rmcp);
        let _ = permits.acquire_many(MAX_CALLS as u32).await;
        let _ = serving.await;
        drop(frames);
        writing.await.unwrap_or(Ok(()))
    }

    /// What the lean path does with `line`: a call it answers, a cancellation of one, or
    /// nothing (rmcp takes it). `inline` is the session rmcp opened for a client of
    /// 2026-07-28, if it did.
    fn lean<'a>(&self, line: &'a [u8], inline: Option<&Peer<RoleServer>>) -> Option<Lean<'a>> {
        let envelope: Envelope<'a> = serde_json::from_slice(line).ok()?;
        if envelope.jsonrpc.as_deref() != Some("2.0") {
            return None;
        }
        match envelope.method.as_deref()? {
            "tools/call" => {}
            "notifications/cancelled" if envelope.id.is_none() => {
                let params: Cancelled<'a> = serde_json::from_str(envelope.params?.get()).ok()?;
                return Some(Lean::Cancel(params.request_id));
            }
            _ => return None,
        }
        let id = envelope.id.filter(|id| is_id(id))?;
        // A client of the handshake revisions, once initialized; or of 2026-07-28.
        let Some(peer) = self.peer() else {
            let peer = inline?.clone();
            return stateless(id, envelope.params?.get(), peer);
        };
        if peer.peer_info()?.protocol_version.as_str() >= crate::mcp::STATELESS_VERSION {
            return None;
        }
        let params: Params = serde_json::from_str(envelope.params?.get()).ok()?;
        let meta = params.meta.unwrap_or_default();
        if meta
            .keys()
            .any(|k| !matches!(k.as_str(), "progressToken" | "traceparent" | "tracestate"))
        {
            return None;
        }
        let progress = progress_of(&meta)?;
        Some(Lean::Call(Box::new(LeanCall {
            id,
            name: params.name,
            arguments: Value::Object(params.arguments.unwrap_or_default()),
            progress,
            traced: trace_of(&meta),
            stateless: None,
        })))
    }
}

/// The `progressToken` of a call's `_meta`: none, or one; `None` when it is neither a
/// string nor an integer (rmcp's reading of anything else stands).
fn progress_of(meta: &Map<String, Value>) -> Option<Option<Value>> {
    match meta.get("progressToken") {
        None => Some(None),
        Some(Value::String(token)) => Some(Some(Value::String(token.clone()))),
        Some(Value::Number(n)) if n.is_i64() => Some(Some(Value::Number(n.clone()))),
        Some(_) => None,
    }
}

/// The keys of a 2026-07-28 request's `_meta` (`io.modelcontextprotocol/…`).
const VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";
const CAPABILITIES_KEY: &str = "io.modelcontextprotocol/clientCapabilities";
const CLIENT_KEY: &str = "io.modelcontextprotocol/clientInfo";
const LOG_LEVEL_KEY: &str = "io.modelcontextprotocol/logLevel";

/// A `tools/call` of a client of 2026-07-28 (`params`), when the lean path reads it as
/// rmcp would: its `_meta` names this revision and holds nothing rmcp's reading would
/// turn down or read differently (rmcp takes it otherwise, and answers as it does).
fn stateless<'a>(id: &'a RawValue, params: &str, peer: Peer<RoleServer>) -> Option<Lean<'a>> {
    let params: StatelessParams = serde_json::from_str(params).ok()?;
    let meta = params.meta.unwrap_or_default();
    let known = |k: &str| {
        matches!(
            k,
            "progressToken"
                | "traceparent"
                | "tracestate"
                | VERSION_KEY
                | CAPABILITIES_KEY
                | CLIENT_KEY
                | LOG_LEVEL_KEY
        )
    };
    if !meta.keys().all(|k| known(k))
        || meta.get(VERSION_KEY)?.as_str()? != crate::mcp::STATELESS_VERSION
    {
        return None;
    }
    // What rmcp reads of the capabilities: its model of them, or nothing.
    let declared: rmcp::model::ClientCapabilities =
        serde_json::from_value(meta.get(CAPABILITIES_KEY)?.clone()).ok()?;
    let capabilities =
        crate::service::ClientCapabilities::new(serde_json::to_value(declared).ok()?);
    let level = match meta.get(LOG_LEVEL_KEY) {
        None | Some(Value::Null) => None,
        Some(level) => Some(crate::service::LogLevel::parse(level.as_str()?)?),
    };
    let progress = progress_of(&meta)?;
    Some(Lean::Call(Box::new(LeanCall {
        id,
        name: params.name,
        arguments: Value::Object(params.arguments.unwrap_or_default()),
        progress,
        traced: trace_of(&meta),
        stateless: Some(Box::new(StatelessPart {
            peer,
            level,
            capabilities,
            responses: params.input_responses,
            state: params.request_state,
        })),
    })))
}

/// What the lean path takes from a line.
enum Lean<'a> {
    Call(Box<LeanCall<'a>>),
    /// `notifications/cancelled` naming this request id.
    Cancel(&'a RawValue),
}

/// A `tools/call` read by the lean path.
struct LeanCall<'a> {
    id: &'a RawValue,
    name: String,
    arguments: Value,
    progress: Option<Value>,
    traced: Option<crate::telemetry::TraceContext>,
    /// What a 2026-07-28 client's call carries besides (none: a handshake client's).
    stateless: Option<Box<StatelessPart>>,
}

/// Which body a lean call runs: a 2026-07-28 client's, or a session's on its connection.
enum Route {
    Stateless(Box<StatelessPart>),
    Session(Peer<RoleServer>),
}

/// What the lean path reads of a 2026-07-28 client's call besides what every call has.
struct StatelessPart {
    peer: Peer<RoleServer>,
    level: Option<crate::service::LogLevel>,
    capabilities: crate::service::ClientCapabilities,
    responses: Option<std::collections::BTreeMap<String, Value>>,
    state: Option<String>,
}

impl LeanCall<'_> {
    /// Runs the call and writes its answer (or the JSON-RPC error of a session refused).
    fn run(
        self,
        door: Arc<AirlockMcp>,
        frames: mpsc::Sender<Vec<u8>>,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let id = self.id.to_owned();
        let (name, arguments, progress, traced) =
            (self.name, self.arguments, self.progress, self.traced);
        let stateless = self.stateless;
        async move {
            let answered = async {
                // A handshake client's connection is checked first, then the session.
                let route = match stateless {
                    Some(part) => Route::Stateless(part),
                    None => Route::Session(door.peer().cloned().ok_or_else(|| {
                        rmcp::ErrorData::internal_error("the client is not connected", None)
                    })?),
                };
                let (caller, session) = door.session_here().await?;
                let typed = door.core().has_output_schema(&name);
                let frames = Some(frames.clone());
                match route {
                    Route::Stateless(part) => {
                        let asked = Stateless {
                            caller,
                            session,
                            progress,
                            traced,
                            level: Ok(part.level),
                            capabilities: part.capabilities,
                            responses: part.responses,
                            state: part.state,
                            frames,
                        };
                        match door
                            .stateless_call(&part.peer, name, arguments, asked)
                            .await?
                        {
                            Answered::Done(response) => Ok(complete(encoded(&response, typed))),
                            Answered::Input(round) => Ok(serde_json::to_string(&round)
                                .unwrap_or_else(|_| INTERNAL.to_owned())),
                        }
                    }
                    Route::Session(peer) => {
                        let asked = Asked {
                            caller,
                            session,
                            progress,
                            traced,
                            frames,
                        };
                        let response = door.in_session(&peer, name, arguments, asked).await?;
                        Ok::<_, rmcp::ErrorData>(encoded(&response, typed))
                    }
                }
            }
            .await;
            let mut frame = Vec::with_capacity(256);
            frame.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
            frame.extend_from_slice(id.get().as_bytes());
            match answered {
                Ok(result) => {
                    frame.extend_from_slice(b",\"result\":");
                    frame.extend_from_slice(result.as_bytes());
                }
                Err(error) => {
                    frame.extend_from_slice(b",\"error\":");
                    let _ = serde_json::to_writer(&mut frame, &error);
                }
            }
            frame.extend_from_slice(b"}\n");
            let _ = frames.send(frame).await;
        }
    }
}

/// The `CallToolResult` of `response` as JSON text: [`call_result`]'s encoding, or rmcp's
/// when a content block is not one rmcp knows (rmcp's door then sends it as text).
fn encoded(response: &crate::service::ToolResponse, typed: bool) -> String {
    let plain = match &response.output {
        crate::service::ToolOutput::Content(content) => {
            content.content.iter().all(crate::mcp::frames::known_block)
        }
        _ => true,
    };
    let text = match plain {
        true => serde_json::to_string(&call_result(response, typed)),
        false => serde_json::to_string(&super::mcp::result_of(response, typed)),
    };
    text.unwrap_or_else(|_| INTERNAL.into())
}

/// `result` (a JSON object) marked as a complete result, as rmcp marks a 2026-07-28
/// client's: `"resultType": "complete"`.
fn complete(mut result: String) -> String {
    if result.ends_with('}') {
        result.pop();
        result.push_str(r#","resultType":"complete"}"#);
    }
    result
}

/// The result written when one cannot be encoded.
const INTERNAL: &str = r#"{"content":[{"type":"text","text":"internal error"}],"isError":true}"#;

/// A JSON-RPC id: a string or a number.
fn is_id(id: &RawValue) -> bool {
    matches!(id.get().as_bytes().first(), Some(b'"' | b'-' | b'0'..=b'9'))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    name: String,
    #[serde(default)]
    arguments: Option<Map<String, Value>>,
    #[serde(rename = "_meta", default)]
    meta: Option<Map<String, Value>>,
}

/// The `params` of a 2026-07-28 client's `tools/call`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatelessParams {
    name: String,
    #[serde(default)]
    arguments: Option<Map<String, Value>>,
    #[serde(rename = "_meta", default)]
    meta: Option<Map<String, Value>>,
    #[serde(rename = "inputResponses", default)]
    input_responses: Option<std::collections::BTreeMap<String, Value>>,
    #[serde(rename = "requestState", default)]
    request_state: Option<String>,
}

#[derive(Deserialize)]
struct Cancelled<'a> {
    #[serde(borrow, rename = "requestId")]
    request_id: &'a RawValue,
}
