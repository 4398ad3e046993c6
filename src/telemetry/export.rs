//! [`Telemetry`]: the `[telemetry]` section started: the metrics, and the OTLP exporters
//! of traces and audit records, as one `tracing` layer to add to a subscriber.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing::{Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::registry::LookupSpan;

use super::config::TelemetryConfig;
use super::metrics::Metrics;
use super::span::{AUDIT_TARGET, METRIC_TARGET, TARGET};

/// Telemetry as `[telemetry]` asks: [`Metrics`] always, traces (and, with `audit_logs`,
/// the audit records) over OTLP when an endpoint is configured. Exports run in the
/// background on threads of the OpenTelemetry SDK's batch processors, through bounded
/// queues: a collector that is slow, down or refusing costs dropped spans, never a
/// blocked or failed call. The gRPC exporter's connection lives on the Tokio runtime
/// [`start`](Self::start) ran in.
#[derive(Debug)]
pub struct Telemetry {
    metrics: Metrics,
    /// Whether the metrics are served (`metrics`, or `metrics_listen`): counted only then.
    counts: bool,
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

/// The HTTP exporter's client: blocking (the batch processors export from a thread of
/// their own), rustls on ring like the proxy's, no redirects.
fn http_client() -> Result<reqwest::blocking::Client, TelemetryError> {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    // A blocking client runs a runtime of its own, which may neither start nor stop
    // inside the caller's: built (and, on failure, dropped) on a thread of its own.
    std::thread::spawn(|| {
        reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
    })
    .join()
    .map_err(|_| TelemetryError("the OTLP HTTP client could not be built".into()))?
    .map_err(|e| TelemetryError(format!("the OTLP HTTP client: {e}")))
}

/// `builder` sending to `endpoint`, or to what the variables say when it is `None`.
fn endpoint<B: WithExportConfig>(builder: B, endpoint: Option<String>) -> B {
    match endpoint {
        Some(endpoint) => builder.with_endpoint(endpoint),
        None => builder,
    }
}

/// The OTLP exporter `opentelemetry_otlp::$kind` (`SpanExporter`, `LogExporter`) over
/// the transport `$otlp` names; `?` on a build error.
macro_rules! exporter {
    ($kind:ident, $otlp:expr) => {{
        let otlp: Otlp = $otlp;
        if otlp.http {
            let builder = opentelemetry_otlp::$kind::builder()
                .with_http()
                .with_http_client(http_client()?);
            endpoint(builder, otlp.endpoint).build()
        } else {
            endpoint(
                opentelemetry_otlp::$kind::builder().with_tonic(),
                otlp.endpoint,
            )
            .build()
        }
        .map_err(|e| TelemetryError(e.to_string()))?
    }};
}

impl Telemetry {
    /// Starts what `config` asks for. Call it inside a Tokio runtime that runs as long as
    /// the exports (the gRPC exporter's connection is a task on it).
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
                let exporter = exporter!(SpanExporter, otlp);
                // The batch processor's own thread: a span ends with a push on a bounded
                // queue, and the thread is woken once per batch, not once per span.
                Some(
                    SdkTracerProvider::builder()
                        .with_batch_exporter(exporter)
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
                let exporter = exporter!(LogExporter, otlp);
                Some(
                    SdkLoggerProvider::builder()
                        .with_batch_exporter(exporter)
                        .with_resource(resource)
                        .build(),
                )
            }
        };
        Ok(Self {
            metrics: Metrics::new(config.max_tool_labels),
            counts: config.metrics || config.metrics_listen.is_some(),
            tracer,
            logger,
        })
    }

    /// The metrics (serve them with `HttpAdapter::metrics`, or encode them yourself);
    /// counted when `[telemetry]` serves them (`metrics` or `metrics_listen`).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The metrics, when counting them is all this telemetry does (they are served, and
    /// nothing goes out over OTLP): then [`Metrics::subscriber`] counts them for less than
    /// [`layer`](Self::layer) does.
    pub fn counts_alone(&self) -> Option<&Metrics> {
        (self.counts && self.tracer.is_none() && self.logger.is_none()).then_some(&self.metrics)
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
    /// and events (add it beside your own layers: they see nothing of it). With nothing
    /// asked for (no metrics served, no endpoint), a layer that is none: the library's
    /// spans then cost a check of their callsite each.
    pub fn layer<S>(&self) -> Box<dyn Layer<S> + Send + Sync + 'static>
    where
        S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        // One filter in front of the metrics and the traces (both read the same spans), one
        // in front of the audit records' bridge.
        let ours = Targets::new()
            .with_target(TARGET, Level::DEBUG)
            .with_target(METRIC_TARGET, Level::DEBUG);
        let traces = self.tracer.as_ref().map(|tracer| {
            tracing_opentelemetry::layer()
                .with_tracer(tracer.tracer("agent-airlock"))
                // What a span carries is its fields: no source location, thread, busy and
                // idle times, nor a context switched on every poll.
                .with_location(false)
                .with_tracked_inactivity(false)
                .with_context_activation(false)
                .with_threads(false)
                .with_target(false)
                .with_level(false)
        });
        let audit = self.logger.as_ref().map(|logger| {
            opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(logger)
                .with_filter(Targets::new().with_target(AUDIT_TARGET, Level::INFO))
        });
        let mut layers: Vec<Box<dyn Layer<S> + Send + Sync + 'static>> = Vec::new();
        match (self.counts, traces) {
            (true, Some(traces)) => {
                layers.push(
                    self.metrics
                        .layer()
                        .and_then(traces)
                        .with_filter(ours)
                        .boxed(),
                );
            }
            (true, None) => layers.push(self.metrics.layer().with_filter(ours).boxed()),
            (false, Some(traces)) => layers.push(traces.with_filter(ours).boxed()),
            (false, None) => {}
        }
        layers.extend(audit.map(Layer::boxed));
        if layers.is_empty() {
            // Nothing asked for: no layer at all, so the spans stay disabled at their
            // callsites (a layer that ignores them would still have them created).
            return None::<tracing_subscriber::layer::Identity>.boxed();
        }
        layers.boxed()
    }

    /// Sends what is still queued and stops the exporters (waits at most a few seconds
    /// for a collector that does not answer).
    pub async fn shutdown(self) {
        let Self { tracer, logger, .. } = self;
        // The exporters block the calling thread until their last batch is sent (over gRPC,
        // through a task of this runtime): not on a thread of the runtime itself.
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
