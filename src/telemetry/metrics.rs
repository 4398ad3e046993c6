//! [`Metrics`]: the counters and histograms of the library's spans and metric events, for
//! Prometheus; [`MetricsLayer`]: the `tracing` layer that fills them.
//!
//! The layer runs for every span of every call: it allocates nothing per span but the
//! span's own record (label values are `'static` names of the code, or tool names interned
//! once).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use prometheus_client::encoding::{EncodeLabelValue, LabelValueEncoder};
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

/// A label's value: a name of the code's own, or a name of the configuration (a tool, a
/// finding kind, a backend), interned.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Label {
    Static(&'static str),
    Named(Arc<str>),
}

impl EncodeLabelValue for Label {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        match self {
            Label::Static(s) => EncodeLabelValue::encode(s, encoder),
            Label::Named(n) => EncodeLabelValue::encode(&&**n, encoder),
        }
    }
}

type Labels<const N: usize> = [(&'static str, Label); N];

/// The names a span or event may carry, as `'static` labels; anything else is `other`, so a
/// value recorded from elsewhere cannot grow the series.
const NAMES: &[&str] = &[
    // layers
    "audit",
    "sanitize",
    "policy",
    "strip_ghost_args",
    "strict_schema",
    "sandbox",
    "router",
    "adapter",
    // outcomes and decisions
    "ok",
    "tool_error",
    "refused",
    "error",
    "allowed",
    "masked",
    "clean",
    // refusal codes
    "unknown_tool",
    "malformed_call",
    "ghost_arguments",
    "schema_violation",
    "missing_schema",
    "policy_denied",
    "rate_limited",
    "outside_schedule",
    "unauthenticated",
    "sandbox_unavailable",
    "budget_exceeded",
    "audit_unavailable",
    "state_unavailable",
    "tool_changed",
    "approval_pending",
    // state operations
    "rate_limit",
    "budget",
    "session",
    "approval",
    // sandbox outcomes
    "completed",
    "exited",
    "killed",
    "timed_out",
    "setup_failed",
    "bad_response",
    // approval events
    "held",
    "granted",
    "approved",
    "denied",
];

/// The metric events' names.
const EVENTS: &[&str] = &[
    "finding",
    "truncated",
    "sandbox_run",
    "pins_held",
    "upstream_restart",
    "approval",
    "state_error",
];

/// `value` as one of `names`, `""` as itself, anything else as `other`.
fn known(names: &[&'static str], value: &str) -> &'static str {
    if value.is_empty() {
        return "";
    }
    names
        .iter()
        .find(|name| **name == value)
        .copied()
        .unwrap_or("other")
}

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
    /// Tool names seen, interned; at most `max_tools`.
    tools: RwLock<HashMap<Box<str>, Arc<str>>>,
    /// Finding kinds and backends seen, interned (the configuration bounds them).
    names: RwLock<HashMap<Box<str>, Arc<str>>>,
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
                tools: RwLock::new(HashMap::new()),
                names: RwLock::new(HashMap::new()),
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
    fn tool(&self, tool: &str) -> Label {
        intern(&self.inner.tools, tool, self.inner.max_tools)
    }

    /// A name of the configuration (a finding kind, a backend) as a label value.
    fn name(&self, name: &str) -> Label {
        intern(&self.inner.names, name, 1024)
    }
}

/// `name` from `seen`, added while `seen` holds fewer than `max`; `other` after.
fn intern(seen: &RwLock<HashMap<Box<str>, Arc<str>>>, name: &str, max: usize) -> Label {
    if name.is_empty() {
        return Label::Static("other");
    }
    {
        let seen = seen.read().unwrap_or_else(|e| e.into_inner());
        if let Some(interned) = seen.get(name) {
            return Label::Named(interned.clone());
        }
        if seen.len() >= max {
            return Label::Static("other");
        }
    }
    let mut seen = seen.write().unwrap_or_else(|e| e.into_inner());
    if seen.len() >= max && !seen.contains_key(name) {
        return Label::Static("other");
    }
    Label::Named(
        seen.entry(name.into())
            .or_insert_with(|| Arc::from(name))
            .clone(),
    )
}

/// Records the library's spans and metric events in [`Metrics`]; add it to your
/// subscriber (`Metrics::layer`).
#[derive(Debug, Clone)]
pub struct MetricsLayer {
    metrics: Metrics,
}

/// What a span's metrics need, kept in its extensions from its start to its close.
pub(super) struct Timed {
    start: Instant,
    /// The tool of a call or upstream span; the layer or operation otherwise.
    name: Label,
    outcome: &'static str,
    code: &'static str,
}

/// Reads a span's fields into [`Timed`].
struct SpanFields<'a> {
    timed: &'a mut Timed,
    metrics: &'a Metrics,
}

impl Visit for SpanFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "gen_ai.tool.name" => self.timed.name = self.metrics.tool(value),
            "airlock.layer" | "airlock.state.op" => {
                self.timed.name = Label::Static(known(NAMES, value));
            }
            "airlock.outcome" | "airlock.decision" => self.timed.outcome = known(NAMES, value),
            "airlock.refusal.code" => self.timed.code = known(NAMES, value),
            _ => {}
        }
    }

    fn record_debug(&mut self, _field: &Field, _value: &dyn std::fmt::Debug) {}
}

