//! `POST /mcp`: JSON-RPC messages (one, or a batch under revision 2025-03-26) and the MCP methods the door serves itself.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::adapter::HttpAdapter;
use super::methods::{call_tool, tools_page};
use super::reply::{json_response, rpc_result};
use super::session::Requester;
use crate::adapters::caller_of;
use crate::mcp::{PROTOCOL_VERSION, RpcError, SUPPORTED_VERSIONS};
use crate::state::session::SessionError;

/// Most messages in one JSON-RPC batch (protocol revision 2025-03-26).
pub const MAX_BATCH: usize = 32;

pub(super) async fn mcp(
    State(adapter): State<Arc<HttpAdapter>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let message: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                RpcError::Parse(e.to_string().into()).to_response(Value::Null),
            );
        }
    };
    // The revision decides how the request is served: 2026-07-28 statelessly, the earlier
    // ones with the handshake and sessions.
    match super::stateless::revision(&headers, &message) {
        Ok(super::stateless::Revision::Stateless) => {
            let requester = Requester::new(caller_of(&headers).0);
            return super::stateless::one(&adapter, &headers, &requester, message).await;
        }
        Ok(super::stateless::Revision::Handshake) => {}
        Err(error) => {
            let id = message.get("id").cloned().unwrap_or(Value::Null);
            return json_response(StatusCode::BAD_REQUEST, error.to_response(id));
        }
    }
    // Who is calling, read from the headers once for the whole request.
    let mut requester = Requester::new(caller_of(&headers).0);
    requester.batched = message.is_array();
    match message {
        Value::Array(items) => batch(&adapter, &headers, &requester, items).await,
        message => one(&adapter, &headers, &requester, message).await,
    }
}

/// A JSON-RPC batch, as protocol revision 2025-03-26 requires servers to accept (later
/// revisions removed batching): each message answered as if sent alone, the answers in
/// one array, notifications unanswered. Not with a later revision's header, never with
/// `initialize` inside, at most [`MAX_BATCH`] messages.
pub(super) async fn batch(
    adapter: &Arc<HttpAdapter>,
    headers: &HeaderMap,
    requester: &Requester,
    items: Vec<Value>,
) -> Response {
    let refuse = |why: &str| {
        json_response(
            StatusCode::BAD_REQUEST,
            RpcError::invalid_request(why.to_owned()).to_response(Value::Null),
        )
    };
    let version = headers
        .get("mcp-protocol-version")
        .and_then(|v| v.to_str().ok());
    if version.is_some_and(|v| v != "2025-03-26") {
        return refuse(
            "batches are part of protocol revision 2025-03-26 only: send one message per request",
        );
    }
    if items.is_empty() || items.len() > MAX_BATCH {
        return refuse(&format!("a batch holds 1 to {MAX_BATCH} messages"));
    }
    if items
        .iter()
        .any(|m| m.get("method").and_then(Value::as_str) == Some("initialize"))
    {
        return refuse("initialize cannot be part of a batch");
    }
    // The session is the request's, checked once for the whole batch.
    if let Err(refusal) = adapter.session_of(headers, requester, &Value::Null).await {
        return *refusal;
    }
    let mut answers = Vec::new();
    for item in items {
        let response = one(adapter, headers, requester, item).await;
        if response.status() == StatusCode::ACCEPTED {
            continue;
        }
        let streamed = response
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        // A call that streamed its progress: in a batch, only its answer (the last event).
        let bytes = match streamed {
            true => String::from_utf8_lossy(&bytes)
                .lines()
                .filter_map(|line| line.strip_prefix("data: "))
                .next_back()
                .unwrap_or_default()
                .as_bytes()
                .to_vec()
                .into(),
            false => bytes,
        };
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(answer) => answers.push(answer),
            Err(_) => answers.push(RpcError::internal("internal error").to_response(Value::Null)),
        }
    }
    if answers.is_empty() {
        return StatusCode::ACCEPTED.into_response();
    }
    json_response(StatusCode::OK, Value::Array(answers))
}

