//! `GET /metrics`: the Prometheus text of [`Metrics`] (feature `telemetry`).

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::telemetry::Metrics;

/// A router that answers `GET /metrics` with `metrics` in Prometheus's text format, to
/// serve on an address of its own (`HttpAdapter::metrics` adds the same route beside
/// `/mcp`, behind the front door).
pub fn metrics_router(metrics: Metrics) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let text = metrics.encode();
            async move { ([(header::CONTENT_TYPE, Metrics::CONTENT_TYPE)], text).into_response() }
        }),
    )
}
