//! The spans and metric events the library emits through `tracing`, one helper each, so
//! every instrumented place names them the same way (the exporters read these names).
//!
//! Every span and event here is at `DEBUG` under the target [`TARGET`] (metric events
//! under [`METRIC_TARGET`]): with no subscriber interested, each costs a check of its
//! callsite. No value of an argument or an output is ever recorded: tool names, layer
//! names, refusal codes, finding kinds and counts only.

use tracing::Span;
use tracing::field::Empty;

use crate::service::{Note, Rejection, ToolResponse};

/// The target of the library's spans.
pub const TARGET: &str = "airlock.span";
/// The target of the events that only count (metrics).
pub const METRIC_TARGET: &str = "airlock.metric";
/// The target of the audit layer's events: each record, masked, in the field `record`
/// (what `[telemetry] audit_logs` sends as OTLP log records).
pub const AUDIT_TARGET: &str = "agent_airlock::audit";

/// The name of the span of one call.
pub const CALL: &str = "airlock.call";
/// The name of the span of one layer's work on a call.
pub const LAYER: &str = "airlock.layer";
/// The name of the span of the round trip to a proxied server.
pub const UPSTREAM: &str = "airlock.upstream";
/// The name of the span of one operation on the shared state backend.
pub const STATE: &str = "airlock.state";

/// The span of one `tools/call` (OpenTelemetry's MCP conventions: span name
/// `tools/call <tool>`, `mcp.method.name`, `gen_ai.tool.name`, `gen_ai.operation.name`);
/// `tool` is the name when the catalog has it, `other` when not (a name the caller made
/// up is the caller's input: it is not recorded).
#[cfg_attr(
    not(any(feature = "axum", feature = "tonic", feature = "rmcp")),
    allow(dead_code)
)]
pub(crate) fn call(tool: &str) -> Span {
    tracing::debug_span!(
        target: "airlock.span",
        "airlock.call",
        otel.name = %format_args!("tools/call {tool}"),
        otel.kind = "server",
        otel.status_code = Empty,
        mcp.method.name = "tools/call",
        gen_ai.operation.name = "execute_tool",
        gen_ai.tool.name = tool,
        airlock.outcome = Empty,
        airlock.refusal.code = Empty,
        airlock.refusal.layer = Empty,
        error.type = Empty,
    )
}

/// The span of `layer`'s own work on a call (its decision, its masking).
pub(crate) fn layer(layer: &'static str) -> Span {
    tracing::debug_span!(
        target: "airlock.span",
        "airlock.layer",
        otel.name = layer,
        airlock.layer = layer,
        airlock.decision = Empty,
        airlock.refusal.code = Empty,
    )
}

/// The span of one call's round trip to a proxied server.
#[cfg_attr(not(feature = "proxy"), allow(dead_code))]
pub(crate) fn upstream(tool: &str) -> Span {
    tracing::debug_span!(
        target: "airlock.span",
        "airlock.upstream",
        otel.name = %format_args!("tools/call {tool}"),
        otel.kind = "client",
        mcp.method.name = "tools/call",
        gen_ai.tool.name = tool,
        airlock.outcome = Empty,
    )
}

/// The span of one operation (`op`: `rate_limit`, `session`, `approval`, …) on the shared
/// state backend.
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) fn state(op: &'static str) -> Span {
    tracing::debug_span!(
        target: "airlock.span",
        "airlock.state",
        otel.name = %format_args!("state {op}"),
        otel.kind = "client",
        airlock.state.op = op,
        airlock.outcome = Empty,
    )
}

/// Runs `check`, `layer`'s own work on a call, in the layer's span, and records what it
/// decided: `Ok` lets the call through, `Err` is the refusal.
pub(crate) fn checked<T>(
    layer: &'static str,
    check: impl FnOnce() -> Result<T, Rejection>,
) -> Result<T, Rejection> {
    let span = self::layer(layer);
    let result = span.in_scope(check);
    match &result {
        Ok(_) => allowed(&span),
        Err(rejection) => refused(&span, rejection),
    }
    result
}

/// Records on a layer's span that it let the call through.
pub(crate) fn allowed(span: &Span) {
    span.record("airlock.decision", "allowed");
}

/// Records on a layer's span that it refused the call, and the code.
pub(crate) fn refused(span: &Span, rejection: &Rejection) {
    span.record("airlock.decision", "refused");
    span.record("airlock.refusal.code", rejection.code.as_str());
}

/// Records on the sanitizer's span whether it masked anything: `masked` or `clean`.
pub(crate) fn masked(span: &Span, response: &ToolResponse) {
    let masked = response
        .notes
        .iter()
        .any(|n| matches!(n, Note::Redacted { .. } | Note::Truncated { .. }));
    span.record("airlock.decision", if masked { "masked" } else { "clean" });
}

