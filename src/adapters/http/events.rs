//! `GET /mcp`: the server's notifications as an event stream, for a valid session.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::adapter::HttpAdapter;
use super::reply::json_response;
use super::session::Requester;
use crate::adapters::caller_of;
use crate::mcp::RpcError;

/// `GET /mcp`: the server's notifications for every session, as an event stream, when the
/// adapter was given them ([`HttpAdapter::notifications`]); 405 otherwise.
pub(super) async fn event_stream(
    State(adapter): State<Arc<HttpAdapter>>,
    headers: HeaderMap,
) -> Response {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let Some(events) = &adapter.events else {
        return no_stream().await;
    };
    let accepts = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/event-stream"));
    if !accepts {
        return json_response(
            StatusCode::NOT_ACCEPTABLE,
            RpcError::invalid_request("accept text/event-stream to open the event stream")
                .to_response(Value::Null),
        );
    }
    if headers.get("mcp-session-id").is_none() {
        return json_response(
            StatusCode::BAD_REQUEST,
            RpcError::invalid_request(
                "missing Mcp-Session-Id: call initialize first and send the id it returns",
            )
            .to_response(Value::Null),
        );
    }
    let requester = Requester::new(caller_of(&headers).0);
    if let Err(refusal) = adapter.session_of(&headers, &requester, &Value::Null).await {
        return *refusal;
    }
    let Ok(permit) = adapter.streams.clone().try_acquire_owned() else {
        return json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            RpcError::internal("too many event streams are open").to_response(Value::Null),
        );
    };
    let receiver = events.subscribe();
    // The permit is held as long as the stream is.
    let stream =
        futures_util::stream::unfold((receiver, permit), |(mut receiver, permit)| async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                match receiver.recv().await {
                    Ok(notification) if notification.for_every_session() => {
                        let event = Event::default()
                            .event("message")
                            .data(notification.to_message());
                        return Some((
                            Ok::<_, std::convert::Infallible>(event),
                            (receiver, permit),
                        ));
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

pub(super) async fn no_stream() -> Response {
    let mut response = StatusCode::METHOD_NOT_ALLOWED.into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST, DELETE"));
    response
}
