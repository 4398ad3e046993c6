//! Telemetry through `airlock proxy --listen`, received by a collector built here on the
//! official OpenTelemetry protocol definitions (`opentelemetry-proto`, over tonic): the span
//! tree of one call (the client's `traceparent` its parent, a child per layer, the
//! upstream's round trip passing the trace on in `_meta`), the audit records as log
//! records, and no secret of the call in any span, event, log record or metric.
#![cfg(feature = "cli")]

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{e2e, free_port};
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use serde_json::{Value, json};

/// What the collector received.
#[derive(Clone, Default)]
struct Collector {
    traces: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
    logs: Arc<Mutex<Vec<ExportLogsServiceRequest>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.traces.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl LogsService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        self.logs.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(ExportLogsServiceResponse::default()))
    }
}

impl Collector {
    /// A collector on a free loopback port.
    async fn start() -> (Self, SocketAddr) {
        let collector = Self::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .add_service(LogsServiceServer::new(collector.clone()))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener));
        tokio::spawn(server);
        (collector, addr)
    }

    fn spans(&self) -> Vec<Span> {
        spans_of(&self.traces.lock().unwrap())
    }

    /// Every byte received, as the wire carried it.
    fn bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        for request in self.traces.lock().unwrap().iter() {
            bytes.extend(request.encode_to_vec());
        }
        for request in self.logs.lock().unwrap().iter() {
            bytes.extend(request.encode_to_vec());
        }
        bytes
    }

    /// The `record` attribute of every log record received.
    fn audit_records(&self) -> Vec<String> {
        let logs = self.logs.lock().unwrap();
        logs.iter()
            .flat_map(|r| &r.resource_logs)
            .flat_map(|r| &r.scope_logs)
            .flat_map(|s| &s.log_records)
            .flat_map(|record| &record.attributes)
            .filter(|kv| kv.key == "record")
            .filter_map(string_value)
            .collect()
    }
}

/// Every span of `requests`.
fn spans_of(requests: &[ExportTraceServiceRequest]) -> Vec<Span> {
    requests
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| s.spans.clone())
        .collect()
}

/// The value of an attribute that holds a string.
fn string_value(attribute: &KeyValue) -> Option<String> {
    match attribute.value.as_ref()?.value.as_ref()? {
        AnyValue::StringValue(s) => Some(s.clone()),
        _ => None,
    }
}

