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
use super::upstream::{Answer, Call, Parked, Question, Rounds};
use crate::service::{ClientCapabilities, InputRequired, InputResponses, McpContent, ToolResponse};

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

/// What a parked call's state starts with (then its id).
const PARKED: &str = "parked:";
/// What an upstream's own `requestState` is carried under (then the state, if it gave one).
const UPSTREAM: &str = "upstream";

/// The upstream's answer as a response. An upstream of 2026-07-28 that asks for input
/// answers the client's `InputRequiredResult` with its own requests and state (the door
/// seals it), when the client can be asked (it declared `capabilities`); otherwise the
/// call fails saying so.
pub(super) fn answer_of(answer: Answer, capabilities: Option<&ClientCapabilities>) -> ToolResponse {
    let stateless = capabilities.is_some();
    match answer {
        Answer::Complete(result) => response_of(result),
        Answer::Content(content, is_error) => ToolResponse::content(content, is_error),
        Answer::Missing(missing) => {
            // Asked of the client as it is, a request it cannot answer: the door refuses it
            // with `-32021` naming the same capabilities, as the upstream did. Only for
            // capabilities the client indeed did not declare.
            let methods: Option<Vec<&str>> = missing
                .iter()
                .map(|capability| ClientCapabilities::request_for(capability))
                .collect();
            match (capabilities, methods) {
                (Some(capabilities), Some(methods))
                    if !methods.is_empty() && methods.iter().all(|m| !capabilities.supports(m)) =>
                {
                    let mut input = InputRequired::new();
                    for method in methods {
                        input = input.request(method, method, json!({}));
                    }
                    ToolResponse::input_required(input)
                }
                _ => ToolResponse::error(format!(
                    "the upstream server refused the call: it needs the client's {}",
                    missing.join(", ")
                )),
            }
        }
        Answer::InputRequired(_) if !stateless => ToolResponse::error(
            "the upstream needs input from the client first (MCP 2026-07-28's multi-round \
             trip), which this client's protocol revision cannot give through the proxy",
        ),
        Answer::InputRequired(result) => {
            use serde::Deserialize as _;
            let Ok(mut input) = InputRequired::deserialize(&result) else {
                return ToolResponse::error("the upstream's request for input is malformed");
            };
            // Its state, marked as the upstream's, goes inside the door's seal.
            input.state = Some(match input.state {
                Some(state) => format!("{UPSTREAM}:{state}"),
                None => UPSTREAM.to_owned(),
            });
            ToolResponse::input_required(input)
        }
    }
}

/// What the state of a retry the door verified stands for.
pub(super) enum Resumed<'a> {
    /// A call parked here, by its id.
    Parked(&'a str),
    /// The upstream's own round: its state, if it gave one.
    Upstream(Option<&'a str>),
}

impl<'a> Resumed<'a> {
    /// From the state this module gave.
    pub(super) fn of(state: &'a str) -> Option<Self> {
        if let Some(id) = state.strip_prefix(PARKED) {
            return Some(Resumed::Parked(id));
        }
        match state.strip_prefix(UPSTREAM)? {
            "" => Some(Resumed::Upstream(None)),
            rest => rest.strip_prefix(':').map(|s| Resumed::Upstream(Some(s))),
        }
    }
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
    heard: crate::proxy::upstream::Heard,
    capabilities: &ClientCapabilities,
) -> ToolResponse {
    let (asker, questions) = Rounds::asker(capabilities.0.clone());
    let running = upstream.clone();
    let call = tokio::spawn(async move { running.call(params, heard, Some(asker)).await });
    wait(upstream, Running(Some(call)), questions, capabilities).await
}

/// Resumes the call parked under `parked` with the client's answer.
pub(super) async fn resume(
    upstream: &Arc<Upstream>,
    parked: &str,
    inputs: Option<&InputResponses>,
    capabilities: &ClientCapabilities,
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
            wait(upstream, Running(Some(call)), questions, capabilities).await
        }
        None => ToolResponse::error("the upstream call was stopped"),
    }
}

/// Waits for the call to end or to ask something, whichever comes first.
async fn wait(
    upstream: &Arc<Upstream>,
    mut call: Running,
    mut questions: mpsc::Receiver<Question>,
    capabilities: &ClientCapabilities,
) -> ToolResponse {
    let Some(task) = call.0.as_mut() else {
        return ToolResponse::error("the upstream call was stopped");
    };
    tokio::select! {
        ended = task => match ended {
            Ok(Ok(answer)) => answer_of(answer, Some(capabilities)),
            Ok(Err(message)) => ToolResponse::error(message),
            Err(_) => ToolResponse::error("the upstream call was stopped"),
        },
        // A question the client did not declare it can answer: the call ends with
        // `-32021` naming what it needs (the door refuses a round the client cannot
        // answer), and the upstream call is stopped.
        Some(question) = questions.recv() => match call.0.take() {
            Some(task) if !capabilities.supports(&question.method) => {
                task.abort();
                let method = question.method.as_str();
                ToolResponse::input_required(InputRequired::new().request(method, method, json!({})))
            }
            Some(task) => {
                let key = ClientCapabilities::needed_for(&question.method).unwrap_or("input");
                park(upstream, Parked::new(task, questions, question, key.to_owned()))
            }
            None => ToolResponse::error("the upstream call was stopped"),
        },
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
        Some(id) => ToolResponse::input_required(input.state(format!("{PARKED}{id}"))),
        None => ToolResponse::error(
            "too many calls are waiting for their clients' answers; try again later",
        ),
    }
}
