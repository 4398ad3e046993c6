//! `Metrics::subscriber`: the metrics counted without a registry, beside the logs of the
//! subscriber it wraps, counting what `Metrics::layer` counts.
#![cfg(feature = "telemetry")]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use agent_airlock::telemetry::Metrics;
use agent_airlock::{Airlock, AirlockConfig, ToolCall, ToolRouter};
use serde_json::{Value, json};
use tower::ServiceExt as _;
use tracing::span::{Attributes, Id, Record};
use tracing::{Dispatch, Event, Metadata, Subscriber};
use tracing_subscriber::layer::SubscriberExt as _;

/// The counters and the histograms' counts of `metrics` (their sums and buckets are times).
fn counts(metrics: &Metrics) -> Vec<String> {
    let mut lines: Vec<String> = metrics
        .encode()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.contains("_total") || l.contains("_count"))
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

/// A few calls through the whole stack, under `dispatch`: one answered with an address to
/// mask, one with an argument the tool does not declare, one of the wrong type, one to a
/// tool the policy denies, two the rate limit refuses (every call counts against it).
fn calls(dispatch: &Dispatch) {
    let config = AirlockConfig::from_toml_str(
        "strict_mode = true\n\
         [policy]\nallowed_tools = [\"echo\"]\n\
         [policy.rate_limits]\n\"*\" = \"3/minute\"\n",
    )
    .unwrap();
    let router = ToolRouter::builder()
        .raw_tool(
            "echo",
            "Says it back",
            json!({"type": "object", "properties": {"n": {"type": "integer"}}}),
            |a: Value| async move {
                Ok::<_, std::convert::Infallible>(json!({"to": "jane.doe@example.com", "a": a}))
            },
        )
        .raw_tool(
            "wipe",
            "Denied",
            json!({"type": "object"}),
            |_: Value| async move { Ok::<_, std::convert::Infallible>("wiped") },
        )
        .build()
        .unwrap();
    let airlock = Airlock::from_config(&config, router.catalog())
        .unwrap()
        .without_audit();
    let service = airlock.service(router);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::dispatcher::with_default(dispatch, || {
        runtime.block_on(async {
            for (tool, arguments) in [
                ("echo", json!({"n": 1})),
                ("echo", json!({"n": 1, "ghost": true})),
                ("echo", json!({"n": "1"})),
                ("wipe", json!({})),
                ("echo", json!({"n": 2})),
                ("echo", json!({"n": 3})),
            ] {
                service
                    .clone()
                    .oneshot(ToolCall::new(tool, arguments))
                    .await
                    .unwrap();
            }
        });
    });
}

#[test]
fn the_counting_subscriber_counts_what_the_layer_counts() {
    let by_layer = Metrics::new(200);
    calls(&Dispatch::new(
        tracing_subscriber::registry().with(by_layer.layer()),
    ));
    let by_subscriber = Metrics::new(200);
    calls(&Dispatch::new(
        by_subscriber.subscriber(tracing_subscriber::registry()),
    ));
    let expected = counts(&by_layer);
    // The calls did reach the layers and the sanitizer.
    for line in [
        "airlock_refusals_total{layer=\"strip_ghost_args\",code=\"ghost_arguments\"} 1",
        "airlock_refusals_total{layer=\"strict_schema\",code=\"schema_violation\"} 1",
        "airlock_refusals_total{layer=\"policy\",code=\"policy_denied\"} 1",
        "airlock_refusals_total{layer=\"policy\",code=\"rate_limited\"} 2",
        "airlock_findings_total{kind=\"email\"} 1",
    ] {
        assert!(expected.iter().any(|l| l == line), "{line}: {expected:#?}");
    }
    assert_eq!(counts(&by_subscriber), expected);
}

/// A subscriber of the application's, recording what reaches it; its span ids have the
/// high bit set, as a `Registry`'s do once a slot's generation is high.
#[derive(Default)]
struct Recorder {
    next: AtomicU64,
    seen: Mutex<Vec<String>>,
    refs: Mutex<HashMap<u64, usize>>,
    entered: Mutex<Vec<(u64, &'static Metadata<'static>)>>,
    names: Mutex<HashMap<u64, &'static Metadata<'static>>>,
}

impl Recorder {
    fn note(&self, what: String) {
        self.seen.lock().unwrap().push(what);
    }
}

/// The recorder as the subscriber, the test keeping its own handle.
struct Probe(Arc<Recorder>);

