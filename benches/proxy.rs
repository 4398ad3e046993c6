//! `tools/call` of server-everything's `echo` (npm, on Node 22 under `target/e2e/node`:
//! `scripts/test.sh --setup` installs it), by the same clients, directly and through
//! `airlock proxy`, side by side in one run:
//!
//! - stdio: an rmcp client starting `node server-everything stdio`, and starting
//!   `airlock proxy -- node server-everything stdio`;
//! - HTTP: a plain HTTP client (reqwest, one connection) against server-everything's own
//!   Streamable HTTP transport, and against `airlock proxy --listen --upstream` in front of
//!   the same server.
//!
//! Printed first: p50/p99 over 2,000 sequential calls each, and the proxy's CPU time per
//! call (user + system, from `/proc/<pid>/stat`) beside the upstream server's; then the
//! HTTP proxy without telemetry (`metrics = false`, no endpoint) and with it (metrics, and
//! every span exported over OTLP at 100% sampling to a collector in this process), in
//! eight alternating rounds. Then criterion's medians.

#[path = "common/otlp.rs"]
mod otlp;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::service::{Peer, RoleClient, RunningService};
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};

const CALLS: usize = 2000;
/// Alternating rounds of the telemetry comparison.
const ROUNDS: usize = 8;

fn e2e() -> PathBuf {
    std::env::var_os("AIRLOCK_E2E_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/e2e"))
}

fn node() -> PathBuf {
    let node = e2e().join("node/node_modules/.bin/node");
    assert!(
        node.exists(),
        "missing {}: run scripts/test.sh --setup",
        node.display()
    );
    node
}

