//! What telemetry costs the whole stack: one MCP `tools/call` through the HTTP adapter and
//! every layer (as `benches/stack.rs` measures it), without a subscriber, with the metrics
//! alone, and with the metrics and every span exported over OTLP (100% sampling, gRPC) to
//! a collector on loopback; the exports run on a runtime of their own, as they do in the
//! proxy.

#[path = "common/otlp.rs"]
mod otlp;
#[path = "common/stack.rs"]
mod stack;

use std::hint::black_box;

use agent_airlock::telemetry::{Telemetry, TelemetryConfig};
use criterion::{Criterion, criterion_group, criterion_main};
use tower::ServiceExt;
use tracing_subscriber::layer::SubscriberExt as _;

/// A layer that does nothing.
struct Nothing;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Nothing {}

/// The stack benchmark's request, from a client that traces its calls.
fn request(session: &str) -> http::Request<axum::body::Body> {
    let mut request = stack::request(session);
    request.headers_mut().insert(
        "traceparent",
        http::HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    );
    request
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // The exporters' and the collector's runtime: its own thread, as in the proxy.
    let exports = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let collector = otlp::Collector::default();
    let addr = exports.block_on(collector.clone().serve());
    let app = stack::adapter(true);
    let session = stack::open_session(&rt, &app);
    let response = rt
        .block_on(app.clone().oneshot(request(&session)))
        .expect("response");
    assert_eq!(response.status(), 200);

    let metrics_only = exports
        .block_on(async { Telemetry::start(&TelemetryConfig::default()) })
        .expect("telemetry");
    let mut traced = TelemetryConfig::default();
    traced.otlp_endpoint = Some(format!("http://{addr}"));
    let traced = exports
        .block_on(async { Telemetry::start(&traced) })
        .expect("telemetry");
    // The floor of any `tracing` subscriber that looks at the spans: the registry alone,
    // with a layer that does nothing with them.
    let registry_only = tracing::Dispatch::new(
        tracing_subscriber::registry().with(tracing_subscriber::Layer::with_filter(
            Nothing,
            tracing_subscriber::filter::Targets::new()
                .with_target("airlock.span", tracing::Level::DEBUG)
                .with_target("airlock.metric", tracing::Level::DEBUG),
        )),
    );
    let with_metrics = tracing_subscriber::registry().with(metrics_only.layer());
    let with_traces = tracing_subscriber::registry().with(traced.layer());
    let with_metrics = tracing::Dispatch::new(with_metrics);
    // The metrics counted by a subscriber of their own, in front of a registry for the
    // rest (what `airlock proxy` runs when nothing goes out over OTLP).
    let counted = tracing::Dispatch::new(
        metrics_only
            .metrics()
            .subscriber(tracing_subscriber::registry()),
    );
    let with_traces = tracing::Dispatch::new(with_traces);

    let mut group = c.benchmark_group("telemetry_tools_call");
    let mut run = |name: &str, dispatch: Option<&tracing::Dispatch>| {
        group.bench_function(name, |b| {
            b.iter(|| {
                let call = || rt.block_on(app.clone().oneshot(request(&session)));
                let response = match dispatch {
                    Some(dispatch) => tracing::dispatcher::with_default(dispatch, call),
                    None => call(),
                };
                black_box(response.expect("response"))
            })
        });
    };
    run("off", None);
    run("registry_only", Some(&registry_only));
    run("metrics", Some(&with_metrics));
    run("metrics_counted", Some(&counted));
    run("metrics_and_traces_exported", Some(&with_traces));
    run("off_again", None);
    group.finish();
    // Every span went out (the export is not a no-op).
    exports.block_on(traced.shutdown());
    let spans = collector.spans();
    println!("spans received by the collector: {spans}");
    assert!(spans > 0, "no span reached the collector");
}

criterion_group!(benches, bench);
criterion_main!(benches);
