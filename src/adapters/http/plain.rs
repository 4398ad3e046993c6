//! `POST /tools/{name}`: the plain HTTP door, statuses from the rejection codes.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::adapter::HttpAdapter;
use super::reply::json_response;
use crate::adapters::caller_of;
use crate::service::ToolCall;
use crate::state::session::{SessionCheck, owner_of};

pub(super) async fn plain(
    State(adapter): State<Arc<HttpAdapter>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let arguments: Value = if body.is_empty() {
        Value::Object(Map::new())
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return json_response(
                    StatusCode::BAD_REQUEST,
                    json!({"error": format!("the body is not JSON: {e}")}),
                );
            }
        }
    };
    let (caller, presented) = caller_of(&headers);
    // A session id counts only if this server issued it to this caller.
    let session = match presented {
        None => None,
        Some(session) => {
            let owner = owner_of(&caller, adapter.core.policy());
            match adapter.sessions.check(&session, &owner).await {
                SessionCheck::Valid => {}
                SessionCheck::Unavailable => {
                    return json_response(
                        StatusCode::SERVICE_UNAVAILABLE,
                        json!({"error": "sessions cannot be checked now; try again later"}),
                    );
                }
                SessionCheck::Unknown => {
                    return json_response(
                        StatusCode::NOT_FOUND,
                        json!({"error": "unknown or expired session"}),
                    );
                }
            }
            Some(session)
        }
    };
    let step_up_caller = adapter.protected.as_ref().map(|_| caller.clone());
    let mut call = ToolCall::new(name, arguments).with_caller(caller);
    call.session = session;
    if let Some(context) = crate::telemetry::TraceContext::from_headers(&headers) {
        call.extensions.insert(context);
    }
    let response_tool = call.tool.clone();
    match adapter.core.call(call).await {
        Ok(response) => {
            let status = response
                .rejection
                .as_ref()
                .map_or(StatusCode::OK, |r| r.code.http_status());
            let retry = response
                .rejection
                .as_ref()
                .and_then(|r| r.retry_after)
                .map(|d| d.as_secs_f64().ceil() as u64);
            let mut out = json_response(
                status,
                serde_json::to_value(&response).unwrap_or(Value::Null),
            );
            if let Some(secs) = retry
                && let Ok(v) = HeaderValue::from_str(&secs.to_string())
            {
                out.headers_mut().insert(header::RETRY_AFTER, v);
            }
            if status == StatusCode::FORBIDDEN
                && let Some(caller) = step_up_caller
                && let Some(value) = super::oauth::step_up(&adapter, &response_tool, &caller)
            {
                out.headers_mut().insert(header::WWW_AUTHENTICATE, value);
            }
            out
        }
        Err(e) => {
            tracing::error!(error = %e, "the tool service failed");
            json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "internal error"}),
            )
        }
    }
}
