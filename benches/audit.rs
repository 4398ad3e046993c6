//! Audit log: records per second through the writer, and the cost on the caller's path.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agent_airlock::layers::audit::{AuditLayer, Fsync};
use agent_airlock::{AirlockConfig, Sanitizer, ToolCall, ToolResponse};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use tower::{Layer, Service, ServiceExt, service_fn};

fn log_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("airlock-bench-audit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn layer(name: &str, capacity: usize) -> AuditLayer {
    let mut config = AirlockConfig::default();
    config.audit.path = Some(log_dir(name).join("audit.jsonl"));
    config.audit.fsync = Fsync::Every(Duration::from_millis(10));
    config.audit.queue_capacity = capacity;
    let sanitizer = Arc::new(Sanitizer::new(&config.sanitize).expect("sanitizer"));
    AuditLayer::from_config(&config.audit, sanitizer).expect("audit layer")
}

/// A typical call: a few short arguments, one of them sensitive.
fn arguments() -> Value {
    json!({"path": "src/main.rs", "limit": 200, "encoding": "utf-8", "api_key": "k-123"})
}

type Tool = tower::util::ServiceFn<
    fn(ToolCall) -> std::future::Ready<Result<ToolResponse, std::convert::Infallible>>,
>;

fn tool() -> Tool {
    fn answer(_: ToolCall) -> std::future::Ready<Result<ToolResponse, std::convert::Infallible>> {
        std::future::ready(Ok(ToolResponse::text("fn main() {}")))
    }
    service_fn(answer as fn(_) -> _)
}

async fn one<S>(svc: &mut S, call: ToolCall)
where
    S: Service<ToolCall, Response = ToolResponse>,
    S::Error: std::fmt::Debug,
{
    let r = svc.ready().await.unwrap().call(call).await.unwrap();
    black_box(r);
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let args = arguments();

    // Sustained: the time from the first call to the last record written, per record.
    let mut group = c.benchmark_group("audit");
    const BATCH: u64 = 20_000;
    group.throughput(Throughput::Elements(BATCH));
    group.sample_size(10);
    let audit = layer("throughput", 4096);
    group.bench_function("records_fsync_every_10ms", |b| {
        b.iter_custom(|iters| {
            let mut svc = audit.layer(tool());
            let start = Instant::now();
            rt.block_on(async {
                for _ in 0..iters {
                    for _ in 0..BATCH {
                        one(&mut svc, ToolCall::new("read_file", args.clone())).await;
                    }
                }
                audit.flush().await.unwrap();
            });
            start.elapsed()
        })
    });
    group.finish();

    // The caller's path: the same call with and without the layer. The writer drains
    // between samples (not timed), so this is the cost a call pays, not the writer's.
    let mut group = c.benchmark_group("audit_call");
    let audit = layer("caller", 1 << 20);
    let bare = tool();
    group.bench_function("without_audit", |b| {
        let mut svc = bare;
        b.iter_custom(|iters| {
            let start = Instant::now();
            rt.block_on(async {
                for _ in 0..iters {
                    one(&mut svc, ToolCall::new("read_file", args.clone())).await;
                }
            });
            start.elapsed()
        })
    });
    group.bench_function("with_audit", |b| {
        let mut svc = audit.layer(tool());
        b.iter_custom(|iters| {
            let start = Instant::now();
            rt.block_on(async {
                for _ in 0..iters {
                    one(&mut svc, ToolCall::new("read_file", args.clone())).await;
                }
            });
            let spent = start.elapsed();
            rt.block_on(audit.flush()).unwrap();
            spent
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(log_dir("throughput"));
    let _ = std::fs::remove_dir_all(log_dir("caller"));
}

criterion_group!(benches, bench);
criterion_main!(benches);
