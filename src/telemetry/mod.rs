//! Telemetry: what the airlock decided, how long it took, and what it masked, for the
//! tools operators already run.
//!
//! The library instruments itself with `tracing` only (spans and events at `DEBUG` under
//! the target `airlock.span`; see [`span`] for their names and fields). A subscriber of your own
//! sees them like any other. Feature `telemetry` adds the exporters:
//!
//! - [`Metrics`]: counters and histograms of calls, refusals, layers, the upstream, the
//!   sanitizer's findings, the sandbox, approvals and the state backend, in Prometheus's
//!   text format (`HttpAdapter::metrics` serves them at `GET /metrics`). The `tool` label
//!   names only tools of the catalog (others are `other`) and at most
//!   `max_tool_labels` of them; no label carries a caller or any input.
//! - [`Telemetry`]: the `[telemetry]` section ([`TelemetryConfig`]) started: the metrics,
//!   traces over OTLP (gRPC or HTTP; one span per call, a child per layer that acted, one
//!   for the round trip to a proxied server; parent from the client's `traceparent`), and
//!   optionally the audit records as OTLP log records; all as one `tracing` layer.
//! - [`Counted`]: where the metrics are all you export, a subscriber that counts them at a
//!   fraction of the layer's cost ([`Telemetry::counts_alone`] says when).
//!
//! ```
//! # #[cfg(feature = "telemetry")]
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use agent_airlock::telemetry::{Telemetry, TelemetryConfig};
//! use tracing_subscriber::layer::SubscriberExt as _;
//!
//! let telemetry = Telemetry::start(&TelemetryConfig::default())?;
//! let subscriber = tracing_subscriber::registry().with(telemetry.layer());
//! tracing::subscriber::set_global_default(subscriber)?;
//! // … serve; `telemetry.metrics().encode()` is the Prometheus text.
//! telemetry.shutdown().await;
//! # Ok(()) }
//! ```

mod config;
#[cfg(feature = "telemetry")]
mod counted;
#[cfg(feature = "telemetry")]
mod export;
#[cfg(feature = "telemetry")]
mod metrics;
pub(crate) mod propagate;
pub mod span;

pub use config::TelemetryConfig;
#[cfg(feature = "telemetry")]
pub use counted::Counted;
#[cfg(feature = "telemetry")]
pub use export::{Telemetry, TelemetryError};
#[cfg(feature = "telemetry")]
pub use metrics::{Metrics, MetricsLayer};
pub use span::TraceContext;