struct Proxy {
    child: Child,
    base: String,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proxy {
    /// What `GET /metrics` answers.
    async fn metrics(&self) -> String {
        common::http_client()
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

/// `airlock proxy --listen` with `config`, in front of the test server of our own.
fn proxy(dir: &Path, config: &str) -> Proxy {
    let config_path = dir.join("airlock.toml");
    std::fs::write(&config_path, config).unwrap();
    let port = free_port();
    let log = dir.join("proxy.log");
    let child = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(["proxy", "--config"])
        .arg(&config_path)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--"])
        .arg(e2e::python())
        .arg(e2e::script("upstream_server.py"))
        .env("RUST_LOG", "warn")
        // Exports every 100 ms, so the test need not wait five seconds.
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("OTEL_BLRP_SCHEDULE_DELAY", "100")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut proxy = Proxy {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(40);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            proxy.child.try_wait().unwrap().is_none(),
            "the proxy exited: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        assert!(Instant::now() < deadline, "the proxy did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    proxy
}

/// `tools/call` in a new session, with `headers`; the JSON-RPC answer.
async fn call(base: &str, headers: &[(&str, &str)], name: &str, arguments: Value) -> Value {
    let client = common::http_client();
    let url = format!("{base}/mcp");
    let init = client
        .post(&url)
        .json(&json!({
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                       "clientInfo": {"name": "test", "version": "1"}}}))
        .send()
        .await
        .unwrap();
    let session = init.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let mut request = client
        .post(&url)
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", "2025-11-25");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": name, "arguments": arguments}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(string_value)
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";
const TOKEN: &str = "Sup3rS3cretPassw0rd!";
const EMAIL: &str = "jane.doe@example.com";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_call_through_the_proxy_is_one_trace_with_a_child_per_layer_and_no_secret() {
    needs_e2e!();
    let (collector, addr) = Collector::start().await;
    let dir = common::Scratch::new("telemetry", "otlp");
    let audit = dir.join("audit.jsonl");
    let config = format!(
        "strict_mode = true\n\
         [policy]\ndenied_tools = [\"crash\"]\n\
         [audit]\npath = {:?}\n\
         [telemetry]\notlp_endpoint = \"http://{addr}\"\naudit_logs = true\n",
        audit.display().to_string()
    );
    let proxy = proxy(&dir, &config);
    let secret = format!("deploy with password={TOKEN} and tell {EMAIL}");
    let answer = call(
        &proxy.base,
        &[("traceparent", &format!("00-{TRACE_ID}-{CLIENT_SPAN}-01"))],
        "traced",
        json!({ "text": secret }),
    )
    .await;
    let text = answer["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"));
    assert!(!text.contains(TOKEN) && !text.contains(EMAIL), "{text}");
    let seen: Value = serde_json::from_str(text).unwrap();
    // Refused calls are traced too (and their refusal named): a ghost argument, a denied tool.
    let refused = call(
        &proxy.base,
        &[],
        "traced",
        json!({ "text": "x", "ghost": format!("password={TOKEN}") }),
    )
    .await;
    assert!(refused.to_string().contains("ghost_arguments"), "{refused}");
    call(&proxy.base, &[], "crash", json!({})).await;

    // The spans arrive within a few export intervals.
    let deadline = Instant::now() + Duration::from_secs(20);
    let wanted = |spans: &[Span]| {
        spans
            .iter()
            .filter(|s| attribute(s, "airlock.outcome").as_deref() == Some("refused"))
            .count()
            >= 2
            && spans
                .iter()
                .any(|s| hex(&s.trace_id) == TRACE_ID && s.kind == 2)
    };
    while !wanted(&collector.spans()) {
        assert!(
            Instant::now() < deadline,
            "no trace arrived: {:#?}",
            collector.spans()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let spans = collector.spans();
    let ours: Vec<&Span> = spans
        .iter()
        .filter(|s| hex(&s.trace_id) == TRACE_ID)
        .collect();
    // The call: a server span whose parent is the client's span.
    let call_span = ours
        .iter()
        .find(|s| s.kind == 2)
        .expect("the call's server span");
    assert_eq!(call_span.name, "tools/call traced");
    assert_eq!(hex(&call_span.parent_span_id), CLIENT_SPAN);
    assert_eq!(
        attribute(call_span, "gen_ai.tool.name").as_deref(),
        Some("traced")
    );
    assert_eq!(
        attribute(call_span, "mcp.method.name").as_deref(),
        Some("tools/call")
    );
    assert_eq!(
        attribute(call_span, "airlock.outcome").as_deref(),
        Some("ok")
    );
    // A child for each layer that acted, each saying what it decided.
    let children: Vec<&&Span> = ours
        .iter()
        .filter(|s| s.parent_span_id == call_span.span_id)
        .collect();
    for (layer, decision) in [
        ("audit", "allowed"),
        ("sanitize", "masked"),
        ("policy", "allowed"),
        ("strip_ghost_args", "allowed"),
        ("strict_schema", "allowed"),
    ] {
        let child = children
            .iter()
            .find(|s| s.name == layer)
            .unwrap_or_else(|| panic!("no span of {layer}: {children:#?}"));
        assert_eq!(
            attribute(child, "airlock.decision").as_deref(),
            Some(decision),
            "{layer}"
        );
    }
    // The sanitizer's span counts what it masked, by kind, and nothing of the values.
    let sanitize = children.iter().find(|s| s.name == "sanitize").unwrap();
    let kinds: Vec<String> = sanitize
        .events
        .iter()
        .flat_map(|e| &e.attributes)
        .filter(|kv| kv.key == "kind")
        .filter_map(string_value)
        .collect();
    assert!(kinds.iter().any(|k| k == "email"), "{sanitize:#?}");
    // The round trip to the upstream: a client span, and the upstream got the trace with
    // that span as its parent.
    let upstream = children
        .iter()
        .find(|s| s.kind == 3)
        .expect("the upstream's client span");
    assert_eq!(upstream.name, "tools/call traced");
    let traceparent = seen["traceparent"]
        .as_str()
        .expect("the upstream got a traceparent");
    assert_eq!(
        traceparent,
        format!("00-{TRACE_ID}-{}-01", hex(&upstream.span_id)),
        "the upstream's traceparent"
    );
    // Refusals: the layer that refused says so, with the code.
    let refusing: Vec<(String, Option<String>)> = spans
        .iter()
        .filter(|s| attribute(s, "airlock.decision").as_deref() == Some("refused"))
        .map(|s| (s.name.clone(), attribute(s, "airlock.refusal.code")))
        .collect();
    assert!(
        refusing.contains(&("strip_ghost_args".into(), Some("ghost_arguments".into())))
            && refusing.contains(&("policy".into(), Some("policy_denied".into()))),
        "{refusing:?}"
    );

    // The audit records arrive as log records, masked like the file.
    let deadline = Instant::now() + Duration::from_secs(20);
    while collector.audit_records().len() < 3 {
        assert!(Instant::now() < deadline, "no audit records arrived");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let records = collector.audit_records();
    assert!(
        records.iter().any(|r| r.contains("\"traced\"")),
        "{records:#?}"
    );
    // No secret anywhere: spans, events, log records, metrics.
    let received = String::from_utf8_lossy(&collector.bytes()).into_owned();
    let metrics = proxy.metrics().await;
    assert!(
        metrics.contains("airlock_calls_total{tool=\"traced\",outcome=\"ok\""),
        "{metrics}"
    );
    for secret in [TOKEN, EMAIL] {
        if let Some(at) = received.find(secret) {
            let from = received.floor_char_boundary(at.saturating_sub(300));
            panic!(
                "{secret} went to the collector: {}",
                &received[from..at + secret.len()]
            );
        }
        assert!(!metrics.contains(secret), "{secret} is in the metrics");
    }
}

/// Over stdio (the door an MCP host starts the proxy behind), the trace context comes in
/// the request's `_meta`, and what is still queued when the client goes away is exported
/// before the proxy exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_stdio_the_trace_comes_in_meta_and_is_exported_at_exit() {
    needs_e2e!();
    use std::io::{BufRead as _, Write as _};
    let (collector, addr) = Collector::start().await;
    let dir = common::Scratch::new("telemetry", "stdio");
    let config_path = dir.join("airlock.toml");
    std::fs::write(
        &config_path,
        format!("[telemetry]\notlp_endpoint = \"http://{addr}\"\n"),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(["proxy", "--config"])
        .arg(&config_path)
        .arg("--")
        .arg(e2e::python())
        .arg(e2e::script("upstream_server.py"))
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let traceparent = format!("00-{TRACE_ID}-{CLIENT_SPAN}-01");
    for message in [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
               "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                          "clientInfo": {"name": "test", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
               "params": {"name": "traced", "arguments": {"text": "hi"},
                          "_meta": {"traceparent": traceparent}}}),
    ] {
        writeln!(stdin, "{message}").unwrap();
    }
    let answer = tokio::task::spawn_blocking(move || {
        let mut lines = std::io::BufReader::new(stdout).lines();
        while let Some(Ok(line)) = lines.next() {
            let message: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            if message["id"] == 2 {
                return message;
            }
        }
        Value::Null
    });
    let answer = tokio::time::timeout(Duration::from_secs(60), answer)
        .await
        .expect("an answer within a minute")
        .unwrap();
    let text = answer["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"));
    let seen: Value = serde_json::from_str(text).unwrap();
    // The client goes away; the proxy exports what it holds and exits.
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the proxy did not exit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let spans = collector.spans();
    let call_span = spans
        .iter()
        .find(|s| hex(&s.trace_id) == TRACE_ID && s.kind == 2)
        .unwrap_or_else(|| panic!("no server span of the client's trace: {spans:#?}"));
    assert_eq!(hex(&call_span.parent_span_id), CLIENT_SPAN);
    let upstream = spans
        .iter()
        .find(|s| s.kind == 3 && s.parent_span_id == call_span.span_id)
        .expect("the upstream's client span");
    assert_eq!(
        seen["traceparent"],
        format!("00-{TRACE_ID}-{}-01", hex(&upstream.span_id))
    );
}

/// OTLP over HTTP (protobuf bodies at `/v1/traces`), as collectors also take it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_go_out_over_otlp_http_too() {
    needs_e2e!();
    use axum::body::Bytes;
    use prost::Message as _;
    let received: Arc<Mutex<Vec<ExportTraceServiceRequest>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: Bytes| {
            let sink = sink.clone();
            async move {
                let request = ExportTraceServiceRequest::decode(body).expect("an OTLP body");
                sink.lock().unwrap().push(request);
                ExportTraceServiceResponse::default().encode_to_vec()
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dir = common::Scratch::new("telemetry", "otlp-http");
    let proxy = proxy(
        &dir,
        &format!(
            "[telemetry]\notlp_endpoint = \"http://{addr}\"\notlp_protocol = \"http/protobuf\"\n"
        ),
    );
    let answer = call(
        &proxy.base,
        &[("traceparent", &format!("00-{TRACE_ID}-{CLIENT_SPAN}-01"))],
        "traced",
        json!({ "text": "hi" }),
    )
    .await;
    assert!(answer["result"].is_object(), "{answer}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let spans = spans_of(&received.lock().unwrap());
        if let Some(call) = spans
            .iter()
            .find(|s| hex(&s.trace_id) == TRACE_ID && s.kind == 2)
        {
            assert_eq!(hex(&call.parent_span_id), CLIENT_SPAN);
            assert!(
                spans.iter().any(|s| s.parent_span_id == call.span_id),
                "no child spans: {spans:#?}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "no trace arrived over HTTP");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A collector that is not there costs nothing but the spans: every call is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_answered_while_the_collector_is_down() {
    needs_e2e!();
    let port = free_port();
    let dir = common::Scratch::new("telemetry", "collector-down");
    let audit = dir.join("audit.jsonl");
    let proxy = proxy(
        &dir,
        &format!(
            "[audit]\npath = {:?}\n[telemetry]\notlp_endpoint = \"http://127.0.0.1:{port}\"\n\
             audit_logs = true\n",
            audit.display().to_string()
        ),
    );
    for i in 0..20 {
        let answer = call(
            &proxy.base,
            &[],
            "traced",
            json!({ "text": format!("call {i}") }),
        )
        .await;
        let text = answer["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_else(|| panic!("{answer}"));
        assert!(text.contains(&format!("call {i}")), "{text}");
    }
    let metrics = proxy.metrics().await;
    assert!(
        metrics.contains("airlock_calls_total{tool=\"traced\",outcome=\"ok\",code=\"\"} 20"),
        "{metrics}"
    );
}

/// With nothing asked for, the telemetry's layer is none: the library's spans are not even
/// created (a subscriber of the application's own decides alone).
#[test]
fn telemetry_asked_for_nothing_creates_no_span() {
    use agent_airlock::telemetry::{Telemetry, TelemetryConfig};
    use tracing_subscriber::layer::SubscriberExt as _;
    // Each check is a callsite of its own: tracing caches a callsite's interest.
    let subscriber = |config: &TelemetryConfig| {
        let telemetry = Telemetry::start(config).unwrap();
        tracing_subscriber::registry().with(telemetry.layer())
    };
    let mut off = TelemetryConfig::default();
    off.metrics = false;
    let created = tracing::subscriber::with_default(
        subscriber(&off),
        || tracing::enabled!(target: "airlock.span", tracing::Level::DEBUG),
    );
    assert!(!created, "spans are created for nobody");
    let created = tracing::subscriber::with_default(
        subscriber(&TelemetryConfig::default()),
        || tracing::enabled!(target: "airlock.span", tracing::Level::DEBUG),
    );
    assert!(created, "the metrics need the spans");
}
