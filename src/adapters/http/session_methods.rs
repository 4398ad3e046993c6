//! The methods of the handshake revisions that change what a session's client hears:
//! `logging/setLevel` (the least severe log message it hears from tools during calls,
//! and from the relayed server) and `resources/subscribe` / `unsubscribe` (relayed; the
//! door remembers each session's subscriptions, so an update the relayed server sends
//! reaches only the sessions that subscribed to that resource).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::adapter::HttpAdapter;
use super::reply::{json_response, rpc_result};
use super::session::Requester;
use crate::mcp::RpcError;
use crate::service::LogLevel;

/// Longest resource URI a session may subscribe to.
const MAX_URI: usize = 1024;

/// `logging/setLevel`: remembered for the session, and passed to the relayed server when
/// it takes it.
pub(super) async fn set_level(
    adapter: &HttpAdapter,
    requester: &Requester,
    id: Value,
    params: Map<String, Value>,
    session: Option<String>,
) -> Response {
    let Some(level) = params
        .get("level")
        .and_then(Value::as_str)
        .and_then(LogLevel::parse)
    else {
        return json_response(
            StatusCode::OK,
            RpcError::invalid_params(
                "params.level must be one of debug, info, notice, warning, error, critical, \
                 alert, emergency",
            )
            .to_response(id),
        );
    };
    if let Some(session) = &session {
        adapter.clients.set_level(session, level);
    }
    let relayed = adapter.relay.as_ref().and_then(|relay| {
        relay.request(
            "logging/setLevel",
            Value::Object(params),
            requester.caller.clone(),
        )
    });
    if let Some(answer) = relayed
        && let Err(error) = answer.await
        // A relayed server without logging of its own: the door's tools still log.
        && error.code != -32601
    {
        return json_response(StatusCode::OK, RpcError::from(error).to_response(id));
    }
    json_response(StatusCode::OK, rpc_result(id, json!({})))
}

/// `resources/subscribe` and `resources/unsubscribe`, relayed; an unsubscribe is relayed
/// only once no session of this door holds the subscription any more.
pub(super) async fn subscription(
    adapter: &HttpAdapter,
    requester: &Requester,
    id: Value,
    method: &str,
    params: Map<String, Value>,
    session: Option<String>,
) -> Response {
    let refuse = |error: RpcError, id: Value| json_response(StatusCode::OK, error.to_response(id));
    let Some(relay) = &adapter.relay else {
        return refuse(RpcError::MethodNotFound, id);
    };
    let uri = match params.get("uri") {
        Some(Value::String(uri)) if !uri.is_empty() && uri.len() <= MAX_URI => uri.clone(),
        _ => {
            return refuse(
                RpcError::invalid_params(format!(
                    "params.uri must be the resource's URI (at most {MAX_URI} bytes)"
                )),
                id,
            );
        }
    };
    let subscribing = method == "resources/subscribe";
    if let Some(session) = &session {
        if subscribing && !adapter.clients.subscribe(session, &uri) {
            return refuse(
                RpcError::invalid_params(format!(
                    "this session holds as many subscriptions as it may ({}): unsubscribe \
                     from one first",
                    super::clients::MAX_SUBSCRIPTIONS
                )),
                id,
            );
        }
        if !subscribing && adapter.clients.unsubscribe(session, &uri) {
            // Another session still listens: the relayed server keeps sending.
            return json_response(StatusCode::OK, rpc_result(id, json!({})));
        }
    }
    let Some(answer) = relay.request(method, Value::Object(params), requester.caller.clone())
    else {
        if let (true, Some(session)) = (subscribing, &session) {
            adapter.clients.unsubscribe(session, &uri);
        }
        return refuse(RpcError::MethodNotFound, id);
    };
    match answer.await {
        Ok(result) => json_response(StatusCode::OK, rpc_result(id, result)),
        Err(error) => {
            if let (true, Some(session)) = (subscribing, &session) {
                adapter.clients.unsubscribe(session, &uri);
            }
            refuse(RpcError::from(error), id)
        }
    }
}