/// A metric event's fields.
struct EventFields<'a> {
    metrics: &'a Metrics,
    metric: &'static str,
    /// The first label (`kind`, `backend`, `label`) and the second (`outcome`).
    labels: [Label; 2],
    value: Option<u64>,
}

impl Visit for EventFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "metric" => self.metric = known(EVENTS, value),
            // Finding kinds and sandbox backends are names the configuration chose (its
            // detectors, its backend): bounded.
            "kind" | "backend" => self.labels[0] = self.metrics.name(value),
            "label" => self.labels[0] = Label::Static(known(NAMES, value)),
            "outcome" => self.labels[1] = Label::Static(known(NAMES, value)),
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

impl Metrics {
    /// What a new span of the library's (target [`TARGET`]) needs counted at its close.
    pub(super) fn timed(&self, attrs: &Attributes<'_>) -> Timed {
        let mut timed = Timed {
            start: Instant::now(),
            name: Label::Static(""),
            outcome: "",
            code: "",
        };
        attrs.record(&mut SpanFields {
            timed: &mut timed,
            metrics: self,
        });
        timed
    }

    /// Reads what a span of the library's records later (its outcome, its code).
    pub(super) fn record(&self, timed: &mut Timed, values: &Record<'_>) {
        values.record(&mut SpanFields {
            timed,
            metrics: self,
        });
    }

    /// Counts a metric event (target [`METRIC_TARGET`]).
    pub(super) fn count(&self, event: &Event<'_>) {
        let mut fields = EventFields {
            metrics: self,
            metric: "",
            labels: [Label::Static(""), Label::Static("")],
            value: None,
        };
        event.record(&mut fields);
        let inner = &self.inner;
        let [first, second] = fields.labels;
        match fields.metric {
            "finding" => {
                inner
                    .findings
                    .get_or_create(&[("kind", first)])
                    .inc_by(fields.value.unwrap_or(1));
            }
            "truncated" => {
                inner.truncations.inc();
            }
            "sandbox_run" => {
                inner
                    .sandbox_runs
                    .get_or_create(&[("backend", first), ("outcome", second)])
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
                    .get_or_create(&[("event", Label::Static(name)), ("label", first)])
                    .inc();
            }
            _ => {}
        }
    }

    /// Counts a span of the library's, named `name`, that closes.
    pub(super) fn close(&self, name: &str, timed: Timed) {
        let elapsed = timed.start.elapsed().as_secs_f64();
        let inner = &self.inner;
        let outcome = Label::Static(timed.outcome);
        match name {
            CALL => {
                inner
                    .calls
                    .get_or_create(&[
                        ("tool", timed.name.clone()),
                        ("outcome", outcome.clone()),
                        ("code", Label::Static(timed.code)),
                    ])
                    .inc();
                inner
                    .call_seconds
                    .get_or_create(&[("tool", timed.name), ("outcome", outcome)])
                    .observe(elapsed);
            }
            LAYER => {
                if timed.outcome == "refused" {
                    inner
                        .layer_refusals
                        .get_or_create(&[
                            ("layer", timed.name.clone()),
                            ("code", Label::Static(timed.code)),
                        ])
                        .inc();
                }
                inner
                    .layer_seconds
                    .get_or_create(&[("layer", timed.name)])
                    .observe(elapsed);
            }
            UPSTREAM => {
                inner
                    .upstream_seconds
                    .get_or_create(&[("tool", timed.name), ("outcome", outcome)])
                    .observe(elapsed);
            }
            STATE => {
                inner
                    .state_seconds
                    .get_or_create(&[("op", timed.name), ("outcome", outcome)])
                    .observe(elapsed);
            }
            _ => {}
        }
    }
}

impl<S> tracing_subscriber::Layer<S> for MetricsLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().target() != TARGET {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        span.extensions_mut().insert(self.metrics.timed(attrs));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if let Some(timed) = span.extensions_mut().get_mut::<Timed>() {
            self.metrics.record(timed, values);
        }
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() == METRIC_TARGET {
            self.metrics.count(event);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(timed) = span.extensions_mut().remove::<Timed>() else {
            return;
        };
        self.metrics.close(span.name(), timed);
    }
}
