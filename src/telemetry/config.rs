//! [`TelemetryConfig`]: the `[telemetry]` section.

use serde::{Deserialize, Serialize};

/// `[telemetry]`: traces and audit records over OTLP, metrics for Prometheus (feature
/// `telemetry`; the section parses on every build).
///
/// Every field left unset falls back to the standard OpenTelemetry variable named beside
/// it, then to the default:
///
/// ```toml
/// [telemetry]
/// otlp_endpoint = "http://127.0.0.1:4317"   # OTEL_EXPORTER_OTLP_ENDPOINT; none: no export
/// otlp_protocol = "grpc"                    # OTEL_EXPORTER_OTLP_PROTOCOL: grpc | http/protobuf
/// service_name = "airlock"                  # OTEL_SERVICE_NAME
/// sample_ratio = 1.0                        # of the traces a client did not sample already
/// audit_logs = false                        # the audit records as OTLP log records too
/// metrics_listen = "127.0.0.1:9464"         # GET /metrics on its own address as well
/// max_tool_labels = 200                     # then the `tool` label folds into `other`
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct TelemetryConfig {
    /// The OTLP collector's endpoint (`http://host:4317` for gRPC, `http://host:4318` for
    /// HTTP); unset, `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`);
    /// with neither, nothing is exported over OTLP.
    pub otlp_endpoint: Option<String>,
    /// `grpc` or `http/protobuf`; unset, `OTEL_EXPORTER_OTLP_PROTOCOL`, then `grpc`.
    pub otlp_protocol: Option<String>,
    /// The `service.name` resource attribute; unset, `OTEL_SERVICE_NAME`, then `airlock`.
    pub service_name: Option<String>,
    /// The share of traces recorded when the client did not decide (a client's sampled or
    /// unsampled `traceparent` is followed): 0.0 to 1.0.
    pub sample_ratio: f64,
    /// Whether the audit records also go out as OTLP log records (the same masked records
    /// as the file; the audit layer must be on).
    pub audit_logs: bool,
    /// Whether the HTTP door serves `GET /metrics` beside `/mcp`.
    pub metrics: bool,
    /// An address to serve `GET /metrics` on by itself (a port only the scraper reaches).
    pub metrics_listen: Option<String>,
    /// Most distinct tool names in the metrics' `tool` label; later ones count as `other`.
    pub max_tool_labels: usize,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            otlp_protocol: None,
            service_name: None,
            sample_ratio: 1.0,
            audit_logs: false,
            metrics: true,
            metrics_listen: None,
            max_tool_labels: 200,
        }
    }
}

impl TelemetryConfig {
    /// What is wrong with the section, if anything: the key, its value, and why.
    pub(crate) fn problem(&self) -> Option<(&'static str, String, &'static str)> {
        if !(0.0..=1.0).contains(&self.sample_ratio) {
            return Some((
                "telemetry.sample_ratio",
                self.sample_ratio.to_string(),
                "must be between 0 and 1",
            ));
        }
        if let Some(protocol) = &self.otlp_protocol
            && !matches!(protocol.as_str(), "grpc" | "http/protobuf")
        {
            return Some((
                "telemetry.otlp_protocol",
                protocol.clone(),
                "must be \"grpc\" or \"http/protobuf\"",
            ));
        }
        if self.max_tool_labels == 0 {
            return Some((
                "telemetry.max_tool_labels",
                "0".into(),
                "must be at least 1",
            ));
        }
        None
    }
}
