//! `airlock proxy` beside the leanest peer, in one run: the same client calls
//! server-everything's `echo` (npm, over stdio behind each gateway) directly, through
//! `airlock proxy` (its default config and the full one: strict mode, sanitize, an audit
//! log to a file, a policy with an allow list and a rate limit), and through the Rust,
//! Tower-based `mcp-proxy` 0.6 (crates.io; it validates argument sizes and masks nothing),
//! which serves Streamable HTTP only.
//!
//! `mcp-proxy` is installed on demand into `target/peers` (`cargo install mcp-proxy
//! --version 0.6.0 --locked`, a few minutes the first time); `AIRLOCK_PEERS_SKIP=1` leaves
//! it out. server-everything comes from `scripts/test.sh --setup`.
//!
//! Printed: for each way, p50 and p99 over [`ROUNDS`] rounds of [`CALLS`] sequential calls
//! (the ways taking turns each round, after a warm-up), and the CPU time per call of the
//! gateway process alone (user + system, from `/proc/<pid>/stat`; the upstream server's
//! is not counted), then airlock's figures as ratios of `mcp-proxy`'s. Then criterion's
//! medians over HTTP.

#[path = "common/gateway.rs"]
mod gateway;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};

use gateway::{Connected, Http, cpu, everything, free_port, node, stdio, stdio_call, wait_port};

/// Calls per round and way.
const CALLS: usize = 500;
/// Rounds, the ways taking turns.
const ROUNDS: usize = 8;
/// The peer, pinned.
const PEER_VERSION: &str = "0.6.0";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `mcp-proxy`, installed into `target/peers` when missing; `None` when left out.
fn peer() -> Option<PathBuf> {
    if std::env::var_os("AIRLOCK_PEERS_SKIP").is_some() {
        return None;
    }
    let dir = root().join("target/peers");
    let binary = dir.join("bin/mcp-proxy");
    // `cargo install` records what it installed (the binary has no `--version`).
    let installed = binary.exists()
        && std::fs::read_to_string(dir.join(".crates.toml"))
            .is_ok_and(|record| record.contains(&format!("mcp-proxy {PEER_VERSION} ")));
    if !installed {
        eprintln!("installing mcp-proxy {PEER_VERSION} into {}", dir.display());
        let status = std::process::Command::new(env!("CARGO"))
            .args([
                "install",
                "mcp-proxy",
                "--version",
                PEER_VERSION,
                "--locked",
            ])
            .arg("--root")
            .arg(&dir)
            .status()
            .expect("cargo install");
        assert!(status.success(), "mcp-proxy {PEER_VERSION} did not install");
    }
    Some(binary)
}

/// A client of one way.
enum Client {
    Stdio(Connected),
    Http(Http),
}

impl Client {
    async fn call(&self) {
        match self {
            Client::Stdio(connected) => stdio_call(&connected.peer).await,
            Client::Http(http) => http.call().await,
        }
    }
}

/// One way of calling `echo`: its client, and the gateway's process (none: direct).
struct Way {
    name: String,
    client: Client,
    gateway: Option<u32>,
    latencies: Vec<Duration>,
    cpu: Duration,
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * q) as usize]
}

