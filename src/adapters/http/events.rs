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
    let session = match adapter.session_of(&headers, &requester, &Value::Null).await {
        Ok(Some(session)) => session,
        Ok(None) => return no_stream().await,
        Err(refusal) => return *refusal,
    };
    let owner = requester.owner(adapter.core.policy()).to_owned();
    let Some(held) = adapter.open_streams.open(&owner, &session) else {
        return json_response(
            StatusCode::TOO_MANY_REQUESTS,
            RpcError::invalid_request(
                "this caller holds as many event streams as it may: close one first",
            )
            .to_response(Value::Null),
        );
    };
    let Ok(permit) = adapter.streams.clone().try_acquire_owned() else {
        return json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            RpcError::internal("too many event streams are open").to_response(Value::Null),
        );
    };
    let receiver = events.subscribe();
    let watch = Watch {
        receiver,
        held,
        _permit: permit,
        sessions: adapter.sessions.clone(),
        clients: adapter.clients.clone(),
        owner,
        session,
        next_check: tokio::time::Instant::now() + RECHECK,
    };
    // The permits are held as long as the stream is; it ends with its session (ended here,
    // or found ended or expired when it is looked at again).
    let stream = futures_util::stream::unfold(watch, |mut watch| async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            tokio::select! {
                received = watch.receiver.recv() => match received {
                    Ok(notification)
                        if notification.for_every_session() || watch.subscribed(&notification) =>
                    {
                        let event = Event::default()
                            .event("message")
                            .data(notification.to_message());
                        return Some((Ok::<_, std::convert::Infallible>(event), watch));
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return None,
                },
                _ = watch.held.ended.changed() => return None,
                () = tokio::time::sleep_until(watch.next_check) => {
                    watch.next_check = tokio::time::Instant::now() + RECHECK;
                    let check = watch.sessions.check(&watch.session, &watch.owner).await;
                    if check != crate::state::session::SessionCheck::Valid {
                        return None;
                    }
                }
            }
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// How often an open stream looks its session up again (ended on another replica, or
/// expired).
const RECHECK: Duration = Duration::from_secs(15);

/// What an open stream holds.
struct Watch {
    receiver: tokio::sync::broadcast::Receiver<Arc<crate::mcp::Notification>>,
    held: super::streams::Held,
    _permit: tokio::sync::OwnedSemaphorePermit,
    sessions: Arc<dyn crate::state::session::SessionStore>,
    clients: Arc<super::clients::Clients>,
    owner: String,
    session: String,
    next_check: tokio::time::Instant,
}

impl Watch {
    /// Whether `notification` is an update of a resource this stream's session subscribed
    /// to.
    fn subscribed(&self, notification: &crate::mcp::Notification) -> bool {
        notification.method == "notifications/resources/updated"
            && notification
                .params
                .get("uri")
                .and_then(Value::as_str)
                .is_some_and(|uri| self.clients.subscribed(&self.session, uri))
    }
}

pub(super) async fn no_stream() -> Response {
    let mut response = StatusCode::METHOD_NOT_ALLOWED.into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST, DELETE"));
    response
}