fn everything() -> PathBuf {
    e2e().join("node/node_modules/@modelcontextprotocol/server-everything/dist/index.js")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// User + system CPU time of a process so far.
fn cpu(pid: u32) -> Duration {
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
    // utime and stime are fields 14 and 15 of the line: 11 and 12 after the name.
    let clock = 100; // USER_HZ on Linux
    Duration::from_millis((ticks(11) + ticks(12)) * 1000 / clock)
}

/// The pids of `pid`'s children.
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

struct Connected {
    _service: RunningService<RoleClient, ()>,
    peer: Peer<RoleClient>,
    pid: u32,
}

async fn stdio(program: &std::path::Path, args: &[String]) -> Connected {
    let mut command = tokio::process::Command::new(program);
    command.args(args).env("RUST_LOG", "warn");
    let (transport, _) = TokioChildProcess::builder(command)
        .stderr(Stdio::null())
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

async fn stdio_call(peer: &Peer<RoleClient>) {
    let args = json!({"message": "hello"}).as_object().cloned().unwrap();
    let result = peer
        .call_tool(CallToolRequestParams::new("echo").with_arguments(args))
        .await
        .unwrap();
    assert!(!result.is_error.unwrap_or(false));
}

struct Http {
    client: reqwest::Client,
    url: String,
    session: String,
    /// Revision 2026-07-28: no session, `_meta` and the mirroring headers on each request.
    stateless: bool,
}

impl Http {
    async fn connect(url: String) -> Http {
        // reqwest is built on rustls without a default crypto provider here.
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()
            .unwrap();
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
            stateless: false,
        };
        let _ = http
            .post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        http
    }

    /// A client of revision 2026-07-28: nothing to open.
    fn stateless(url: String) -> Http {
        Http {
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap(),
            url,
            session: String::new(),
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
                .header("mcp-name", "echo")
        } else {
            request
                .header("mcp-session-id", &self.session)
                .header("mcp-protocol-version", "2025-06-18")
        };
        let response = request.body(body.to_string()).send().await.unwrap();
        String::from_utf8_lossy(&response.bytes().await.unwrap()).into_owned()
    }

    async fn call(&self) {
        let mut params = json!({"name": "echo", "arguments": {"message": "hello"}});
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

fn wait_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn percentiles(mut latencies: Vec<Duration>) -> (Duration, Duration) {
    latencies.sort_unstable();
    let pick = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q) as usize];
    (pick(0.50), pick(0.99))
}

fn report(what: &str, direct: (Duration, Duration), proxied: (Duration, Duration)) {
    println!(
        "{what}: direct p50 {:?} p99 {:?} | through the proxy p50 {:?} p99 {:?} | added at p50 {:?}",
        direct.0,
        direct.1,
        proxied.0,
        proxied.1,
        proxied.0.saturating_sub(direct.0)
    );
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let airlock = PathBuf::from(env!("CARGO_BIN_EXE_airlock"));
    let node = node();
    let server = everything().display().to_string();

    // stdio
    let direct = runtime.block_on(stdio(&node, &[server.clone(), "stdio".into()]));
    let proxied = runtime.block_on(stdio(
        &airlock,
        &[
            "proxy".into(),
            "--".into(),
            node.display().to_string(),
            server.clone(),
            "stdio".into(),
        ],
    ));
    let timed = |peer: &Peer<RoleClient>| {
        runtime.block_on(async {
            for _ in 0..200 {
                stdio_call(peer).await;
            }
            let mut out = Vec::with_capacity(CALLS);
            for _ in 0..CALLS {
                let started = Instant::now();
                stdio_call(peer).await;
                out.push(started.elapsed());
            }
            out
        })
    };
    let direct_stdio = percentiles(timed(&direct.peer));
    let upstream_pid = children(proxied.pid).first().copied();
    let (proxy_before, upstream_before) = (cpu(proxied.pid), upstream_pid.map(cpu));
    let proxied_stdio = percentiles(timed(&proxied.peer));
    let proxy_cpu = cpu(proxied.pid).saturating_sub(proxy_before) / CALLS as u32;
    let upstream_cpu = upstream_pid
        .zip(upstream_before)
        .map(|(pid, before)| cpu(pid).saturating_sub(before) / CALLS as u32);
    report("stdio", direct_stdio, proxied_stdio);
    println!("stdio: CPU per call: the proxy {proxy_cpu:?}, the upstream server {upstream_cpu:?}");

    // HTTP
    let alone_port = free_port();
    let mut alone = std::process::Command::new(&node)
        .args([server.as_str(), "streamableHttp"])
        .env("PORT", alone_port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_port(alone_port);
    // `airlock proxy --listen` in front of it (with `config`, or the default), and a client.
    let start = |config: Option<&std::path::Path>| {
        let port = free_port();
        let mut command = std::process::Command::new(&airlock);
        command.arg("proxy");
        if let Some(config) = config {
            command.arg("--config").arg(config);
        }
        let child = command
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--upstream", &format!("http://127.0.0.1:{alone_port}/mcp")])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_port(port);
        let http = runtime.block_on(Http::connect(format!("http://127.0.0.1:{port}/mcp")));
        (child, http)
    };
    let direct_http = runtime.block_on(Http::connect(format!("http://127.0.0.1:{alone_port}/mcp")));
    let (mut listening, proxied_http) = start(None);
    let timed = |http: &Http| {
        runtime.block_on(async {
            for _ in 0..200 {
                http.call().await;
            }
            let mut out = Vec::with_capacity(CALLS);
            for _ in 0..CALLS {
                let started = Instant::now();
                http.call().await;
                out.push(started.elapsed());
            }
            out
        })
    };
    let direct_p = percentiles(timed(&direct_http));
    let (before, upstream_before) = (cpu(listening.id()), cpu(alone.id()));
    let proxied_p = percentiles(timed(&proxied_http));
    let proxy_cpu = cpu(listening.id()).saturating_sub(before) / CALLS as u32;
    let upstream_cpu = cpu(alone.id()).saturating_sub(upstream_before) / CALLS as u32;
    report("http", direct_p, proxied_p);
    println!("http: CPU per call: the proxy {proxy_cpu:?}, the upstream server {upstream_cpu:?}");
    // The same proxy, a client of revision 2026-07-28 (the upstream alone speaks only the
    // handshake revisions, so the direct figure is the one above).
    let stateless = Http::stateless(proxied_http.url.clone());
    let (before, upstream_before) = (cpu(listening.id()), cpu(alone.id()));
    let stateless_p = percentiles(timed(&stateless));
    let proxy_cpu = cpu(listening.id()).saturating_sub(before) / CALLS as u32;
    let upstream_cpu = cpu(alone.id()).saturating_sub(upstream_before) / CALLS as u32;
    report("http, a 2026-07-28 client", direct_p, stateless_p);
    println!(
        "http, a 2026-07-28 client: CPU per call: the proxy {proxy_cpu:?}, the upstream server {upstream_cpu:?}"
    );

    // Telemetry on and off, the same proxy otherwise, rounds alternating.
    let collector = otlp::Collector::default();
    let otlp = runtime.block_on(collector.clone().serve());
    let config =
        std::env::temp_dir().join(format!("airlock-bench-otlp-{}.toml", std::process::id()));
    std::fs::write(
        &config,
        format!("[telemetry]\notlp_endpoint = \"http://{otlp}\"\n"),
    )
    .unwrap();
    let quiet = config.with_extension("off.toml");
    std::fs::write(&quiet, "[telemetry]\nmetrics = false\n").unwrap();
    let (mut untraced, untraced_http) = start(Some(&quiet));
    let (mut traced, traced_http) = start(Some(&config));
    let (mut off, mut on) = (Vec::new(), Vec::new());
    let (mut off_cpu, mut on_cpu) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..ROUNDS {
        let before = cpu(untraced.id());
        off.extend(timed(&untraced_http));
        off_cpu += cpu(untraced.id()).saturating_sub(before);
        let before = cpu(traced.id());
        on.extend(timed(&traced_http));
        on_cpu += cpu(traced.id()).saturating_sub(before);
    }
    let (off_p, on_p) = (percentiles(off), percentiles(on));
    let calls = (ROUNDS * CALLS) as u32;
    println!(
        "http, telemetry off (no metrics, no export): p50 {:?} p99 {:?}, CPU per call {:?} | on \
         (metrics, every span to a collector): p50 {:?} p99 {:?}, CPU per call {:?} | p50 \
         {:+.1}%; spans received {}",
        off_p.0,
        off_p.1,
        off_cpu / calls,
        on_p.0,
        on_p.1,
        on_cpu / calls,
        (on_p.0.as_secs_f64() / off_p.0.as_secs_f64() - 1.0) * 100.0,
        collector.spans()
    );
    for child in [&mut traced, &mut untraced] {
        let _ = child.kill();
        let _ = child.wait();
    }
    let _ = std::fs::remove_file(&config);
    let _ = std::fs::remove_file(&quiet);

    let mut group = c.benchmark_group("proxy_echo");
    group.bench_function("stdio_direct", |b| {
        b.iter(|| runtime.block_on(stdio_call(&direct.peer)))
    });
    group.bench_function("stdio_through_the_proxy", |b| {
        b.iter(|| runtime.block_on(stdio_call(&proxied.peer)))
    });
    group.bench_function("http_direct", |b| {
        b.iter(|| runtime.block_on(direct_http.call()))
    });
    group.bench_function("http_through_the_proxy", |b| {
        b.iter(|| runtime.block_on(proxied_http.call()))
    });
    group.finish();
    let _ = alone.kill();
    let _ = listening.kill();
    let _ = alone.wait();
    let _ = listening.wait();
}

criterion_group!(benches, bench);
criterion_main!(benches);
