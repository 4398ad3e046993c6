//! [`Metrics`]: the counters and histograms of the library's spans and metric events, for
//! Prometheus; [`MetricsLayer`]: the `tracing` layer that fills them.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::span::{CALL, LAYER, METRIC_TARGET, STATE, TARGET, UPSTREAM};

type Labels<const N: usize> = [(&'static str, String); N];

fn seconds() -> Histogram {
    // 10 µs to about 42 s: a layer's microseconds and an upstream's seconds.
    Histogram::new(exponential_buckets(0.000_01, 4.0, 12))
}

/// The metrics, in a Prometheus registry. Cheap to clone (shared).
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    calls: Family<Labels<3>, Counter>,
    call_seconds: Family<Labels<2>, Histogram>,
    layer_seconds: Family<Labels<1>, Histogram>,
    layer_refusals: Family<Labels<2>, Counter>,
    upstream_seconds: Family<Labels<2>, Histogram>,
    state_seconds: Family<Labels<2>, Histogram>,
    findings: Family<Labels<1>, Counter>,
    truncations: Counter,
    sandbox_runs: Family<Labels<2>, Counter>,
    events: Family<Labels<2>, Counter>,
    pins_held: Gauge,
    tools: RwLock<HashSet<String>>,
    max_tools: usize,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("max_tools", &self.inner.max_tools)
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// Empty metrics whose `tool` label takes at most `max_tools` distinct names (the
    /// rest count as `other`).
    pub fn new(max_tools: usize) -> Self {
        let mut registry = Registry::with_prefix("airlock");
        let calls = Family::default();
        registry.register(
            "calls",
            "Tool calls by tool, outcome (ok, tool_error, refused) and refusal code",
            calls.clone(),
        );
        let call_seconds = Family::new_with_constructor(seconds as fn() -> Histogram);
        registry.register(
            "call_duration_seconds",
            "Time a tool call spends in the airlock and behind it, by tool and outcome",
            call_seconds.clone(),
        );
        let layer_seconds = Family::new_with_constructor(seconds as fn() -> Histogram);
        registry.register(
            "layer_duration_seconds",
            "Time each layer spends on a call of its own work",
            layer_seconds.clone(),
        );
        let layer_refusals = Family::default();
        registry.register(
            "refusals",
            "Calls refused, by the layer that refused them and the refusal code",
            layer_refusals.clone(),
        );
        let upstream_seconds = Family::new_with_constructor(seconds as fn() -> Histogram);
        registry.register(
            "upstream_duration_seconds",
            "Round trips to the proxied server, by tool and outcome",
            upstream_seconds.clone(),
        );
        let state_seconds = Family::new_with_constructor(seconds as fn() -> Histogram);
        registry.register(
            "state_duration_seconds",
            "Operations on the shared state backend, by operation and outcome (ok, error)",
            state_seconds.clone(),
        );
        let findings = Family::default();
        registry.register(
            "findings",
            "Sensitive values masked in responses, by kind",
            findings.clone(),
        );
        let truncations = Counter::default();
        registry.register(
            "truncations",
            "Responses cut to the output budget",
            truncations.clone(),
        );
        let sandbox_runs = Family::default();
        registry.register(
            "sandbox_runs",
            "Calls run in the sandbox, by backend and outcome (completed, exited, killed, \
             timed_out, setup_failed, bad_response)",
            sandbox_runs.clone(),
        );
        let events = Family::default();
        registry.register(
            "events",
            "Other events, by name and label: upstream_restart, approval (requested, \
             approved, denied), state_error",
            events.clone(),
        );
        let pins_held = Gauge::default();
        registry.register(
            "pins_held",
            "Tools of the proxied server held until an operator approves their definition",
            pins_held.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                registry,
                calls,
                call_seconds,
                layer_seconds,
                layer_refusals,
                upstream_seconds,
                state_seconds,
                findings,
                truncations,
                sandbox_runs,
                events,
                pins_held,
                tools: RwLock::new(HashSet::new()),
                max_tools: max_tools.max(1),
            }),
        }
    }

    /// The metrics in Prometheus's text format (OpenMetrics 1.0).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.inner.registry)
            .expect("writing to a String cannot fail");
        text
    }

    /// The `Content-Type` of [`encode`](Self::encode)'s text.
    pub const CONTENT_TYPE: &'static str =
        "application/openmetrics-text; version=1.0.0; charset=utf-8";

    /// The `tracing` layer that records the library's spans and events here.
    pub fn layer(&self) -> MetricsLayer {
        MetricsLayer {
            metrics: self.clone(),
        }
    }

    /// `tool` as a label value: itself while fewer than `max_tools` names were seen,
    /// `other` after.
    fn tool(&self, tool: &str) -> String {
        let seen = self.inner.tools.read().unwrap_or_else(|e| e.into_inner());
        if seen.contains(tool) {
            return tool.to_owned();
        }
        let full = seen.len() >= self.inner.max_tools;
        drop(seen);
        if full {
            return "other".into();
        }
        let mut seen = self.inner.tools.write().unwrap_or_else(|e| e.into_inner());
        if seen.len() < self.inner.max_tools {
            seen.insert(tool.to_owned());
            tool.to_owned()
        } else {
            "other".into()
        }
    }
}

