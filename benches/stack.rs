//! The whole recommended stack behind the HTTP adapter, without sockets: what one MCP
//! `tools/call` costs the server with and without the airlock layers.

use std::hint::black_box;
use std::time::Duration;

use agent_airlock::adapters::http::HttpAdapter;
use agent_airlock::layers::audit::Fsync;
use agent_airlock::{Airlock, AirlockConfig, ToolRouter};
use axum::body::Body;
use criterion::{Criterion, criterion_group, criterion_main};
use http::Request;
use schemars::JsonSchema;
use serde::Deserialize;
use tower::ServiceExt;

const REPORT: &str = "Quarterly report\n================\nRevenue grew 12%. Contact \
    finance@example.com for details. Costs were flat; headcount rose by three. The next \
    review is in March. Questions go to the finance team, not to the board.\n";

const BODY: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"report.txt","limit":200}}}"#;

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

fn tools() -> ToolRouter {
    ToolRouter::builder()
        .tool("read_file", "Read a text file", read_file)
        .build()
        .expect("the tool builds")
}

fn config() -> AirlockConfig {
    let mut config = AirlockConfig::from_toml_str(
        r#"
        [policy]
        denied_tools = ["delete_*"]
        [sanitize]
        max_output_tokens = 2000
        "#,
    )
    .expect("config");
    let dir = std::env::temp_dir().join(format!("airlock-bench-stack-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    config.audit.path = Some(dir.join("audit.jsonl"));
    config.audit.fsync = Fsync::Every(Duration::from_millis(10));
    config
}

fn adapter(audit: bool) -> axum::Router {
    let config = config();
    let router = tools();
    let airlock = Airlock::from_config(&config, router.catalog()).expect("the stack builds");
    let airlock = if audit {
        airlock
    } else {
        airlock.without_audit()
    };
    HttpAdapter::new(airlock.service(router), airlock.catalog().clone())
        .policy(airlock.policy().clone())
        .into_router()
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#;

/// The session `initialize` issues, as a client opens one before its calls.
fn open_session(rt: &tokio::runtime::Runtime, app: &axum::Router) -> String {
    let request = Request::post("/mcp")
        .header("host", "127.0.0.1:3000")
        .header("content-type", "application/json")
        .header("x-agent-id", "load-test")
        .body(Body::from(INITIALIZE))
        .expect("request");
    let response = rt.block_on(app.clone().oneshot(request)).expect("response");
    response.headers()["mcp-session-id"]
        .to_str()
        .expect("a session id")
        .to_owned()
}

/// One `tools/call`, with what a real client sends: `Host`, the media types, the session.
fn request(session: &str) -> Request<Body> {
    Request::post("/mcp")
        .header("host", "127.0.0.1:3000")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .header("mcp-session-id", session)
        .header("x-agent-id", "load-test")
        .body(Body::from(BODY))
        .expect("request")
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let bare = {
        let router = tools();
        let catalog = router.catalog();
        HttpAdapter::new(router, catalog).into_router()
    };
    let servers = [
        ("bare", bare),
        ("no_audit", adapter(false)),
        ("full", adapter(true)),
    ];
    let mut group = c.benchmark_group("http_tools_call");
    for (name, app) in servers {
        let session = open_session(&rt, &app);
        // The answer is checked once, so a broken stack cannot pass for a fast one.
        let response = rt
            .block_on(app.clone().oneshot(request(&session)))
            .expect("response");
        assert_eq!(response.status(), 200, "{name}");
        group.bench_function(name, |b| {
            b.iter(|| {
                let response = rt.block_on(app.clone().oneshot(request(&session)));
                black_box(response.expect("response"))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
