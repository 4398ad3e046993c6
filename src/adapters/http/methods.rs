//! The MCP methods both revisions serve the same way: `tools/list` (a page of the tools
//! this caller may see) and `tools/call` (through the stack).

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::adapter::HttpAdapter;
use std::sync::Arc;

use super::reply::json_response;
use super::rounds::Round;
use super::session::Requester;
use crate::mcp::RpcError;
use crate::mcp::result::call_result;
use crate::service::{Caller, ToolCall};
use crate::telemetry::TraceContext;

/// A `tools/list` cursor: the index of the page's first tool, tagged and base64url'd so
/// clients treat it as opaque.
pub(super) fn encode_cursor(start: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("tools:{start}"))
}

pub(super) fn decode_cursor(cursor: &str) -> Option<usize> {
    use base64::Engine;
    if cursor.len() > 64 {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    std::str::from_utf8(&bytes)
        .ok()?
        .strip_prefix("tools:")?
        .parse()
        .ok()
}

/// The catalog, filtered by the policy for this caller.
pub(super) fn list_tools(adapter: &HttpAdapter, caller: Caller) -> Vec<Value> {
    adapter.core.visible(caller, |t| t.to_mcp())
}

/// `tools/list`: the page `params.cursor` names (the first without one).
pub(super) fn tools_page(
    adapter: &HttpAdapter,
    caller: &Caller,
    params: &Map<String, Value>,
) -> Result<Value, RpcError> {
    let start = match params.get("cursor") {
        None | Some(Value::Null) => 0,
        Some(Value::String(cursor)) => decode_cursor(cursor).ok_or_else(|| {
            RpcError::invalid_params("invalid cursor: use a nextCursor this server gave")
        })?,
        Some(_) => return Err(RpcError::invalid_params("the cursor must be a string")),
    };
    let tools = list_tools(adapter, caller.clone());
    let end = start.saturating_add(adapter.page_size).min(tools.len());
    let page: Vec<&Value> = tools.get(start..end).unwrap_or_default().iter().collect();
    let mut result = json!({"tools": page});
    if end < tools.len() {
        result["nextCursor"] = Value::String(encode_cursor(end));
    }
    Ok(result)
}

/// A JSON-RPC success response, serialized without building a `Value` tree.
#[derive(Serialize)]
pub(super) struct RpcResult<'a, R> {
    pub(super) jsonrpc: &'static str,
    pub(super) id: &'a Value,
    pub(super) result: R,
}

/// The whole JSON-RPC answer to a `tools/call` streamed after its progress (no status or
/// headers left to set).
fn answer(
    adapter: &HttpAdapter,
    round: Option<&Round>,
    answered: Result<crate::service::ToolResponse, crate::adapters::BoxError>,
    typed: bool,
    id: &Value,
) -> Value {
    let Ok(response) = answered else {
        return RpcError::internal("internal error").to_response(id.clone());
    };
    let result = match round {
        None => serde_json::to_value(call_result(&response, typed)),
        Some(round) => {
            let held = round.approval(adapter, &response);
            match held.as_ref().or(response.input_requests()) {
                Some(input) => match round.ask(adapter, input) {
                    Ok(result) => Ok(result),
                    Err(error) => return error.to_response(id.clone()),
                },
                None => serde_json::to_value(call_result(&response, typed)).map(|mut result| {
                    if let Value::Object(fields) = &mut result {
                        fields.insert("resultType".into(), "complete".into());
                    }
                    result
                }),
            }
        }
    };
    json!({"jsonrpc": "2.0", "id": id, "result": result.unwrap_or_default()})
}