/// Records the library's spans and metric events in [`Metrics`]; add it to your
/// subscriber (`Metrics::layer`).
#[derive(Debug, Clone)]
pub struct MetricsLayer {
    metrics: Metrics,
}

/// What a span's metrics need, kept in its extensions from its start to its close.
#[derive(Default)]
struct Timed {
    start: Option<Instant>,
    name: String,
    outcome: String,
    code: String,
    layer: String,
}

impl Visit for Timed {
    fn record_str(&mut self, field: &Field, value: &str) {
        let slot = match field.name() {
            "gen_ai.tool.name" | "airlock.layer" | "airlock.state.op" => &mut self.name,
            "airlock.outcome" | "airlock.decision" => &mut self.outcome,
            "airlock.refusal.code" => &mut self.code,
            "airlock.refusal.layer" => &mut self.layer,
            _ => return,
        };
        value.clone_into(slot);
    }

    fn record_debug(&mut self, _field: &Field, _value: &dyn std::fmt::Debug) {}
}

/// A metric event's fields.
#[derive(Default)]
struct MetricEvent {
    metric: String,
    labels: [Option<String>; 2],
    value: Option<u64>,
}

impl Visit for MetricEvent {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "metric" => value.clone_into(&mut self.metric),
            "kind" | "backend" | "label" => self.labels[0] = Some(value.to_owned()),
            "outcome" => self.labels[1] = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if matches!(field.name(), "count" | "value") {
            self.value = Some(value);
        }
    }

    fn record_debug(&mut self, _field: &Field, _value: &dyn std::fmt::Debug) {}
}

impl<S> tracing_subscriber::Layer<S> for MetricsLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let meta = attrs.metadata();
        if meta.target() != TARGET {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let mut timed = Timed {
            start: Some(Instant::now()),
            ..Timed::default()
        };
        attrs.record(&mut timed);
        span.extensions_mut().insert(timed);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if let Some(timed) = span.extensions_mut().get_mut::<Timed>() {
            values.record(timed);
        }
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != METRIC_TARGET {
            return;
        }
        let mut fields = MetricEvent::default();
        event.record(&mut fields);
        let inner = &self.metrics.inner;
        let [first, second] = fields.labels;
        let label = |v: Option<String>| v.unwrap_or_default();
        match fields.metric.as_str() {
            "finding" => {
                inner
                    .findings
                    .get_or_create(&[("kind", label(first))])
                    .inc_by(fields.value.unwrap_or(1));
            }
            "truncated" => {
                inner.truncations.inc();
            }
            "sandbox_run" => {
                inner
                    .sandbox_runs
                    .get_or_create(&[("backend", label(first)), ("outcome", label(second))])
                    .inc();
            }
            "pins_held" => {
                inner
                    .pins_held
                    .set(i64::try_from(fields.value.unwrap_or(0)).unwrap_or(i64::MAX));
            }
            name @ ("upstream_restart" | "approval" | "state_error") => {
                inner
                    .events
                    .get_or_create(&[("event", name.to_owned()), ("label", label(first))])
                    .inc();
            }
            _ => {}
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(timed) = span.extensions_mut().remove::<Timed>() else {
            return;
        };
        let Some(start) = timed.start else { return };
        let elapsed = start.elapsed().as_secs_f64();
        let inner = &self.metrics.inner;
        match span.name() {
            CALL => {
                let tool = self.metrics.tool(&timed.name);
                inner
                    .calls
                    .get_or_create(&[
                        ("tool", tool.clone()),
                        ("outcome", timed.outcome.clone()),
                        ("code", timed.code.clone()),
                    ])
                    .inc();
                inner
                    .call_seconds
                    .get_or_create(&[("tool", tool), ("outcome", timed.outcome)])
                    .observe(elapsed);
            }
            LAYER => {
                if timed.outcome == "refused" {
                    inner
                        .layer_refusals
                        .get_or_create(&[("layer", timed.name.clone()), ("code", timed.code)])
                        .inc();
                }
                inner
                    .layer_seconds
                    .get_or_create(&[("layer", timed.name)])
                    .observe(elapsed);
            }
            UPSTREAM => {
                let tool = self.metrics.tool(&timed.name);
                inner
                    .upstream_seconds
                    .get_or_create(&[("tool", tool), ("outcome", timed.outcome)])
                    .observe(elapsed);
            }
            STATE => {
                inner
                    .state_seconds
                    .get_or_create(&[("op", timed.name), ("outcome", timed.outcome)])
                    .observe(elapsed);
            }
            _ => {}
        }
    }
}
