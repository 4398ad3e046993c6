//! A call's answer from the upstream, and a 2026-07-28 client's call when the upstream
//! asks something during it (elicitation, sampling, roots): the call is parked, the
//! question answered as the call's `InputRequiredResult`, and the client's retry (the door
//! has verified its sealed state) resumes the parked call with the answer. See
//! `upstream/rounds.rs` for how a question is tied to its call.

use std::sync::Arc;

use rmcp::model::{CallToolRequestParams, CallToolResult};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::Upstream;
use super::upstream::{Call, Parked, Question, Rounds};
use crate::service::{InputRequired, InputResponses, McpContent, ToolResponse};

/// An upstream's answer as a response: its content blocks and `structuredContent`, as
/// they are (the sanitize layer masks them on the way out).
pub(crate) fn response_of(result: CallToolResult) -> ToolResponse {
    let content = result
        .content
        .iter()
        .map(|block| serde_json::to_value(block).unwrap_or(Value::Null))
        .collect();
    ToolResponse::content(
        McpContent {
            content,
            structured: result.structured_content,
        },
        result.is_error.unwrap_or(false),
    )
}

/// An upstream call being waited for, stopped when the wait is dropped (the client went
/// away) unless it was parked.
struct Running(Option<Call>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(call) = self.0.take() {
            call.abort();
        }
    }
}

/// Calls the upstream for a client that declared `capabilities`.
pub(super) async fn asking(
    upstream: &Arc<Upstream>,
    params: CallToolRequestParams,
    progress: Option<Value>,
    capabilities: Value,
) -> ToolResponse {
    let (asker, questions) = Rounds::asker(capabilities);
    let running = upstream.clone();
    let call = tokio::spawn(async move { running.call(params, progress, Some(asker)).await });
    wait(upstream, Running(Some(call)), questions).await
}

/// Resumes the call parked under `parked` with the client's answer.
pub(super) async fn resume(
    upstream: &Arc<Upstream>,
    parked: &str,
    inputs: Option<&InputResponses>,
) -> ToolResponse {
    let Some(parked) = upstream.rounds().take(parked) else {
        return ToolResponse::error(
            "the upstream call this answer was for is no longer waiting (it was answered \
             already, or timed out): call the tool again without requestState",
        );
    };
    let Some(answer) = inputs.and_then(|i| i.get(&parked.key)).cloned() else {
        // The question not answered: asked again.
        return park(upstream, parked);
    };
    match parked.resume() {
        Some((call, questions, asked)) => {
            let _ = asked.answer.send(Ok(answer));
            wait(upstream, Running(Some(call)), questions).await
        }
        None => ToolResponse::error("the upstream call was stopped"),
    }
}

/// Waits for the call to end or to ask something, whichever comes first.
async fn wait(
    upstream: &Arc<Upstream>,
    mut call: Running,
    mut questions: mpsc::Receiver<Question>,
) -> ToolResponse {
    let Some(task) = call.0.as_mut() else {
        return ToolResponse::error("the upstream call was stopped");
    };
    tokio::select! {
        ended = task => match ended {
            Ok(Ok(result)) => response_of(result),
            Ok(Err(message)) => ToolResponse::error(message),
            Err(_) => ToolResponse::error("the upstream call was stopped"),
        },
        Some(question) = questions.recv() => match call.0.take() {
            Some(task) => {
                let key = key_of(&question.method).to_owned();
                park(upstream, Parked::new(task, questions, question, key))
            }
            None => ToolResponse::error("the upstream call was stopped"),
        },
    }
}

/// The key a question is asked under.
fn key_of(method: &str) -> &'static str {
    match method {
        "elicitation/create" => "elicitation",
        "sampling/createMessage" => "sampling",
        "roots/list" => "roots",
        _ => "input",
    }
}

/// Parks the call and answers its question as the `InputRequiredResult`; refused (the
/// call stopped) when too many calls wait already.
fn park(upstream: &Arc<Upstream>, parked: Parked) -> ToolResponse {
    let Some(asked) = parked.asked() else {
        return ToolResponse::error("the upstream call was stopped");
    };
    let mut input = InputRequired::new();
    input.requests.insert(
        parked.key.clone(),
        json!({"method": asked.method, "params": asked.params}),
    );
    match upstream.rounds().park(parked, upstream.call_timeout()) {
        Some(id) => ToolResponse::input_required(input.state(id)),
        None => ToolResponse::error(
            "too many calls are waiting for their clients' answers; try again later",
        ),
    }
}