/// `tools/call`: the call through the stack, answered as a `CallToolResult` (with
/// `resultType` under the stateless revision); a refusal for lacking scopes at a
/// protected resource is 403 with the scopes to ask for (the refusal stays in the body).
pub(super) async fn call_tool(
    adapter: &Arc<HttpAdapter>,
    headers: &HeaderMap,
    requester: &Requester,
    id: Value,
    mut params: Map<String, Value>,
    session: Option<String>,
    round: Option<&Round>,
) -> Response {
    let Some(Value::String(name)) = params.remove("name") else {
        return json_response(
            StatusCode::OK,
            RpcError::invalid_params("tools/call needs params.name, the tool's name")
                .to_response(id),
        );
    };
    let arguments = match params.remove("arguments") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(v @ Value::Object(_)) => v,
        Some(_) => {
            return json_response(
                StatusCode::OK,
                RpcError::invalid_params("params.arguments must be an object").to_response(id),
            );
        }
    };
    let typed = adapter.core.has_output_schema(&name);
    // A client that hears the call's progress or log messages, or can be asked what the
    // tool needs: streamed once there is something to send.
    let streams = super::call_stream::takes_stream(headers);
    let token = super::call_stream::token(&params).filter(|_| streams);
    let (level, asked) = match (round, &session) {
        (Some(round), _) => (round.log_level, None),
        (None, Some(session)) if streams => {
            let (level, askable) = adapter.clients.for_call(session);
            // Not in a batch: its answers are one array, nothing can be asked midway.
            let asked = askable
                .filter(|_| !requester.batched)
                .map(|capabilities| (session.clone(), capabilities));
            (level, asked)
        }
        _ => (None, None),
    };
    let level = level.filter(|_| streams);
    let mut call = ToolCall::new(name, arguments).with_caller(requester.caller.clone());
    // Only a session this server issued to this caller counts for budgets.
    call.session = session;
    if let Some(round) = round {
        call.extensions.insert(round.capabilities.clone());
        if let Some(inputs) = &round.inputs {
            call.extensions.insert(inputs.clone());
        }
    }
    // The client's trace: `_meta` (MCP's place for it) first, then the headers.
    if let Some(context) = params
        .get("_meta")
        .and_then(TraceContext::from_meta)
        .or_else(|| TraceContext::from_headers(headers))
    {
        call.extensions.insert(context);
    }
    let caller = adapter.protected.as_ref().map(|_| requester.caller.clone());
    let tool = caller.as_ref().map(|_| call.tool.clone());
    let answered = if token.is_none() && level.is_none() && asked.is_none() {
        adapter.core.call(call).await
    } else {
        let channel = super::call_stream::Channel::new();
        if let Some(token) = token {
            call.extensions.insert(channel.progress(token));
        }
        if let Some(level) = level {
            call.extensions.insert(channel.log(level));
        }
        let running: super::call_stream::Running = match asked {
            Some((session, capabilities)) => Box::pin(super::asking::call(
                adapter.clone(),
                session,
                channel.sender(),
                capabilities,
                call,
            )),
            None => {
                let core = adapter.core.clone();
                Box::pin(async move { core.call(call).await })
            }
        };
        let (adapter, round, id) = (adapter.clone(), round.cloned(), id.clone());
        let finish = move |answered| answer(&adapter, round.as_ref(), answered, typed, &id);
        match super::call_stream::run(channel, running, finish).await {
            super::call_stream::Ended::Answered(answered) => answered,
            super::call_stream::Ended::Streamed(response) => return response,
        }
    };
    let response = match answered {
        Ok(response) => response,
        Err(_) => {
            return json_response(
                StatusCode::OK,
                RpcError::internal("internal error").to_response(id),
            );
        }
    };
    let mut out = if let Some(round) = round {
        // A call held for a person's approval, for a client that can open a link: its user
        // is sent to the approvers' page, and the retry goes through once a person approved.
        let held = round.approval(adapter, &response);
        let result = match held.as_ref().or(response.input_requests()) {
            // Not an answer yet: what the tool needs, its state sealed to this call.
            Some(input) => match round.ask(adapter, input) {
                Ok(result) => result,
                Err(error) => {
                    return json_response(super::rounds::status_of(&error), error.to_response(id));
                }
            },
            None => {
                let mut result =
                    serde_json::to_value(call_result(&response, typed)).unwrap_or_default();
                if let Value::Object(fields) = &mut result {
                    fields.insert("resultType".into(), "complete".into());
                }
                result
            }
        };
        json_response(
            StatusCode::OK,
            RpcResult {
                jsonrpc: "2.0",
                id: &id,
                result,
            },
        )
    } else {
        json_response(
            StatusCode::OK,
            RpcResult {
                jsonrpc: "2.0",
                id: &id,
                result: call_result(&response, typed),
            },
        )
    };
    if let (Some(caller), Some(tool)) = (caller, tool)
        && response
            .rejection
            .as_ref()
            .is_some_and(|r| r.code == crate::service::RejectionCode::InsufficientScope)
        && let Some(value) = super::oauth::step_up(adapter, &tool, &caller)
    {
        *out.status_mut() = StatusCode::FORBIDDEN;
        out.headers_mut()
            .insert(axum::http::header::WWW_AUTHENTICATE, value);
    }
    out
}
