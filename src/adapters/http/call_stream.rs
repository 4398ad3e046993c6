//! A `tools/call` that talks to its client before it answers, on the call's own event
//! stream: its progress (the client sent a `progressToken`), its log messages (at the
//! level the client set), and, under the handshake revisions, what the door asks the
//! client for the tool (`asking.rs`). The client must take `text/event-stream`. A call
//! that ends before it sends anything is answered as any other (one JSON body, its status
//! and headers as they would be); nothing is streamed that was not sent.

use std::convert::Infallible;
use std::future::Future;

use axum::http::{HeaderMap, header};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use crate::service::{Log, LogLevel, LogMessage, Progress, ProgressUpdate, ToolResponse};

/// Messages held for a client that reads slower than the tool sends them; more progress
/// and log messages are dropped (requests wait for room).
const BACKLOG: usize = 64;

/// Whether the client takes an event stream as the answer.
pub(super) fn takes_stream(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/event-stream"))
}

/// The client's progress token, when it asked for progress.
pub(super) fn token(params: &Map<String, Value>) -> Option<Value> {
    let token = params.get("_meta")?.get("progressToken")?;
    (token.is_string() || token.is_i64() || token.is_u64()).then(|| token.clone())
}

/// What a call sends its client along the way: JSON-RPC messages, in order.
pub(super) struct Channel {
    sender: mpsc::Sender<Value>,
    receiver: mpsc::Receiver<Value>,
}

impl Channel {
    pub(super) fn new() -> Self {
        let (sender, receiver) = mpsc::channel(BACKLOG);
        Self { sender, receiver }
    }

    /// Where requests of the client go (sent in order, waiting for room).
    pub(super) fn sender(&self) -> mpsc::Sender<Value> {
        self.sender.clone()
    }

    /// A [`Progress`] whose reports go out as `notifications/progress` for `token`.
    pub(super) fn progress(&self, token: Value) -> Progress {
        let sender = self.sender.clone();
        Progress::new(move |update: ProgressUpdate| {
            let mut params = json!({"progressToken": token, "progress": update.progress});
            if let Some(total) = update.total {
                params["total"] = json!(total);
            }
            if let Some(message) = update.message {
                params["message"] = Value::String(message);
            }
            let _ = sender.try_send(notification("notifications/progress", params));
        })
    }

    /// A [`Log`] whose messages at `level` or above go out as `notifications/message`.
    pub(super) fn log(&self, level: LogLevel) -> Log {
        let sender = self.sender.clone();
        Log::new(level, move |message: LogMessage| {
            let _ = sender.try_send(notification("notifications/message", message.to_params()));
        })
    }
}

fn notification(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "method": method, "params": params})
}

/// What a call ends as.
pub(super) enum Ended {
    /// It answered before it sent anything: answered as usual.
    Answered(Result<ToolResponse, crate::adapters::BoxError>),
    /// It sent something: the event stream, which ends with the answer `finish` writes.
    Streamed(Response),
}

/// A call running through the stack.
pub(super) type Running =
    std::pin::Pin<Box<dyn Future<Output = Result<ToolResponse, crate::adapters::BoxError>> + Send>>;

/// Where a streamed call is.
struct Stream<F> {
    first: Option<Value>,
    sent: mpsc::Receiver<Value>,
    running: Option<Running>,
    answered: Option<Result<ToolResponse, crate::adapters::BoxError>>,
    finish: Option<F>,
}

/// Runs `running`, which sends on `channel`, and streams what it sends before its answer.
pub(super) async fn run<F>(channel: Channel, mut running: Running, finish: F) -> Ended
where
    F: FnOnce(Result<ToolResponse, crate::adapters::BoxError>) -> Value + Send + 'static,
{
    let Channel {
        sender,
        receiver: mut sent,
    } = channel;
    drop(sender);
    // What the call sent in the poll it answered in still goes out, before the answer.
    let (first, answered) = tokio::select! {
        biased;
        answered = &mut running => match sent.try_recv() {
            Ok(first) => (first, Some(answered)),
            Err(_) => return Ended::Answered(answered),
        },
        Some(first) = sent.recv() => (first, None),
    };
    let event = |message: Value| Ok::<_, Infallible>(Event::default().data(message.to_string()));
    // The first message, then the others as they come, then the answer. A message sent
    // just before the answer (the same poll) still goes out before it.
    let state = Stream {
        first: Some(first),
        sent,
        running: answered.is_none().then_some(running),
        answered,
        finish: Some(finish),
    };
    let events = futures_util::stream::unfold(state, move |mut state| async move {
        if let Some(message) = state.first.take() {
            return Some((event(message), state));
        }
        loop {
            if let Some(answered) = state.answered.take() {
                if let Ok(message) = state.sent.try_recv() {
                    state.answered = Some(answered);
                    return Some((event(message), state));
                }
                let finish = state.finish.take()?;
                return Some((event(finish(answered)), state));
            }
            let running = state.running.as_mut()?;
            tokio::select! {
                biased;
                Some(message) = state.sent.recv() => return Some((event(message), state)),
                answered = running => {
                    state.running = None;
                    state.answered = Some(answered);
                }
            }
        }
    });
    Ended::Streamed(Sse::new(events).into_response())
}
