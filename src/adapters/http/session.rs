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
use std::sync::OnceLock;

use crate::layers::policy::PolicyEngine;
use crate::state::session::{SessionCheck, owner_of};

/// Who sent a request, read from its headers once at the front door: the caller, and the
/// fingerprint its sessions are bound to, worked out (the credential verified) at most once
/// per request, however many messages it holds.
pub(super) struct Requester {
    pub(super) caller: Caller,
    /// Whether the request is a batch (revision 2025-03-26), whose answers are one array:
    /// the door cannot ask its client anything in the middle of one.
    pub(super) batched: bool,
    owner: OnceLock<String>,
}

impl Requester {
    pub(super) fn new(caller: Caller) -> Self {
        Self {
            caller,
            batched: false,
            owner: OnceLock::new(),
        }
    }

    /// Who its sessions belong to ([`owner_of`]).
    pub(super) fn owner(&self, policy: Option<&PolicyEngine>) -> &str {
        self.owner.get_or_init(|| owner_of(&self.caller, policy))
    }
}

impl HttpAdapter {
    /// The session a request names, checked against the store: `Ok(None)` when it names
    /// none and none is required.
    pub(super) async fn session_of(
        &self,
        headers: &HeaderMap,
        requester: &Requester,
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
                let owner = requester.owner(self.core.policy());
                match self.sessions.check(session, owner).await {
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
        adapter.open_streams.end_session(&session);
        adapter.clients.ended(&session);
        StatusCode::NO_CONTENT.into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}
