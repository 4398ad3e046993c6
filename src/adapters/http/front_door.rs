//! The front door: what a request must be before its body is read. DNS rebinding and
//! cross-site requests (`Host`, `Origin`), the media types of a JSON-RPC message
//! (`Content-Type`, `Accept`), the protocol revision (`MCP-Protocol-Version`). A tower
//! layer over `http::Request`, as tower-http's `validate_request` is, so it is tested
//! without a socket and fits any router.
//!
//! ```
//! use agent_airlock::adapters::http::FrontDoorLayer;
//! use http::{Request, Response, StatusCode};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let inner = service_fn(|_: Request<String>| async {
//!     Ok::<_, std::convert::Infallible>(Response::new(axum::body::Body::empty()))
//! });
//! let door = ServiceBuilder::new().layer(FrontDoorLayer::loopback().json_rpc()).service(inner);
//! let rebound = Request::post("/mcp")
//!     .header("host", "attacker.example")
//!     .header("content-type", "application/json")
//!     .body(String::new())
//!     .unwrap();
//! assert_eq!(door.oneshot(rebound).await.unwrap().status(), StatusCode::FORBIDDEN);
//! # }
//! ```

use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, Uri, header};
use axum::response::Response;
use futures_util::future::{Either, Ready, ready};
use serde_json::Value;
use tower_layer::Layer;
use tower_service::Service;

use super::reply::json_response;
use crate::mcp::{RpcError, SUPPORTED_VERSIONS};

/// Host names a request may address by default: the loopback ones (any port).
pub const LOOPBACK_HOSTS: &[&str] = &["localhost", "127.0.0.1", "[::1]"];

/// Which hosts and origins a door answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Allowed {
    /// `None`: any host.
    pub(super) hosts: Option<Vec<String>>,
    pub(super) origins: Vec<String>,
}

impl Default for Allowed {
    fn default() -> Self {
        Self {
            hosts: Some(LOOPBACK_HOSTS.iter().map(|h| h.to_string()).collect()),
            origins: Vec::new(),
        }
    }
}

impl Allowed {
    /// Whether `host` (a `Host` header or an origin's host, port included or not) is one
    /// requests may address.
    fn host(&self, host: &str) -> bool {
        let Some(allowed) = &self.hosts else {
            return true;
        };
        let name = host_name(host);
        allowed
            .iter()
            .any(|a| host_name(a).eq_ignore_ascii_case(name))
    }

