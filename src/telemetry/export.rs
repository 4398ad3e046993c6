//! [`Telemetry`]: the `[telemetry]` section started: the metrics, and the OTLP exporters
//! of traces and audit records, as one `tracing` layer to add to a subscriber.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use opentelemetry_sdk::{Resource, runtime};
use tracing::{Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::registry::LookupSpan;

use super::config::TelemetryConfig;
use super::metrics::Metrics;
use super::span::{AUDIT_TARGET, METRIC_TARGET, TARGET};

/// Telemetry as `[telemetry]` asks: [`Metrics`] always, traces (and, with `audit_logs`,
/// the audit records) over OTLP when an endpoint is configured. Exports run in the
/// background on the Tokio runtime [`start`](Self::start) ran in, through bounded queues:
/// a collector that is slow, down or refusing costs dropped spans, never a blocked or
/// failed call.
#[derive(Debug)]
pub struct Telemetry {
    metrics: Metrics,
    tracer: Option<SdkTracerProvider>,
    logger: Option<SdkLoggerProvider>,
}

/// Telemetry could not start (a bad endpoint or protocol).
#[derive(Debug, thiserror::Error)]
#[error("telemetry: {0}")]
pub struct TelemetryError(String);

/// Where and how traces and logs go, from the section and the standard variables.
struct Otlp {
    endpoint: Option<String>,
    http: bool,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Otlp {
    /// The exporter settings for a signal (`traces` or `logs`), or `None` when nothing
    /// says where to send it.
    fn of(config: &TelemetryConfig, signal: &str) -> Option<Self> {
        if env("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            return None;
        }
        let upper = signal.to_ascii_uppercase();
        let from_env = env("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
            || env(&format!("OTEL_EXPORTER_OTLP_{upper}_ENDPOINT")).is_some();
        if config.otlp_endpoint.is_none() && !from_env {
            return None;
        }
        let protocol = config
            .otlp_protocol
            .clone()
            .or_else(|| env(&format!("OTEL_EXPORTER_OTLP_{upper}_PROTOCOL")))
            .or_else(|| env("OTEL_EXPORTER_OTLP_PROTOCOL"))
            .unwrap_or_else(|| "grpc".into());
        let http = protocol.starts_with("http");
        // A configured base URL gets the signal's path over HTTP, as the variable does.
        let endpoint = config.otlp_endpoint.as_ref().map(|base| {
            if http {
                format!("{}/v1/{signal}", base.trim_end_matches('/'))
            } else {
                base.clone()
            }
        });
        Some(Self { endpoint, http })
    }
}

fn http_client() -> reqwest::Client {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

fn built<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, TelemetryError> {
    result.map_err(|e| TelemetryError(e.to_string()))
}

impl Telemetry {
    /// Starts what `config` asks for. Call it inside the Tokio runtime that will drive the
    /// exports (they are tasks on it).
    pub fn start(config: &TelemetryConfig) -> Result<Self, TelemetryError> {
        if let Some((key, value, reason)) = config.problem() {
            return Err(TelemetryError(format!("{key} = {value}: {reason}")));
        }
        let name = config
            .service_name
            .clone()
            .or_else(|| env("OTEL_SERVICE_NAME"))
            .unwrap_or_else(|| "airlock".into());
        let resource = Resource::builder().with_service_name(name).build();
        let tracer = match Otlp::of(config, "traces") {
            None => None,
            Some(otlp) => {
                let exporter = if otlp.http {
                    let mut builder = opentelemetry_otlp::SpanExporter::builder()
                        .with_http()
                        .with_http_client(http_client());
                    if let Some(endpoint) = otlp.endpoint {
                        builder = builder.with_endpoint(endpoint);
                    }
                    built(builder.build())?
                } else {
                    let mut builder = opentelemetry_otlp::SpanExporter::builder().with_tonic();
                    if let Some(endpoint) = otlp.endpoint {
                        builder = builder.with_endpoint(endpoint);
                    }
                    built(builder.build())?
                };
                let processor =
                    opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor::builder(
                        exporter,
                        runtime::Tokio,
                    )
                    .build();
                Some(
                    SdkTracerProvider::builder()
                        .with_span_processor(processor)
                        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                            config.sample_ratio,
                        ))))
                        .with_resource(resource.clone())
                        .build(),
                )
            }
        };
        let logger = match Otlp::of(config, "logs").filter(|_| config.audit_logs) {
            None => None,
            Some(otlp) => {
                let exporter = if otlp.http {
                    let mut builder = opentelemetry_otlp::LogExporter::builder()
                        .with_http()
                        .with_http_client(http_client());
                    if let Some(endpoint) = otlp.endpoint {
                        builder = builder.with_endpoint(endpoint);
                    }
                    built(builder.build())?
                } else {
                    let mut builder = opentelemetry_otlp::LogExporter::builder().with_tonic();
                    if let Some(endpoint) = otlp.endpoint {
                        builder = builder.with_endpoint(endpoint);
                    }
                    built(builder.build())?
                };
                let processor =
                    opentelemetry_sdk::logs::log_processor_with_async_runtime::BatchLogProcessor::builder(
                        exporter,
                        runtime::Tokio,
                    )
                    .build();
                Some(
                    SdkLoggerProvider::builder()
                        .with_log_processor(processor)
                        .with_resource(resource)
                        .build(),
                )
            }
        };
        Ok(Self {
            metrics: Metrics::new(config.max_tool_labels),
            tracer,
            logger,
        })
    }

    /// The metrics (serve them with `HttpAdapter::metrics`, or encode them yourself).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Whether traces go out over OTLP.
    pub fn exports_traces(&self) -> bool {
        self.tracer.is_some()
    }

    /// Whether audit records go out over OTLP.
    pub fn exports_audit_logs(&self) -> bool {
        self.logger.is_some()
    }

    /// One `tracing` layer for all of it, each part filtered to the library's own spans
    /// and events (add it beside your own layers: they see nothing of it).
    pub fn layer<S>(&self) -> Box<dyn Layer<S> + Send + Sync + 'static>
    where
        S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        let ours = Targets::new()
            .with_target(TARGET, Level::DEBUG)
            .with_target(METRIC_TARGET, Level::DEBUG);
        let mut layers: Vec<Box<dyn Layer<S> + Send + Sync + 'static>> =
            vec![self.metrics.layer().with_filter(ours.clone()).boxed()];
        if let Some(tracer) = &self.tracer {
            layers.push(
                tracing_opentelemetry::layer()
                    .with_tracer(tracer.tracer("agent-airlock"))
                    .with_location(false)
                    .with_threads(false)
                    .with_target(false)
                    .with_level(false)
                    .with_filter(ours)
                    .boxed(),
            );
        }
        if let Some(logger) = &self.logger {
            layers.push(
                opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(logger)
                    .with_filter(Targets::new().with_target(AUDIT_TARGET, Level::INFO))
                    .boxed(),
            );
        }
        layers.boxed()
    }

    /// Sends what is still queued and stops the exporters (waits at most a few seconds
    /// for a collector that does not answer).
    pub async fn shutdown(self) {
        let Self { tracer, logger, .. } = self;
        // The exporters block the calling thread until their task on this runtime is done:
        // not on a thread of the runtime itself.
        let _ = tokio::task::spawn_blocking(move || {
            if let Some(tracer) = tracer {
                let _ = tracer.shutdown_with_timeout(std::time::Duration::from_secs(5));
            }
            if let Some(logger) = logger {
                let _ = logger.shutdown_with_timeout(std::time::Duration::from_secs(5));
            }
        })
        .await;
    }
}
