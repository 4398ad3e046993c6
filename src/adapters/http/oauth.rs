//! The HTTP door as an OAuth 2.1 protected resource ([`ProtectedResource`]) at work: the
//! metadata served, the `401` challenge of a caller without a valid token, the `403` of a
//! step-up.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::adapter::HttpAdapter;
use super::reply::json_response;
use super::resource::ProtectedResource;
use crate::adapters::caller_of;
use crate::layers::policy::granted_scopes;
use crate::service::Caller;

/// `GET /.well-known/oauth-protected-resource[/path]`.
pub(super) async fn metadata(State(adapter): State<Arc<HttpAdapter>>) -> Response {
    match &adapter.protected {
        Some(resource) => {
            let mut response = json_response(StatusCode::OK, resource.document());
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("max-age=300"),
            );
            response
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Before a request reaches MCP or a tool: the keys its token needs are fetched (see
/// [`PolicyEngine::prepare`](crate::layers::policy::PolicyEngine::prepare)), and, when the
/// door is a protected resource, a caller whose token does not verify (or who has none
/// where identity is required) is answered 401 with the challenge.
pub(super) async fn challenge(
    State(adapter): State<Arc<HttpAdapter>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(policy) = adapter.core.policy() else {
        return next.run(request).await;
    };
    let (mut caller, _) = caller_of(request.headers());
    adapter.core.prepare(&caller).await;
    if let Some(resource) = &adapter.protected {
        let presented = caller.credential.is_some();
        if (presented || policy.requires_identity()) && policy.authenticate(&mut caller).is_err() {
            return unauthorized(resource, presented);
        }
    }
    next.run(request).await
}

fn unauthorized(resource: &ProtectedResource, presented: bool) -> Response {
    let mut response = json_response(
        StatusCode::UNAUTHORIZED,
        json!({
            "jsonrpc": "2.0",
            "id": null,
            "error": {
                "code": -32001,
                "message": "unauthorized: send an access token of this server's authorization \
                            server (Authorization: Bearer …); its metadata says where to get one",
            }
        }),
    );
    if let Ok(value) = HeaderValue::from_str(&resource.unauthorized(presented)) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// When the door is a protected resource and `caller` was refused a call of `tool` for
/// lacking scopes: the 403 challenge naming every scope to ask for.
pub(super) fn step_up(adapter: &HttpAdapter, tool: &str, caller: &Caller) -> Option<HeaderValue> {
    let resource = adapter.protected.as_ref()?;
    let policy = adapter.core.policy()?;
    let mut verified = caller.clone();
    policy.authenticate(&mut verified).ok()?;
    let missing = policy.missing_scopes(tool, &verified);
    if missing.is_empty() {
        return None;
    }
    let held: Vec<&str> = granted_scopes(&verified.claims).collect();
    HeaderValue::from_str(&resource.insufficient_scope(&held, &missing)).ok()
}