    /// The refusal of a request that may not pass, as a status and a message (never
    /// echoing the request).
    fn check(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        json_rpc: bool,
        revision: Revision,
    ) -> Result<(), (StatusCode, String)> {
        // HTTP/1.1 names the host in `Host`, HTTP/2 in the URI's authority. A request with
        // neither is no browser's (browsers always send one), so there is nothing to
        // rebind; anything named must be allowed.
        let host = headers
            .get(header::HOST)
            .map(|v| v.to_str().unwrap_or("\u{0}"))
            .or_else(|| uri.authority().map(|a| a.as_str()));
        if host.is_some_and(|h| !self.host(h)) {
            return Err((
                StatusCode::FORBIDDEN,
                "this server does not answer to that host name".into(),
            ));
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("").trim().to_ascii_lowercase();
            let host = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"));
            // Listed, or on an allowed host (with any host allowed, only listed ones: a
            // browser's origin must be known).
            let allowed = self
                .origins
                .iter()
                .any(|o| o.trim_end_matches('/') == origin)
                || (self.hosts.is_some() && host.is_some_and(|h| self.host(h)));
            if !allowed {
                return Err((
                    StatusCode::FORBIDDEN,
                    "requests from this origin are not allowed".into(),
                ));
            }
        }
        if json_rpc && method == Method::POST {
            let json = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
            if !json {
                return Err((
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "send the JSON-RPC message with Content-Type: application/json".into(),
                ));
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
                    return Err((
                        StatusCode::NOT_ACCEPTABLE,
                        "accept application/json (and text/event-stream) to talk to this server"
                            .into(),
                    ));
                }
            }
        }
        let checked = match revision {
            Revision::Checked => true,
            Revision::NotOnPost => method != Method::POST,
            Revision::Ignored => false,
        };
        if checked && let Some(version) = headers.get("mcp-protocol-version") {
            let version = version.to_str().unwrap_or("");
            if !SUPPORTED_VERSIONS.contains(&version) {
                return Err((
                    StatusCode::BAD_REQUEST,
                    format!(
                        "unsupported MCP-Protocol-Version; this server speaks {}",
                        SUPPORTED_VERSIONS.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Refuses, before the body is read, a request whose `Host` or `Origin` the door does not
/// answer (403), that names an MCP revision it does not speak (400), and, for a JSON-RPC
/// endpoint ([`json_rpc`](Self::json_rpc)), a `POST` that is not JSON (415) or does not
/// accept JSON or an event stream (406). Refusals are JSON-RPC errors (`-32600`).
#[derive(Debug, Clone)]
#[must_use]
pub struct FrontDoorLayer {
    allowed: Arc<Allowed>,
    json_rpc: bool,
    revision: Revision,
}

/// Where the door checks `MCP-Protocol-Version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Revision {
    /// On every request.
    Checked,
    /// Not on a `POST`, whose handler checks it against the body (and answers with the
    /// request's id, as revision 2026-07-28 asks).
    NotOnPost,
    /// Never (a document that is not MCP).
    Ignored,
}

impl FrontDoorLayer {
    /// Answers the loopback host names only ([`LOOPBACK_HOSTS`]), and no other origin.
    pub fn loopback() -> Self {
        Self::from_allowed(Allowed::default())
    }

    /// Answers `hosts` (names, with or without a port; `None`: any host) and requests from
    /// `origins` (`https://app.example.com`) besides those on an allowed host.
    pub fn new(hosts: Option<Vec<String>>, origins: Vec<String>) -> Self {
        Self::from_allowed(Allowed { hosts, origins })
    }

    pub(super) fn from_allowed(allowed: Allowed) -> Self {
        Self {
            allowed: Arc::new(allowed),
            json_rpc: false,
            revision: Revision::Checked,
        }
    }

    /// For a document that is not MCP (the protected resource metadata): `Host` and
    /// `Origin` only, whatever revision a client names (clients send theirs with every
    /// request, and a document does not depend on it).
    pub(super) fn document(mut self) -> Self {
        self.revision = Revision::Ignored;
        self
    }

    /// For the MCP endpoint: a `POST`'s revision is checked by its handler, against the
    /// body's.
    pub(super) fn revision_in_body(mut self) -> Self {
        self.revision = Revision::NotOnPost;
        self
    }

    /// Also checks a `POST`'s media types, as MCP's Streamable HTTP transport requires.
    pub fn json_rpc(mut self) -> Self {
        self.json_rpc = true;
        self
    }
}

impl<S> Layer<S> for FrontDoorLayer {
    type Service = FrontDoor<S>;

    fn layer(&self, inner: S) -> FrontDoor<S> {
        FrontDoor {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`FrontDoorLayer`] builds.
#[derive(Debug, Clone)]
pub struct FrontDoor<S> {
    inner: S,
    layer: FrontDoorLayer,
}

impl<S> FrontDoor<S> {
    inner_service_accessors!();
}

impl<S, B> Service<Request<B>> for FrontDoor<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Either<Ready<Result<Response<Body>, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let checked = self.layer.allowed.check(
            request.method(),
            request.uri(),
            request.headers(),
            self.layer.json_rpc,
            self.layer.revision,
        );
        match checked {
            Ok(()) => Either::Right(self.inner.call(request)),
            Err((status, message)) => Either::Left(ready(Ok(json_response(
                status,
                RpcError::invalid_request(message).to_response(Value::Null),
            )))),
        }
    }
}

/// The host part of a `Host` value or origin authority, without the port (compare it
/// case-insensitively).
fn host_name(host: &str) -> &str {
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

#[cfg(test)]
mod tests {
    use super::*;
    use tower::{ServiceExt, service_fn};

    /// The door in front of a service that answers 200, and how many requests reached it.
    async fn through(layer: FrontDoorLayer, request: Request<()>) -> (StatusCode, Value) {
        let inner = service_fn(|_: Request<()>| async {
            Ok::<_, std::convert::Infallible>(Response::new(Body::from("{}")))
        });
        let response = layer.layer(inner).oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    fn post(headers: &[(&str, &str)]) -> Request<()> {
        let mut r = Request::post("/mcp");
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.body(()).unwrap()
    }

    const JSON: (&str, &str) = ("content-type", "application/json");

    #[tokio::test]
    async fn each_check_refuses_with_its_status_and_a_json_rpc_error() {
        let door = FrontDoorLayer::loopback().json_rpc();
        let cases: &[(&[(&str, &str)], StatusCode)] = &[
            (&[("host", "127.0.0.1:8080"), JSON], StatusCode::OK),
            (
                &[
                    ("host", "localhost"),
                    JSON,
                    ("accept", "application/json, text/event-stream"),
                ],
                StatusCode::OK,
            ),
            (&[("host", "attacker.example"), JSON], StatusCode::FORBIDDEN),
            (
                &[
                    ("host", "localhost"),
                    ("origin", "https://attacker.example"),
                    JSON,
                ],
                StatusCode::FORBIDDEN,
            ),
            (
                &[
                    ("host", "localhost"),
                    ("origin", "http://localhost:3000"),
                    JSON,
                ],
                StatusCode::OK,
            ),
            (
                &[("host", "localhost"), ("content-type", "text/plain")],
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ),
            (
                &[("host", "localhost"), JSON, ("accept", "text/html")],
                StatusCode::NOT_ACCEPTABLE,
            ),
            (
                &[
                    ("host", "localhost"),
                    JSON,
                    ("mcp-protocol-version", "1999-01-01"),
                ],
                StatusCode::BAD_REQUEST,
            ),
            (
                &[
                    ("host", "localhost"),
                    JSON,
                    ("mcp-protocol-version", "2025-06-18"),
                ],
                StatusCode::OK,
            ),
        ];
        for (headers, want) in cases {
            let (status, body) = through(door.clone(), post(headers)).await;
            assert_eq!(status, *want, "{headers:?}");
            if status != StatusCode::OK {
                assert_eq!(body["error"]["code"], -32600, "{headers:?}");
                // Nothing of the request is echoed.
                assert!(!body.to_string().contains("attacker"), "{body}");
            }
        }
    }

    #[tokio::test]
    async fn media_types_are_a_json_rpc_endpoints_only_and_any_host_lists_origins() {
        // Not a JSON-RPC endpoint: a POST of any type passes (the plain door reads JSON
        // itself), the host is still checked.
        let plain = FrontDoorLayer::loopback();
        let (status, _) = through(plain.clone(), post(&[("host", "localhost")])).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = through(plain, post(&[("host", "evil.example")])).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // Any host: only listed origins.
        let any = FrontDoorLayer::new(None, vec!["https://app.example.com".into()]).json_rpc();
        let (status, _) = through(any.clone(), post(&[("host", "x.example"), JSON])).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = through(
            any.clone(),
            post(&[("host", "x.example"), ("origin", "https://x.example"), JSON]),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = through(
            any,
            post(&[
                ("host", "x.example"),
                ("origin", "https://app.example.com"),
                JSON,
            ]),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }

    #[test]
    fn host_names_drop_the_port() {
        assert_eq!(host_name("localhost:3000"), "localhost");
        assert_eq!(host_name("[::1]:8080"), "[::1]");
        assert_eq!(host_name("example.com"), "example.com");
    }
}
