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

#[path = "common/gateway.rs"]
mod gateway;
#[path = "common/otlp.rs"]
mod otlp;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use rmcp::service::{Peer, RoleClient};

use gateway::{Http, cpu, everything, free_port, node, percentiles, stdio, stdio_call, wait_port};

const CALLS: usize = 2000;
/// Alternating rounds of the telemetry comparison.
const ROUNDS: usize = 8;

/// The pids of `pid`'s children.
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
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
        let http = runtime.block_on(Http::connect(
            format!("http://127.0.0.1:{port}/mcp"),
            "echo",
        ));
        (child, http)
    };
    let direct_http = runtime.block_on(Http::connect(
        format!("http://127.0.0.1:{alone_port}/mcp"),
        "echo",
    ));
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
    let stateless = Http::stateless(proxied_http.url.clone(), "echo");
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
