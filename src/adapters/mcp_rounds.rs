//! The multi-round trip at the rmcp door (`AirlockMcp`): a tool that needs the client's
//! input ([`InputRequired`]) is answered per the client's revision.
//!
//! - A client of 2026-07-28 gets the `InputRequiredResult`, its state sealed and bound to
//!   the caller, the tool and its arguments ([`StateSeal`](crate::mcp::StateSeal)); its
//!   retry's `inputResponses` and `requestState` are opened before the stack sees it.
//! - A client of the handshake revisions is asked each request itself, as the
//!   server-to-client requests of its revision (it must have declared the capability), and
//!   the tool is called again with the answers and its own state, which never leaves the
//!   server; at most [`MAX_ROUNDS`] rounds.

use rmcp::model::{ErrorCode, ErrorData, InputRequiredResult};
use rmcp::service::{Peer, RequestContext, RoleServer};
use serde_json::{Map, Value, json};

use crate::mcp::{Binding, RpcError, StateSeal};
use crate::service::{ClientCapabilities, InputRequired, InputResponses};

/// Most rounds the door drives for a client of the handshake revisions.
pub(super) const MAX_ROUNDS: usize = 8;

/// What a 2026-07-28 client's `tools/call` carries besides the tool and its arguments.
pub(super) struct Stateless {
    pub(super) caller: crate::service::Caller,
    pub(super) session: Option<String>,
    pub(super) progress: Option<Value>,
    pub(super) traced: Option<crate::telemetry::TraceContext>,
    /// The log level its `_meta` sets, or why it is refused.
    pub(super) level: Result<Option<crate::service::LogLevel>, ErrorData>,
    /// What it declared it can answer.
    pub(super) capabilities: ClientCapabilities,
    /// A retry's `inputResponses` and `requestState`.
    pub(super) responses: Option<std::collections::BTreeMap<String, Value>>,
    pub(super) state: Option<String>,
    /// The stream the answer goes to, when the door writes it (see `Notices`).
    pub(super) frames: Option<tokio::sync::mpsc::Sender<Vec<u8>>>,
}

/// How a 2026-07-28 client's call ended: answered, or a round asking for its input.
pub(super) enum Answered {
    Done(crate::service::ToolResponse),
    Input(InputRequiredResult),
}

/// Whether the request's client speaks 2026-07-28 or later.
pub(super) fn stateless(context: &RequestContext<RoleServer>) -> bool {
    context
        .protocol_version()
        .is_some_and(|v| v.as_str() >= crate::mcp::STATELESS_VERSION)
}

/// What the request's client declared it can answer: in the request's `_meta` (2026-07-28),
/// at `initialize` otherwise.
pub(super) fn capabilities(context: &RequestContext<RoleServer>) -> ClientCapabilities {
    match context.client_capabilities() {
        Some(declared) => {
            ClientCapabilities::new(serde_json::to_value(declared).unwrap_or_else(|_| json!({})))
        }
        None => declared(&context.peer),
    }
}

/// What a client of the handshake revisions declared at `initialize`.
pub(super) fn declared(peer: &Peer<RoleServer>) -> ClientCapabilities {
    ClientCapabilities::new(
        peer.peer_info()
            .and_then(|info| serde_json::to_value(&info.capabilities).ok())
            .unwrap_or_else(|| json!({})),
    )
}

/// The log level a 2026-07-28 request's `_meta` sets (`io.modelcontextprotocol/logLevel`):
/// none, a level, or invalid params.
pub(super) fn log_level(
    meta: &Option<rmcp::model::RequestMetaObject>,
    context: &RequestContext<RoleServer>,
) -> Result<Option<crate::service::LogLevel>, ErrorData> {
    const KEY: &str = "io.modelcontextprotocol/logLevel";
    let set = meta
        .as_ref()
        .and_then(|m| m.get(KEY))
        .or_else(|| context.meta.get(KEY));
    match set {
        None | Some(Value::Null) => Ok(None),
        Some(level) => level
            .as_str()
            .and_then(crate::service::LogLevel::parse)
            .map(Some)
            .ok_or_else(|| ErrorData::invalid_params("unknown log level", None)),
    }
}

/// Whether a client of the handshake revisions declared anything it can be asked
/// (elicitation, sampling, roots) at `initialize`.
pub(super) fn can_be_asked(peer: &Peer<RoleServer>) -> bool {
    peer.peer_info().is_some_and(|info| {
        let declared = &info.capabilities;
        declared.elicitation.is_some() || declared.sampling.is_some() || declared.roots.is_some()
    })
}

/// An error of the protocol module as rmcp's.
pub(super) fn error_data(error: &RpcError) -> ErrorData {
    let mut response = error.to_response(Value::Null);
    let data = response["error"].get_mut("data").map(Value::take);
    ErrorData::new(
        ErrorCode(i32::try_from(error.code()).unwrap_or(-32603)),
        error.to_string(),
        data,
    )
}

/// The verified answers of a 2026-07-28 retry, from its `inputResponses` and
/// `requestState`.
pub(super) fn answers(
    seal: &StateSeal,
    binding: &Binding,
    responses: Option<std::collections::BTreeMap<String, Value>>,
    state: Option<String>,
) -> Result<Option<InputResponses>, ErrorData> {
    let responses = responses.map(|r| Value::Object(r.into_iter().collect::<Map<String, Value>>()));
    seal.answers(binding, responses, state.map(Value::String))
        .map_err(|e| error_data(&e))
}

/// A relayed result that asks for input (`resultType: "input_required"`): `None` when it
/// is a complete result.
pub(super) fn relayed_input(result: &Value) -> Option<Result<InputRequired, ErrorData>> {
    Some(InputRequired::from_result(result)?.map_err(|_| {
        ErrorData::internal_error("the server's InputRequiredResult is malformed", None)
    }))
}

/// The `InputRequiredResult` for a 2026-07-28 client.
pub(super) fn input_required(
    seal: &StateSeal,
    binding: &Binding,
    capabilities: &ClientCapabilities,
    input: &InputRequired,
) -> Result<InputRequiredResult, ErrorData> {
    let result = seal
        .ask(binding, capabilities, input)
        .map_err(|e| error_data(&e))?;
    serde_json::from_value(result)
        .map_err(|_| ErrorData::internal_error("the tool's request for input cannot be sent", None))
}

/// Asks a client of the handshake revisions each of `input`'s requests; its answers, with
/// the tool's state. `Err` says why the client could not be asked.
pub(super) async fn ask_client(
    peer: &Peer<RoleServer>,
    capabilities: &ClientCapabilities,
    input: &InputRequired,
) -> Result<InputResponses, String> {
    let mut responses = Map::new();
    for (key, method, params) in input.to_ask(capabilities)? {
        let request: rmcp::model::ServerRequest =
            serde_json::from_value(json!({"method": method, "params": params}))
                .map_err(|_| format!("the tool's {method} request is malformed"))?;
        let answer = peer
            .send_request(request)
            .await
            .map_err(|e| format!("the client did not answer the tool's {method}: {e}"))?;
        let answer = serde_json::to_value(answer)
            .map_err(|_| "the client's answer cannot be read".to_owned())?;
        responses.insert(key.to_owned(), answer);
    }
    Ok(InputResponses::new(responses).with_state(input.state.clone()))
}
