//! `subscriptions/listen` (revision 2026-07-28): a long-lived event stream of the
//! notifications a client opts in to, in place of the earlier revisions' `GET /mcp`. The
//! first message acknowledges the subscription and says which of the requested types the
//! server honours; every message carries the subscription's id in
//! `_meta["io.modelcontextprotocol/subscriptionId"]`; a type not asked for is never sent.

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::adapter::HttpAdapter;
use super::reply::json_response;
use super::session::Requester;
use crate::mcp::RpcError;

/// `_meta` key naming the subscription a message belongs to.
const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// The notification types this door can stream, those every caller may hear (see
/// [`crate::mcp::Notification::for_every_session`]): the tools changed, and, when its relay
/// says it tells, the prompts or the resources changed.
const HONOURED: [(&str, &str, Option<&str>); 3] = [
    ("toolsListChanged", "notifications/tools/list_changed", None),
    (
        "promptsListChanged",
        "notifications/prompts/list_changed",
        Some("prompts"),
    ),
    (
        "resourcesListChanged",
        "notifications/resources/list_changed",
        Some("resources"),
    ),
];

/// Whether the relay tells when its `capability` (`prompts`, `resources`) changes.
pub(super) fn relay_tells(adapter: &HttpAdapter, capability: &str) -> bool {
    adapter
        .relay
        .as_ref()
        .is_some_and(|relay| relay.capabilities()[capability]["listChanged"] == Value::Bool(true))
}

/// A random subscription id (a tag, not a secret).
fn subscription_id() -> String {
    let mut bytes = [0u8; 12];
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `subscriptions/listen` with `params` for `requester`: the stream, or the refusal.
pub(super) fn listen(
    adapter: &HttpAdapter,
    headers: &HeaderMap,
    requester: &Requester,
    id: Value,
    params: &Map<String, Value>,
) -> Response {
    let Some(events) = &adapter.events else {
        return json_response(
            StatusCode::NOT_FOUND,
            RpcError::MethodNotFound.to_response(id),
        );
    };
    let Some(requested) = params.get("notifications").and_then(Value::as_object) else {
        return json_response(
            StatusCode::BAD_REQUEST,
            RpcError::invalid_params("subscriptions/listen needs params.notifications, an object")
                .to_response(id),
        );
    };
    let streams = headers
        .get_all(header::ACCEPT)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.contains("text/event-stream")));
    if !streams {
        return json_response(
            StatusCode::NOT_ACCEPTABLE,
            RpcError::invalid_request("accept text/event-stream to listen").to_response(id),
        );
    }
    let agreed: Vec<(&str, &str)> = HONOURED
        .iter()
        .filter(|(_, _, of)| of.is_none_or(|capability| relay_tells(adapter, capability)))
        .filter(|(kind, _, _)| requested.get(*kind) == Some(&Value::Bool(true)))
        .map(|(kind, method, _)| (*kind, *method))
        .collect();
    let subscription = subscription_id();
    let owner = requester.owner(adapter.core.policy()).to_owned();
    let Some(held) = adapter.open_streams.open(&owner, &subscription) else {
        return json_response(
            StatusCode::TOO_MANY_REQUESTS,
            RpcError::invalid_request(
                "this caller holds as many event streams as it may: close one first",
            )
            .to_response(id),
        );
    };
    let Ok(permit) = adapter.streams.clone().try_acquire_owned() else {
        return json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            RpcError::internal("too many event streams are open").to_response(id),
        );
    };
    let mut honoured = Map::new();
    for (kind, _) in &agreed {
        honoured.insert((*kind).to_owned(), Value::Bool(true));
    }
    let acknowledged = json!({
        "jsonrpc": "2.0",
        "method": "notifications/subscriptions/acknowledged",
        "params": {"notifications": honoured, "_meta": {SUBSCRIPTION_ID: subscription}},
    });
    let methods: Vec<&'static str> = agreed.iter().map(|(_, method)| *method).collect();
    let state = Listening {
        first: Some(acknowledged.to_string()),
        receiver: events.subscribe(),
        methods,
        subscription,
        _held: held,
        _permit: permit,
    };
    // The permits are held as long as the stream is open; the client ends it by closing.
    let stream = futures_util::stream::unfold(state, |mut state| async move {
        use tokio::sync::broadcast::error::RecvError;
        if let Some(first) = state.first.take() {
            let event = Event::default().event("message").data(first);
            return Some((Ok::<_, std::convert::Infallible>(event), state));
        }
        loop {
            match state.receiver.recv().await {
                Ok(notification)
                    if notification.for_every_session()
                        && state.methods.contains(&notification.method.as_str()) =>
                {
                    let mut params = notification.params.clone();
                    if !params.is_object() {
                        params = json!({});
                    }
                    params["_meta"][SUBSCRIPTION_ID] = Value::String(state.subscription.clone());
                    let message =
                        json!({"jsonrpc": "2.0", "method": notification.method, "params": params});
                    let event = Event::default().event("message").data(message.to_string());
                    return Some((Ok(event), state));
                }
                Ok(_) | Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// What an open listen stream holds.
struct Listening {
    first: Option<String>,
    receiver: tokio::sync::broadcast::Receiver<std::sync::Arc<crate::mcp::Notification>>,
    methods: Vec<&'static str>,
    subscription: String,
    _held: super::streams::Held,
    _permit: tokio::sync::OwnedSemaphorePermit,
}
