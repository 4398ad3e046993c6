//! The front door of `/mcp`, before any JSON is read: DNS rebinding and cross-site requests (`Host`, `Origin`), the media types, the protocol revision.

use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::Value;

use super::adapter::HttpAdapter;
use super::reply::json_response;
use crate::mcp::{RpcError, SUPPORTED_VERSIONS};

impl HttpAdapter {
    /// Whether `host` (a `Host` header or an origin's host, port included or not) is one
    /// requests may address.
    pub(super) fn host_allowed(&self, host: &str) -> bool {
        let Some(allowed) = &self.allowed_hosts else {
            return true;
        };
        let name = host_name(host);
        allowed
            .iter()
            .any(|a| host_name(a).eq_ignore_ascii_case(name))
    }

    /// The front door of `/mcp`, before any JSON is read: DNS rebinding and cross-site
    /// requests (Host, Origin), the media types, the protocol revision.
    pub(super) fn check_request(
        &self,
        uri: &Uri,
        headers: &HeaderMap,
        post: bool,
    ) -> Result<(), Box<Response>> {
        let refuse = |status: StatusCode, message: &str| {
            Err(Box::new(json_response(
                status,
                RpcError::invalid_request(message.to_owned()).to_response(Value::Null),
            )))
        };
        // HTTP/1.1 names the host in `Host`, HTTP/2 in the URI's authority. A request with
        // neither is no browser's (browsers always send one), so there is nothing to
        // rebind; anything named must be allowed.
        let host = headers
            .get(header::HOST)
            .map(|v| v.to_str().unwrap_or("\u{0}"))
            .or_else(|| uri.authority().map(|a| a.as_str()));
        if host.is_some_and(|h| !self.host_allowed(h)) {
            return refuse(
                StatusCode::FORBIDDEN,
                "this server does not answer to that host name",
            );
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("").trim().to_ascii_lowercase();
            let host = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"));
            // Listed, or on an allowed host (with any host allowed, only listed ones: a
            // browser's origin must be known).
            let allowed = self
                .allowed_origins
                .iter()
                .any(|o| o.trim_end_matches('/') == origin)
                || (self.allowed_hosts.is_some() && host.is_some_and(|h| self.host_allowed(h)));
            if !allowed {
                return refuse(
                    StatusCode::FORBIDDEN,
                    "requests from this origin are not allowed",
                );
            }
        }
        if post {
            let json = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
            if !json {
                return refuse(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "send the JSON-RPC message with Content-Type: application/json",
                );
            }
            let mut accepts = headers.get_all(header::ACCEPT).iter().peekable();
            if accepts.peek().is_some() {
                let fits = accepts
                    .flat_map(|v| v.to_str().unwrap_or("").split(','))
                    .any(|range| {
                        let range = range.split(';').next().unwrap_or("").trim();
                        [
                            "application/json",
                            "text/event-stream",
                            "*/*",
                            "application/*",
                            "text/*",
                        ]
                        .iter()
                        .any(|fit| range.eq_ignore_ascii_case(fit))
                    });
                if !fits {
                    return refuse(
                        StatusCode::NOT_ACCEPTABLE,
                        "accept application/json (and text/event-stream) to talk to this server",
                    );
                }
            }
        }
        if let Some(version) = headers.get("mcp-protocol-version") {
            let version = version.to_str().unwrap_or("");
            if !SUPPORTED_VERSIONS.contains(&version) {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "unsupported MCP-Protocol-Version; this server speaks {}",
                        SUPPORTED_VERSIONS.join(", ")
                    ),
                );
            }
        }
        Ok(())
    }
}

/// The host part of a `Host` value or origin authority, without the port (compare it
/// case-insensitively).
pub(super) fn host_name(host: &str) -> &str {
    let host = host.trim();
    if host.starts_with('[') {
        // [v6]:port
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}
