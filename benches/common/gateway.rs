//! What the gateway benchmarks share: where server-everything is, ports, a process's CPU
//! time, and a plain Streamable HTTP client calling `echo`.
#![allow(dead_code)] // each bench uses what it needs

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::service::{Peer, RoleClient, RunningService};
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};

/// The end-to-end tools `scripts/test.sh --setup` installs.
pub fn e2e() -> PathBuf {
    std::env::var_os("AIRLOCK_E2E_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/e2e"))
}

/// Node 22.
pub fn node() -> PathBuf {
    let node = e2e().join("node/node_modules/.bin/node");
    assert!(
        node.exists(),
        "missing {}: run scripts/test.sh --setup",
        node.display()
    );
    node
}

/// server-everything's entry point.
pub fn everything() -> PathBuf {
    e2e().join("node/node_modules/@modelcontextprotocol/server-everything/dist/index.js")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn wait_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// User + system CPU time of a process so far (its own threads, not its children's).
pub fn cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime: fields 14 and 15 of the line, 11 and 12 after the name; USER_HZ 100.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// The p50 and p99 of `latencies`.
pub fn percentiles(mut latencies: Vec<Duration>) -> (Duration, Duration) {
    latencies.sort_unstable();
    let pick = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q) as usize];
    (pick(0.50), pick(0.99))
}

/// An rmcp client over stdio of the process it started.
pub struct Connected {
    _service: RunningService<RoleClient, ()>,
    pub peer: Peer<RoleClient>,
    /// The process's id.
    pub pid: u32,
}

/// Starts `program` with `args` and connects to it over stdio.
pub async fn stdio(program: &std::path::Path, args: &[String]) -> Connected {
    let mut command = tokio::process::Command::new(program);
    command.args(args).env("RUST_LOG", "warn");
    let (transport, _) = TokioChildProcess::builder(command)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = transport.id().unwrap();
    let service = ().serve(transport).await.unwrap();
    let peer = service.peer().clone();
    Connected {
        _service: service,
        peer,
        pid,
    }
}

/// One `tools/call` of `echo` over stdio with `{"message": "hello"}`, its answer checked.
pub async fn stdio_call(peer: &Peer<RoleClient>) {
    let args = json!({"message": "hello"}).as_object().cloned().unwrap();
    let result = peer
        .call_tool(CallToolRequestParams::new("echo").with_arguments(args))
        .await
        .unwrap();
    assert!(!result.is_error.unwrap_or(false), "{result:?}");
}

/// A Streamable HTTP client on one keep-alive connection, calling `tool` (server-everything's
/// `echo`, under whatever name the gateway serves it).
pub struct Http {
    client: reqwest::Client,
    pub url: String,
    session: String,
    tool: String,
    /// Revision 2026-07-28: no session, `_meta` and the mirroring headers on each request.
    stateless: bool,
}

fn client() -> reqwest::Client {
    // reqwest is built on rustls without a default crypto provider here.
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap()
}

impl Http {
    /// A client of revision 2025-06-18: `initialize`, then `notifications/initialized`.
    pub async fn connect(url: String, tool: &str) -> Http {
        let client = client();
        let init = client
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(
                json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "bench", "version": "1"}}})
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        let session = init
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let _ = init.bytes().await;
        let http = Http {
            client,
            url,
            session,
            tool: tool.to_owned(),
            stateless: false,
        };
        let _ = http
            .post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        http
    }

    /// A client of revision 2026-07-28: nothing to open.
    pub fn stateless(url: String, tool: &str) -> Http {
        Http {
            client: client(),
            url,
            session: String::new(),
            tool: tool.to_owned(),
            stateless: true,
        }
    }

    async fn post(&self, body: Value) -> String {
        let request = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        let request = if self.stateless {
            request
                .header("mcp-protocol-version", "2026-07-28")
                .header("mcp-method", "tools/call")
                .header("mcp-name", &self.tool)
        } else if self.session.is_empty() {
            request.header("mcp-protocol-version", "2025-06-18")
        } else {
            request
                .header("mcp-session-id", &self.session)
                .header("mcp-protocol-version", "2025-06-18")
        };
        let response = request.body(body.to_string()).send().await.unwrap();
        String::from_utf8_lossy(&response.bytes().await.unwrap()).into_owned()
    }

    /// One `tools/call` of the tool with `{"message": "hello"}`, its answer checked.
    pub async fn call(&self) {
        let mut params = json!({"name": self.tool, "arguments": {"message": "hello"}});
        if self.stateless {
            params["_meta"] = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"}});
        }
        let body = self
            .post(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}))
            .await;
        assert!(body.contains("Echo: hello"), "{body}");
    }
}
