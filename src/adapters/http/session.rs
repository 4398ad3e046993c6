//! Server-issued sessions at the HTTP door: the check of `Mcp-Session-Id`, and `DELETE /mcp`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::adapter::HttpAdapter;
use super::reply::json_response;
use crate::adapters::caller_of;
use crate::mcp::RpcError;
use crate::service::Caller;
use crate::state::session::{SessionCheck, owner_of};

impl HttpAdapter {
    /// The session a request names, checked against the store: `Ok(None)` when it names
    /// none and none is required.
    pub(super) async fn session_of(
        &self,
        headers: &HeaderMap,
        caller: &Caller,
        id: &Value,
    ) -> Result<Option<String>, Box<Response>> {
        let presented = headers
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty());
        match presented {
            None if self.require_session => Err(Box::new(json_response(
                StatusCode::BAD_REQUEST,
                RpcError::invalid_request(
                    "missing Mcp-Session-Id: call initialize first and send the id it returns",
                )
                .to_response(id.clone()),
            ))),
            None => Ok(None),
            Some(session) => {
                let owner = owner_of(caller, self.core.policy());
                match self.sessions.check(session, &owner).await {
                    SessionCheck::Valid => Ok(Some(session.to_owned())),
                    SessionCheck::Unavailable => Err(Box::new(json_response(
                        StatusCode::SERVICE_UNAVAILABLE,
                        RpcError::internal("sessions cannot be checked now; try again later")
                            .to_response(id.clone()),
                    ))),
                    SessionCheck::Unknown => Err(Box::new(json_response(
                        StatusCode::NOT_FOUND,
                        RpcError::invalid_request(
                            "unknown or expired session: initialize a new one",
                        )
                        .to_response(id.clone()),
                    ))),
                }
            }
        }
    }
}

pub(super) async fn end_session(
    State(adapter): State<Arc<HttpAdapter>>,
    headers: HeaderMap,
) -> Response {
    let (caller, session) = caller_of(&headers);
    let Some(session) = session else {
        return json_response(
            StatusCode::BAD_REQUEST,
            RpcError::invalid_request("missing Mcp-Session-Id").to_response(Value::Null),
        );
    };
    let owner = owner_of(&caller, adapter.core.policy());
    if adapter.sessions.end(&session, &owner).await {
        StatusCode::NO_CONTENT.into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}