impl std::ops::Deref for Probe {
    type Target = Recorder;

    fn deref(&self) -> &Recorder {
        &self.0
    }
}

impl Subscriber for Probe {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let id = (1 << 63) | (self.next.fetch_add(1, Ordering::Relaxed) + 1);
        self.refs.lock().unwrap().insert(id, 1);
        self.names.lock().unwrap().insert(id, span.metadata());
        self.note(format!("new {} {id:x}", span.metadata().name()));
        Id::from_u64(id)
    }

    fn record(&self, span: &Id, _: &Record<'_>) {
        self.note(format!("record {:x}", span.into_u64()));
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        self.note(format!("event {}", event.metadata().target()));
    }

    fn enter(&self, span: &Id) {
        let metadata = self.names.lock().unwrap()[&span.into_u64()];
        self.entered
            .lock()
            .unwrap()
            .push((span.into_u64(), metadata));
        self.note(format!("enter {:x}", span.into_u64()));
    }

    fn exit(&self, span: &Id) {
        self.entered.lock().unwrap().pop();
        self.note(format!("exit {:x}", span.into_u64()));
    }

    fn clone_span(&self, span: &Id) -> Id {
        *self.refs.lock().unwrap().get_mut(&span.into_u64()).unwrap() += 1;
        span.clone()
    }

    fn try_close(&self, span: Id) -> bool {
        let mut refs = self.refs.lock().unwrap();
        let left = refs.get_mut(&span.into_u64()).unwrap();
        *left -= 1;
        if *left == 0 {
            refs.remove(&span.into_u64());
            self.note(format!("close {:x}", span.into_u64()));
            return true;
        }
        false
    }

    fn current_span(&self) -> tracing_core::span::Current {
        match self.entered.lock().unwrap().last() {
            Some((id, metadata)) => tracing_core::span::Current::new(Id::from_u64(*id), metadata),
            None => tracing_core::span::Current::none(),
        }
    }
}

#[test]
fn the_wrapped_subscriber_sees_its_own_spans_under_its_own_ids_and_none_of_ours() {
    let recorder = Arc::new(Recorder::default());
    let metrics = Metrics::new(200);
    let dispatch = Dispatch::new(metrics.subscriber(Probe(recorder.clone())));
    tracing::dispatcher::with_default(&dispatch, || {
        let app = tracing::info_span!("app.request", n = tracing::field::Empty);
        let app_id = app.id().unwrap().into_u64();
        // The application's id went out under an alias: its high bit is ours.
        assert_ne!(app_id, (1 << 63) | 1);
        app.record("n", 1);
        let layer = tracing::debug_span!(
            target: "airlock.span",
            "airlock.layer",
            airlock.layer = "policy",
            airlock.decision = tracing::field::Empty,
        );
        app.in_scope(|| {
            assert_eq!(
                tracing::Span::current().metadata().unwrap().name(),
                "app.request"
            );
            layer.in_scope(|| {
                // The library's span is the current one inside it (the proxy records an
                // outcome on `Span::current()`).
                assert_eq!(
                    tracing::Span::current().metadata().unwrap().name(),
                    "airlock.layer"
                );
                tracing::Span::current().record("airlock.decision", "refused");
                tracing::info!(target: "app", "inside");
                tracing::debug!(target: "airlock.metric", metric = "truncated");
            });
            assert_eq!(
                tracing::Span::current().metadata().unwrap().name(),
                "app.request"
            );
        });
        let copy = layer.clone();
        drop(layer);
        assert!(
            !counts(&metrics)
                .iter()
                .any(|l| l.contains("layer_duration")),
            "counted before its last handle closed"
        );
        drop(copy);
        drop(app);
    });
    let seen = recorder.seen.lock().unwrap().clone();
    let own = format!("{:x}", (1u64 << 63) | 1);
    assert_eq!(
        seen,
        [
            format!("new app.request {own}"),
            format!("record {own}"),
            format!("enter {own}"),
            "event app".to_owned(),
            format!("exit {own}"),
            format!("close {own}"),
        ],
        "the recorder sees its span under its own id, and no span or metric of ours"
    );
    let counted = counts(&metrics);
    for line in [
        "airlock_layer_duration_seconds_count{layer=\"policy\"} 1",
        "airlock_refusals_total{layer=\"policy\",code=\"\"} 1",
        "airlock_truncations_total 1",
    ] {
        assert!(counted.iter().any(|l| l == line), "{line}: {counted:#?}");
    }
}