/// One JSON-RPC message.
pub(super) async fn one(
    adapter: &Arc<HttpAdapter>,
    headers: &HeaderMap,
    requester: &Requester,
    message: Value,
) -> Response {
    let Value::Object(mut message) = message else {
        return json_response(
            StatusCode::BAD_REQUEST,
            RpcError::invalid_request("the body must be a JSON-RPC 2.0 object")
                .to_response(Value::Null),
        );
    };
    let id = message.remove("id");
    // A notification (a method, no id) is answered 202 without a body, or 400 without
    // one when it is malformed: JSON-RPC never answers a notification.
    if id.is_none() && message.contains_key("method") {
        let valid = message.get("jsonrpc").and_then(Value::as_str) == Some("2.0")
            && message.get("method").is_some_and(Value::is_string)
            && matches!(
                message.get("params"),
                None | Some(Value::Null | Value::Object(_))
            );
        if !valid {
            return StatusCode::BAD_REQUEST.into_response();
        }
        let method = message.get("method").and_then(Value::as_str).unwrap_or("");
        if method != "notifications/initialized"
            && let Err(refusal) = adapter.session_of(headers, requester, &Value::Null).await
        {
            // The status says it; the body is dropped.
            return refusal.status().into_response();
        }
        return StatusCode::ACCEPTED.into_response();
    }
    if let Some(id) = &id
        && !(id.is_string() || id.is_i64() || id.is_u64())
    {
        return json_response(
            StatusCode::BAD_REQUEST,
            RpcError::invalid_request("the id must be a string or an integer")
                .to_response(Value::Null),
        );
    }
    if message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return json_response(
            StatusCode::BAD_REQUEST,
            RpcError::invalid_request("jsonrpc must be \"2.0\"")
                .to_response(id.unwrap_or(Value::Null)),
        );
    }
    let Some(method) = message
        .get("method")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        // The client's answer to a request the door made of it during a call, or garbage.
        return match id {
            None => StatusCode::ACCEPTED.into_response(),
            Some(id) if message.contains_key("result") || message.contains_key("error") => {
                match adapter.session_of(headers, requester, &Value::Null).await {
                    Ok(Some(session)) => {
                        // An answer nobody waits for (late, or made up) is dropped.
                        adapter
                            .clients
                            .answered(&session, &id, Value::Object(message));
                        StatusCode::ACCEPTED.into_response()
                    }
                    Ok(None) => StatusCode::ACCEPTED.into_response(),
                    Err(refusal) => refusal.status().into_response(),
                }
            }
            Some(id) => json_response(
                StatusCode::BAD_REQUEST,
                RpcError::invalid_request("the request has no method").to_response(id),
            ),
        };
    };
    let params = match message.remove("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map,
        Some(_) => {
            return json_response(
                StatusCode::OK,
                RpcError::invalid_params("params must be an object")
                    .to_response(id.unwrap_or(Value::Null)),
            );
        }
    };
    let Some(id) = id else {
        // A message without a method or an id (checked above): nothing to answer.
        return StatusCode::ACCEPTED.into_response();
    };
    if method == "initialize" {
        let asked = params.get("protocolVersion").and_then(Value::as_str);
        let version = asked
            .filter(|v| SUPPORTED_VERSIONS.contains(v))
            .unwrap_or(PROTOCOL_VERSION);
        // Where identity is required, sessions are for callers the policy verifies: one
        // without a credential, or with one that does not verify, gets none, so anonymous
        // initializes cannot fill the store that verified clients need.
        if let Some(policy) = adapter.core.policy()
            && policy.requires_identity()
            && policy.authenticate(&mut requester.caller.clone()).is_err()
        {
            return json_response(
                StatusCode::UNAUTHORIZED,
                RpcError::invalid_request(
                    "unauthenticated: this server opens sessions only for callers it can \
                     verify; send a valid credential (Authorization: Bearer …)",
                )
                .to_response(id),
            );
        }
        let owner = requester.owner(adapter.core.policy());
        let session = match adapter.sessions.create(owner).await {
            Ok(session) => session,
            Err(SessionError::OwnerFull) => {
                return json_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    RpcError::invalid_request(
                        "this caller holds as many sessions as it may: end one (DELETE /mcp) \
                         or reuse it",
                    )
                    .to_response(id),
                );
            }
            Err(e) => {
                tracing::warn!(error = %e, "no session for an initialize");
                return json_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    RpcError::internal("no session can be opened now; try again later")
                        .to_response(id),
                );
            }
        };
        adapter.clients.opened(
            &session,
            params.get("capabilities").cloned().unwrap_or_default(),
        );
        // Tools may log during calls ([`Log`](crate::service::Log)).
        let mut result = json!({
            "protocolVersion": version,
            "capabilities": {"tools": {"listChanged": adapter.events.is_some()}, "logging": {}},
            "serverInfo": {"name": adapter.name, "version": adapter.version},
        });
        if let Some(instructions) = &adapter.instructions {
            result["instructions"] = Value::String(instructions.clone());
        }
        if let Some(relay) = &adapter.relay
            && let Value::Object(more) = relay.capabilities()
            && let Some(Value::Object(capabilities)) = result.get_mut("capabilities")
        {
            for (name, value) in more {
                capabilities.entry(name).or_insert(value);
            }
        }
        let mut response = json_response(StatusCode::OK, rpc_result(id, result));
        if let Ok(value) = HeaderValue::from_str(&session) {
            response.headers_mut().insert("mcp-session-id", value);
        }
        return response;
    }
    let session = match adapter.session_of(headers, requester, &id).await {
        Ok(session) => session,
        Err(refusal) => return *refusal,
    };
    match method.as_str() {
        "ping" => json_response(StatusCode::OK, rpc_result(id, json!({}))),
        "tools/list" => match tools_page(adapter, &requester.caller, &params) {
            Ok(result) => json_response(StatusCode::OK, rpc_result(id, result)),
            Err(error) => json_response(StatusCode::OK, error.to_response(id)),
        },
        "tools/call" => call_tool(adapter, headers, requester, id, params, session, None).await,
        "logging/setLevel" => {
            super::session_methods::set_level(adapter, requester, id, params, session).await
        }
        "resources/subscribe" | "resources/unsubscribe" => {
            super::session_methods::subscription(adapter, requester, id, &method, params, session)
                .await
        }
        other => {
            match adapter.relay.as_ref().and_then(|relay| {
                relay.request(other, Value::Object(params), requester.caller.clone())
            }) {
                Some(answer) => match answer.await {
                    Ok(result) => json_response(StatusCode::OK, rpc_result(id, result)),
                    Err(e) => json_response(StatusCode::OK, RpcError::from(e).to_response(id)),
                },
                // The method is not echoed: it is the caller's text, and this message is built
                // outside the stack, where no sanitizer would mask it.
                None => json_response(StatusCode::OK, RpcError::MethodNotFound.to_response(id)),
            }
        }
    }
}
