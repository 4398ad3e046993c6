//! The whole recommended stack behind the HTTP adapter, as the stack and telemetry
//! benchmarks build it: one tool answering 200 characters with an e-mail address in them,
//! the configuration, and the requests a real client sends.

use std::hint::black_box;
use std::time::Duration;

use agent_airlock::adapters::http::HttpAdapter;
use agent_airlock::layers::audit::Fsync;
use agent_airlock::{Airlock, AirlockConfig, ToolRouter};
use axum::body::Body;
use http::Request;
use schemars::JsonSchema;
use serde::Deserialize;
use tower::ServiceExt;

pub const REPORT: &str = "Quarterly report\n================\nRevenue grew 12%. Contact \
    finance@example.com for details. Costs were flat; headcount rose by three. The next \
    review is in March. Questions go to the finance team, not to the board.\n";

pub const BODY: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"report.txt","limit":200}}}"#;

#[derive(Deserialize, JsonSchema)]
pub struct ReadFile {
    /// Path inside the data directory.
    pub path: String,
    /// Most bytes to return.
    pub limit: Option<u32>,
}

pub async fn read_file(args: ReadFile) -> Result<String, String> {
    black_box(&args.path);
    let limit = args.limit.map_or(REPORT.len(), |l| l as usize);
    Ok(REPORT.chars().take(limit).collect())
}

pub fn tools() -> ToolRouter {
    ToolRouter::builder()
        .tool("read_file", "Read a text file", read_file)
        .build()
        .expect("the tool builds")
}

pub fn config() -> AirlockConfig {
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

pub fn adapter(audit: bool) -> axum::Router {
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

pub const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#;

/// The session `initialize` issues, as a client opens one before its calls.
pub fn open_session(rt: &tokio::runtime::Runtime, app: &axum::Router) -> String {
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
pub fn request(session: &str) -> Request<Body> {
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

/// The same `tools/call` as MCP 2026-07-28 sends it: no session, the revision and the
/// client's capabilities in `_meta`, the method and tool mirrored in headers.
pub const BODY_2026: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"report.txt","limit":200},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"bench","version":"1"}}}}"#;

/// One stateless `tools/call` of revision 2026-07-28.
#[allow(dead_code)] // not every benchmark sharing this file sends it
pub fn request_2026() -> Request<Body> {
    Request::post("/mcp")
        .header("host", "127.0.0.1:3000")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "read_file")
        .header("x-agent-id", "load-test")
        .body(Body::from(BODY_2026))
        .expect("request")
}
