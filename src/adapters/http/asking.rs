//! The multi-round trip for a client of the handshake revisions at the HTTP door: a tool
//! that needs the client's input ([`InputRequired`]) is not answered with it. The door
//! asks the client each request itself, as a server-to-client request on the call's event
//! stream (the client must have declared the capability at `initialize`), waits for the
//! answer the client POSTs back on its session, and calls the tool again with the answers
//! and its own state, which never leaves the server: at most [`MAX_ROUNDS`] rounds, each
//! answer waited for at most the adapter's timeout.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use super::adapter::HttpAdapter;
use crate::service::{ClientCapabilities, InputRequired, InputResponses, ToolCall, ToolResponse};

/// Most rounds the door drives for one call.
pub(super) const MAX_ROUNDS: usize = 8;

/// Runs `call`, asking `session`'s client on `outgoing` what the tool needs, and calling
/// it again with the answers.
pub(super) async fn call(
    adapter: Arc<HttpAdapter>,
    session: String,
    outgoing: mpsc::Sender<Value>,
    capabilities: ClientCapabilities,
    mut call: ToolCall,
) -> Result<ToolResponse, crate::adapters::BoxError> {
    // What the client can be asked, as a client of 2026-07-28 says it in each request: a
    // tool (or the proxy's upstream) asks only for what it can give.
    call.extensions.insert(capabilities.clone());
    let first = call.clone();
    let mut response = adapter.core.call(call).await?;
    for _ in 0..MAX_ROUNDS {
        let Some(input) = response.input_requests() else {
            break;
        };
        match ask(&adapter, &session, &outgoing, &capabilities, input).await {
            Ok(inputs) => {
                let mut again = first.clone().with_id(ToolCall::new("", Value::Null).id);
                again.extensions.insert(inputs);
                response = adapter.core.call(again).await?;
            }
            Err(why) => return Ok(ToolResponse::error(why)),
        }
    }
    Ok(response)
}

/// Asks `session`'s client each of `input`'s requests; its answers, with the tool's
/// state. `Err` says why the client could not be asked or did not answer.
async fn ask(
    adapter: &HttpAdapter,
    session: &str,
    outgoing: &mpsc::Sender<Value>,
    capabilities: &ClientCapabilities,
    input: &InputRequired,
) -> Result<InputResponses, String> {
    let mut responses = Map::new();
    for (key, method, params) in input.to_ask(capabilities)? {
        let (id, mut waiting) = adapter.clients.expect(session);
        let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        if outgoing.send(message).await.is_err() {
            return Err("the client left before it was asked".into());
        }
        let answer = match tokio::time::timeout(adapter.timeout, &mut waiting.answer).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) | Err(_) => {
                return Err(format!(
                    "the client did not answer the tool's {method} in time"
                ));
            }
        };
        match answer.get("result") {
            Some(result) if result.is_object() => {
                responses.insert(key.to_owned(), result.clone());
            }
            _ => return Err(format!("the client declined the tool's {method}")),
        }
    }
    Ok(InputResponses::new(responses).with_state(input.state.clone()))
}