/// Records on a call's span how it ended: `ok`, `tool_error`, or `refused` with the code
/// and the layer.
#[cfg_attr(
    not(any(feature = "axum", feature = "tonic", feature = "rmcp")),
    allow(dead_code)
)]
pub(crate) fn finished(span: &Span, response: &ToolResponse) {
    if span.is_disabled() {
        return;
    }
    let outcome = match &response.rejection {
        Some(rejection) => {
            span.record("airlock.refusal.code", rejection.code.as_str());
            span.record("airlock.refusal.layer", &*rejection.layer);
            span.record("error.type", rejection.code.as_str());
            span.record("otel.status_code", "ERROR");
            "refused"
        }
        None if response.is_error => {
            span.record("error.type", "tool_error");
            span.record("otel.status_code", "ERROR");
            "tool_error"
        }
        None => "ok",
    };
    span.record("airlock.outcome", outcome);
}

/// One event per kind of value the sanitizer masked in `response`, with its count (and
/// one if it was cut to the budget), on the current span.
pub(crate) fn findings(response: &ToolResponse) {
    for note in &response.notes {
        match note {
            Note::Redacted { counts, .. } => {
                for (kind, count) in counts {
                    tracing::debug!(
                        target: "airlock.metric",
                        metric = "finding",
                        kind = kind.as_str(),
                        count = *count as u64,
                    );
                }
            }
            Note::Truncated { .. } => {
                tracing::debug!(target: "airlock.metric", metric = "truncated");
            }
            _ => {}
        }
    }
}

/// One event for each sandbox run `response` reports (backend and outcome), on the
/// current span.
#[cfg_attr(not(feature = "sandbox"), allow(dead_code))]
pub(crate) fn sandboxed(response: &ToolResponse) {
    for note in &response.notes {
        if let Note::Sandboxed {
            backend, outcome, ..
        } = note
        {
            tracing::debug!(
                target: "airlock.metric",
                metric = "sandbox_run",
                backend = backend.as_str(),
                outcome = outcome.as_str(),
            );
        }
    }
}

/// Counts one occurrence of `metric` (`upstream_restart`, `approval`, `state_error`, …),
/// with an optional `label` value (a name from the code, never input).
pub(crate) fn count(metric: &'static str, label: &'static str) {
    tracing::debug!(target: "airlock.metric", metric = metric, label = label);
}

/// Sets the gauge `metric` (`pins_held`) to `value`.
#[cfg_attr(not(feature = "proxy"), allow(dead_code))]
pub(crate) fn gauge(metric: &'static str, value: u64) {
    tracing::debug!(target: "airlock.metric", metric = metric, value = value);
}

/// W3C trace context a client sent with a call (`traceparent`, `tracestate`), from the
/// request's `_meta` or its HTTP headers; put in
/// [`ToolCall::extensions`](crate::ToolCall::extensions) by the doors. Only a well-formed
/// `traceparent` is kept (version `00`, a non-zero trace id and parent id, lowercase hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`.
    pub traceparent: String,
    /// Vendor entries, passed on as they came (at most 512 bytes).
    pub tracestate: Option<String>,
}

impl TraceContext {
    /// The context of `traceparent` and `tracestate`, if `traceparent` is well-formed.
    pub fn parse(traceparent: &str, tracestate: Option<&str>) -> Option<Self> {
        let traceparent = traceparent.trim();
        let parts: Vec<&str> = traceparent.split('-').collect();
        let hex = |s: &str, n: usize| {
            s.len() == n && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        };
        let zero = |s: &str| s.bytes().all(|b| b == b'0');
        let [version, trace, parent, flags] = parts[..] else {
            return None;
        };
        if version != "00"
            || !hex(trace, 32)
            || !hex(parent, 16)
            || !hex(flags, 2)
            || zero(trace)
            || zero(parent)
        {
            return None;
        }
        let tracestate = tracestate
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.len() <= 512 && s.is_ascii())
            .map(str::to_owned);
        Some(Self {
            traceparent: traceparent.to_owned(),
            tracestate,
        })
    }

    /// The context in an MCP request's `_meta` (`traceparent`, `tracestate`).
    pub fn from_meta(meta: &serde_json::Value) -> Option<Self> {
        let traceparent = meta.get("traceparent")?.as_str()?;
        Self::parse(
            traceparent,
            meta.get("tracestate").and_then(serde_json::Value::as_str),
        )
    }

    /// The context in HTTP headers (`traceparent`, `tracestate`).
    pub fn from_headers(headers: &http::HeaderMap) -> Option<Self> {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        Self::parse(text("traceparent")?, text("tracestate"))
    }

    /// The trace id (32 hex digits).
    pub fn trace_id(&self) -> &str {
        &self.traceparent[3..35]
    }
}

#[cfg(test)]
mod tests {
    use super::TraceContext;

    #[test]
    fn only_a_well_formed_traceparent_is_kept() {
        let good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let context = TraceContext::parse(good, Some("vendor=x")).expect("well-formed");
        assert_eq!(context.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(context.tracestate.as_deref(), Some("vendor=x"));
        for bad in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
        ] {
            assert_eq!(TraceContext::parse(bad, None), None, "{bad:?}");
        }
        let meta = serde_json::json!({ "traceparent": good, "tracestate": 7 });
        let context = TraceContext::from_meta(&meta).expect("from _meta");
        assert_eq!(context.tracestate, None);
    }
}
