//! The axum router of an [`HttpAdapter`]: `/mcp` and `/tools/{name}`, with the body limit, the timeout and CORS.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};

use super::adapter::HttpAdapter;
use super::events::event_stream;
use super::front_door::FrontDoorLayer;
use super::jsonrpc::mcp;
use super::plain::plain;
use super::session::end_session;

impl HttpAdapter {
    /// The router: `POST /mcp` (and `DELETE /mcp` to end a session; `GET` is 405 unless
    /// [`notifications`](Self::notifications) gave it a stream to serve),
    /// `POST /tools/{name}`, and `GET /metrics` when [`metrics`](Self::metrics) gave it
    /// metrics to serve.
    pub fn into_router(self) -> Router {
        let limit = self.body_limit;
        let timeout = self.timeout;
        let cors = self.cors.clone();
        // Every route's requests pass the front door before their body is read, then have
        // `body_timeout` to send all of it.
        let door = FrontDoorLayer::from_allowed(self.allowed.clone());
        let in_time = axum::middleware::from_fn_with_state(self.body_timeout, read_in_time);
        #[cfg(feature = "telemetry")]
        let metrics = self
            .metrics
            .clone()
            .map(|metrics| super::metrics_router(metrics).layer(door.clone()));
        let metadata_paths = self.protected.as_ref().map(|r| {
            let path = r.metadata_path();
            let root = "/.well-known/oauth-protected-resource".to_owned();
            if path == root {
                vec![root]
            } else {
                vec![root, path]
            }
        });
        let adapter = Arc::new(self);
        // Tokens are checked (their keys fetched, a challenge answered) after the front
        // door and before the body is read.
        let challenge =
            axum::middleware::from_fn_with_state(adapter.clone(), super::oauth::challenge);
        let mut router = Router::new()
            .route(
                "/mcp",
                post(mcp)
                    .delete(end_session)
                    .get(event_stream)
                    .layer::<_, std::convert::Infallible>(in_time.clone())
                    .layer::<_, std::convert::Infallible>(challenge.clone())
                    .layer(door.clone().json_rpc().revision_in_body()),
            )
            .route(
                "/tools/{name}",
                post(plain)
                    .layer::<_, std::convert::Infallible>(in_time)
                    .layer::<_, std::convert::Infallible>(challenge)
                    .layer(door.clone()),
            );
        for path in metadata_paths.into_iter().flatten() {
            router = router.route(
                &path,
                get(super::oauth::metadata).layer(door.clone().document()),
            );
        }
        let router = router.with_state(adapter);
        #[cfg(feature = "telemetry")]
        let router = match metrics {
            Some(metrics) => router.merge(metrics),
            None => router,
        };
        let router = router
            .layer(DefaultBodyLimit::disable())
            .layer(tower_http::limit::RequestBodyLimitLayer::new(limit))
            .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                timeout,
            ));
        match cors {
            Some(cors) => router.layer(cors),
            None => router,
        }
    }
}

/// Reads the whole body within `limit` of the head, however it trickles in: a client that
/// sends a head and then a byte now and then gets 408 and its connection back, instead
/// of holding it for the whole request timeout. (Too long a body is 413, as the body
/// limit says.)
async fn read_in_time(
    axum::extract::State(limit): axum::extract::State<std::time::Duration>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let (parts, body) = request.into_parts();
    match tokio::time::timeout(limit, axum::body::to_bytes(body, usize::MAX)).await {
        Ok(Ok(bytes)) => {
            next.run(axum::extract::Request::from_parts(parts, bytes.into()))
                .await
        }
        Ok(Err(_)) => StatusCode::PAYLOAD_TOO_LARGE.into_response(),
        Err(_) => {
            let mut response = StatusCode::REQUEST_TIMEOUT.into_response();
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
            response
        }
    }
}
