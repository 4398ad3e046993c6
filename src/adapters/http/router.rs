//! The axum router of an [`HttpAdapter`]: `/mcp` and `/tools/{name}`, with the body limit, the timeout and CORS.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::post;

use super::adapter::HttpAdapter;
use super::events::event_stream;
use super::front_door::FrontDoorLayer;
use super::jsonrpc::mcp;
use super::plain::plain;
use super::session::end_session;

impl HttpAdapter {
    /// The router: `POST /mcp` (and `DELETE /mcp` to end a session; `GET` is 405 unless
    /// [`notifications`](Self::notifications) gave it a stream to serve) and
    /// `POST /tools/{name}`.
    pub fn into_router(self) -> Router {
        let limit = self.body_limit;
        let timeout = self.timeout;
        let cors = self.cors.clone();
        // Every route's requests pass the front door before their body is read.
        let door = FrontDoorLayer::from_allowed(self.allowed.clone());
        let router = Router::new()
            .route(
                "/mcp",
                post(mcp)
                    .delete(end_session)
                    .get(event_stream)
                    .layer(door.clone().json_rpc()),
            )
            .route("/tools/{name}", post(plain).layer(door))
            .with_state(Arc::new(self))
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