/// The full config: every defense on.
fn full_config(dir: &Path) -> PathBuf {
    let config = dir.join("full.toml");
    std::fs::write(
        &config,
        format!(
            "strict_mode = true\n[audit]\npath = {:?}\n[policy]\nallowed_tools = [\"echo\"]\n\
             [policy.rate_limits]\n\"*\" = \"1000000/minute\"\n",
            dir.join("audit.jsonl").display().to_string()
        ),
    )
    .unwrap();
    config
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
    let peer = peer();
    let dir = std::env::temp_dir().join(format!("airlock-peers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let full = full_config(&dir);
    let upstream = [node.display().to_string(), server.clone(), "stdio".into()];
    let mut children: Vec<Child> = Vec::new();
    let mut ways: Vec<Way> = Vec::new();
    let mut add = |name: &str, client: Client, gateway: Option<u32>| {
        ways.push(Way {
            name: name.to_owned(),
            client,
            gateway,
            latencies: Vec::with_capacity(ROUNDS * CALLS),
            cpu: Duration::ZERO,
        });
    };

    // Over stdio, the client starting each.
    let direct = runtime.block_on(stdio(&node, &upstream[1..]));
    add("stdio, direct", Client::Stdio(direct), None);
    for (name, config) in [
        ("stdio, airlock proxy", None),
        ("stdio, airlock proxy (full)", Some(&full)),
    ] {
        let mut args = vec!["proxy".to_owned()];
        if let Some(config) = config {
            args.extend(["--config".into(), config.display().to_string()]);
        }
        args.push("--".into());
        args.extend(upstream.iter().cloned());
        let proxied = runtime.block_on(stdio(&airlock, &args));
        let pid = proxied.pid;
        add(name, Client::Stdio(proxied), Some(pid));
    }

    // Over Streamable HTTP, each gateway starting the server over stdio.
    let alone = free_port();
    children.push(
        std::process::Command::new(&node)
            .args([server.as_str(), "streamableHttp"])
            .env("PORT", alone.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_port(alone);
    add(
        "http, direct",
        Client::Http(runtime.block_on(Http::connect(
            format!("http://127.0.0.1:{alone}/mcp"),
            "echo",
        ))),
        None,
    );
    for (name, config) in [
        ("http, airlock proxy", None),
        ("http, airlock proxy (full)", Some(&full)),
    ] {
        let port = free_port();
        let mut command = std::process::Command::new(&airlock);
        command.arg("proxy");
        if let Some(config) = config {
            command.arg("--config").arg(config);
        }
        let child = command
            .args(["--listen", &format!("127.0.0.1:{port}"), "--"])
            .args(&upstream)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        children.push(child);
        wait_port(port);
        let client = runtime.block_on(Http::connect(
            format!("http://127.0.0.1:{port}/mcp"),
            "echo",
        ));
        add(name, Client::Http(client), Some(pid));
    }
    if let Some(peer) = &peer {
        let port = free_port();
        let config = dir.join("mcp-proxy.toml");
        std::fs::write(
            &config,
            format!(
                "[proxy]\nname = \"bench\"\nseparator = \"/\"\n[proxy.listen]\nhost = \
                 \"127.0.0.1\"\nport = {port}\n[[backends]]\nname = \"everything\"\n\
                 transport = \"stdio\"\ncommand = {:?}\nargs = [{:?}, \"stdio\"]\n",
                upstream[0], upstream[1]
            ),
        )
        .unwrap();
        let child = std::process::Command::new(peer)
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        children.push(child);
        wait_port(port);
        let client = runtime.block_on(Http::connect(
            format!("http://127.0.0.1:{port}/"),
            "everything/echo",
        ));
        add(
            &format!("http, mcp-proxy {PEER_VERSION}"),
            Client::Http(client),
            Some(pid),
        );
    }

    runtime.block_on(async {
        for way in &ways {
            for _ in 0..200 {
                way.client.call().await;
            }
        }
        for _ in 0..ROUNDS {
            for way in ways.iter_mut() {
                let before = way.gateway.map(cpu);
                for _ in 0..CALLS {
                    let started = Instant::now();
                    way.client.call().await;
                    way.latencies.push(started.elapsed());
                }
                if let (Some(pid), Some(before)) = (way.gateway, before) {
                    way.cpu += cpu(pid).saturating_sub(before);
                }
            }
        }
    });
    let calls = (ROUNDS * CALLS) as u32;
    let mut figures = Vec::new();
    for way in ways.iter_mut() {
        way.latencies.sort_unstable();
        let (p50, p99) = (
            percentile(&way.latencies, 0.5),
            percentile(&way.latencies, 0.99),
        );
        let cpu = way.gateway.map(|_| way.cpu / calls);
        println!(
            "{:<32} p50 {:>9.1?}  p99 {:>9.1?}  gateway CPU per call {}",
            way.name,
            p50,
            p99,
            cpu.map_or("-".into(), |c| format!("{c:.1?}"))
        );
        figures.push((way.name.clone(), p50, cpu));
    }
    if let Some((_, peer_p50, Some(peer_cpu))) = figures.iter().find(|f| f.0.contains("mcp-proxy"))
    {
        for (name, p50, cpu) in figures.iter().filter(|f| f.0.contains("airlock")) {
            println!(
                "{name:<32} ÷ mcp-proxy: p50 {:.2}×  CPU per call {}",
                p50.as_secs_f64() / peer_p50.as_secs_f64(),
                cpu.map_or("-".into(), |c| format!(
                    "{:.2}×",
                    c.as_secs_f64() / peer_cpu.as_secs_f64()
                ))
            );
        }
    }

    let mut group = c.benchmark_group("peers_echo");
    for way in ways.iter().filter(|w| w.name.starts_with("http")) {
        group.bench_function(way.name.replace([',', ' ', '(', ')'], "_"), |b| {
            b.iter(|| runtime.block_on(way.client.call()))
        });
    }
    group.finish();
    for child in children.iter_mut() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
