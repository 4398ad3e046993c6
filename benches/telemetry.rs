//! What telemetry costs the whole stack: one MCP `tools/call` through the HTTP adapter and
//! every layer (as `benches/stack.rs` measures it), without a subscriber, with the metrics
//! alone, and with the metrics and every span exported over OTLP (100% sampling, gRPC) to
//! a collector on loopback; the exports run on a runtime of their own, as they do in the
//! proxy.

use std::hint::black_box;
use std::time::Duration;

use agent_airlock::adapters::http::HttpAdapter;
use agent_airlock::layers::audit::Fsync;
use agent_airlock::telemetry::{Telemetry, TelemetryConfig};
use agent_airlock::{Airlock, AirlockConfig, ToolRouter};
use axum::body::Body;
use criterion::{Criterion, criterion_group, criterion_main};
use http::Request;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use schemars::JsonSchema;
use serde::Deserialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tower::ServiceExt;
use tracing_subscriber::layer::SubscriberExt as _;

const REPORT: &str = "Quarterly report\n================\nRevenue grew 12%. Contact \
    finance@example.com for details. Costs were flat; headcount rose by three. The next \
    review is in March. Questions go to the finance team, not to the board.\n";

const BODY: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"report.txt","limit":200}}}"#;

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#;

#[derive(Deserialize, JsonSchema)]
struct ReadFile {
    /// Path inside the data directory.
    path: String,
    /// Most bytes to return.
    limit: Option<u32>,
}

async fn read_file(args: ReadFile) -> Result<String, String> {
    black_box(&args.path);
    let limit = args.limit.map_or(REPORT.len(), |l| l as usize);
    Ok(REPORT.chars().take(limit).collect())
}

/// The full stack of `benches/stack.rs` (audit fsync'd every 10 ms, sanitize, policy,
/// ghost arguments, schema) behind the HTTP adapter.
fn app() -> axum::Router {
    let mut config = AirlockConfig::from_toml_str(
        "[policy]\ndenied_tools = [\"delete_*\"]\n[sanitize]\nmax_output_tokens = 2000\n",
    )
    .expect("config");
    let dir = std::env::temp_dir().join(format!("airlock-bench-telemetry-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    config.audit.path = Some(dir.join("audit.jsonl"));
    config.audit.fsync = Fsync::Every(Duration::from_millis(10));
    let router = ToolRouter::builder()
        .tool("read_file", "Read a text file", read_file)
        .build()
        .expect("the tool builds");
    let airlock = Airlock::from_config(&config, router.catalog()).expect("the stack builds");
    HttpAdapter::new(airlock.service(router), airlock.catalog().clone())
        .policy(airlock.policy().clone())
        .into_router()
}

/// A collector that counts the spans it receives.
#[derive(Clone, Default)]
struct Collector(Arc<AtomicUsize>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let spans: usize = request
            .get_ref()
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum();
        self.0.fetch_add(spans, Ordering::Relaxed);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// A layer that does nothing.
struct Nothing;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Nothing {}

fn request(session: &str, traceparent: bool) -> Request<Body> {
    let mut request = Request::post("/mcp")
        .header("host", "127.0.0.1:3000")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .header("mcp-session-id", session)
        .header("x-agent-id", "load-test");
    if traceparent {
        request = request.header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        );
    }
    request.body(Body::from(BODY)).expect("request")
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
    let collector = Collector::default();
    let addr = exports.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(collector.clone()))
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
        );
        addr
    });
    let app = app();
    let session = {
        let init = Request::post("/mcp")
            .header("host", "127.0.0.1:3000")
            .header("content-type", "application/json")
            .header("x-agent-id", "load-test")
            .body(Body::from(INITIALIZE))
            .expect("request");
        let response = rt.block_on(app.clone().oneshot(init)).expect("response");
        response.headers()["mcp-session-id"]
            .to_str()
            .expect("a session id")
            .to_owned()
    };
    let response = rt
        .block_on(app.clone().oneshot(request(&session, true)))
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
    let with_traces = tracing::Dispatch::new(with_traces);

    let mut group = c.benchmark_group("telemetry_tools_call");
    let mut run = |name: &str, dispatch: Option<&tracing::Dispatch>| {
        group.bench_function(name, |b| {
            b.iter(|| {
                let call = || rt.block_on(app.clone().oneshot(request(&session, true)));
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
    run("metrics_and_traces_exported", Some(&with_traces));
    run("off_again", None);
    group.finish();
    // Every span went out (the export is not a no-op).
    exports.block_on(traced.shutdown());
    let spans = collector.0.load(Ordering::Relaxed);
    println!("spans received by the collector: {spans}");
    assert!(spans > 0, "no span reached the collector");
}

criterion_group!(benches, bench);
criterion_main!(benches);
