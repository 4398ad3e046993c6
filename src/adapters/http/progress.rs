//! A `tools/call` whose client asked for its progress (`_meta.progressToken`, and an
//! `Accept` that takes `text/event-stream`): the tool gets a [`Progress`] to report on,
//! and the door answers with an event stream of `notifications/progress`, then the
//! answer. A call that ends before it reports anything is answered as any other (one JSON
//! body, its status and headers as they would be); nothing is streamed that was not
//! reported.

use std::convert::Infallible;
use std::future::Future;

use axum::http::{HeaderMap, header};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use crate::service::{Progress, ProgressUpdate, ToolCall, ToolResponse};

/// Reports held for a client that reads slower than the tool reports; more are dropped.
const BACKLOG: usize = 64;

/// The client's progress token, when it asked for progress and takes an event stream.
pub(super) fn token(params: &Map<String, Value>, headers: &HeaderMap) -> Option<Value> {
    let token = params.get("_meta")?.get("progressToken")?;
    if !(token.is_string() || token.is_i64() || token.is_u64()) {
        return None;
    }
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/event-stream"))
        .then(|| token.clone())
}

/// What a call in progress ends as.
pub(super) enum Ended {
    /// It answered before it reported anything: answered as usual.
    Answered(Result<ToolResponse, crate::adapters::BoxError>),
    /// It reported: the event stream, which ends with the answer `finish` writes.
    Streamed(Response),
}

/// Where a streamed call is.
struct Stream<F> {
    first: Option<ProgressUpdate>,
    reported: mpsc::Receiver<ProgressUpdate>,
    running: Option<Running>,
    answered: Option<Result<ToolResponse, crate::adapters::BoxError>>,
    finish: Option<F>,
}

/// A call running through the stack.
pub(super) type Running =
    std::pin::Pin<Box<dyn Future<Output = Result<ToolResponse, crate::adapters::BoxError>> + Send>>;

/// Runs `call` with a [`Progress`] for the client's `token`.
pub(super) async fn run<C, F>(mut call: ToolCall, token: Value, start: C, finish: F) -> Ended
where
    C: FnOnce(ToolCall) -> Running,
    F: FnOnce(Result<ToolResponse, crate::adapters::BoxError>) -> Value + Send + 'static,
{
    let (reports, mut reported) = mpsc::channel::<ProgressUpdate>(BACKLOG);
    call.extensions.insert(Progress::new(move |update| {
        let _ = reports.try_send(update);
    }));
    let mut running = start(call);
    let first = tokio::select! {
        biased;
        answered = &mut running => return Ended::Answered(answered),
        Some(first) = reported.recv() => first,
    };
    let notification = move |update: ProgressUpdate| -> Result<Event, Infallible> {
        let mut params = json!({"progressToken": token, "progress": update.progress});
        if let Some(total) = update.total {
            params["total"] = json!(total);
        }
        if let Some(message) = update.message {
            params["message"] = Value::String(message);
        }
        let message =
            json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": params});
        Ok(Event::default().data(message.to_string()))
    };
    let notification = std::sync::Arc::new(notification);
    // The first report, then the others as they come, then the answer. A report the tool
    // made just before it answered (the same poll) still goes out before the answer.
    let state = Stream {
        first: Some(first),
        reported,
        running: Some(running),
        answered: None,
        finish: Some(finish),
    };
    let events = futures_util::stream::unfold(state, move |mut state| {
        let notification = notification.clone();
        async move {
            if let Some(update) = state.first.take() {
                return Some((notification(update), state));
            }
            loop {
                if let Some(answered) = state.answered.take() {
                    if let Ok(update) = state.reported.try_recv() {
                        state.answered = Some(answered);
                        return Some((notification(update), state));
                    }
                    let finish = state.finish.take()?;
                    let event = Ok(Event::default().data(finish(answered).to_string()));
                    return Some((event, state));
                }
                let running = state.running.as_mut()?;
                tokio::select! {
                    biased;
                    Some(update) = state.reported.recv() => {
                        return Some((notification(update), state));
                    }
                    answered = running => {
                        state.running = None;
                        state.answered = Some(answered);
                    }
                }
            }
        }
    });
    Ended::Streamed(Sse::new(events).into_response())
}
