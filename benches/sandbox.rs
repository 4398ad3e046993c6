//! A trivial sandboxed call end to end: spawn, isolate, run, collect.
//!
//! The bench program is its own sandbox worker, so `main` calls `enter` first and runs
//! criterion itself.

use std::hint::black_box;
use std::sync::Arc;

use agent_airlock::layers::sandbox::{
    BackendKind, Job, LinuxSandbox, SandboxBackend, SandboxConfig, SandboxLayer, enter,
};
use agent_airlock::{ToolCall, ToolRouter};
use criterion::Criterion;
use serde_json::json;
use tower::{Layer, ServiceExt};

fn tools() -> ToolRouter {
    ToolRouter::builder()
        .raw_tool(
            "run_noop",
            "",
            json!({"type": "object"}),
            |args| async move { Ok::<_, std::convert::Infallible>(args) },
        )
        .build()
        .expect("tools")
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("sandbox");
    group.sample_size(30);
    for kind in [BackendKind::Process, BackendKind::Bwrap] {
        let mut config = SandboxConfig::default();
        config.backend = kind;
        config.tools = vec!["run_*".into()];
        let backend = Arc::new(LinuxSandbox::from_config(&config).expect("backend"));
        backend.check_available().expect("this host can isolate");
        let layer = SandboxLayer::with_backend(&config, backend.clone()).expect("layer");
        let svc = layer.layer(tools());
        group.bench_function(format!("{kind}_rust_tool_call"), |b| {
            b.iter(|| {
                let r = rt
                    .block_on(
                        svc.clone()
                            .oneshot(ToolCall::new("run_noop", json!({"n": 1}))),
                    )
                    .expect("infallible");
                assert!(!r.is_error, "{r:?}");
                black_box(r)
            })
        });
        let call =
            serde_json::to_vec(&json!({"id": "1", "tool": "run_noop", "arguments": {"n": 1}}))
                .expect("json");
        group.bench_function(format!("{kind}_rust_tool_run"), |b| {
            b.iter(|| black_box(backend.run(Job::worker(call.clone()))))
        });
        group.bench_function(format!("{kind}_command_true"), |b| {
            b.iter(|| black_box(backend.run(Job::command(vec!["/bin/true".into()], Vec::new()))))
        });
    }
    // The same tool without the sandbox, for scale.
    let router = tools();
    group.bench_function("in_process_rust_tool_call", |b| {
        b.iter(|| {
            black_box(
                rt.block_on(
                    router
                        .clone()
                        .oneshot(ToolCall::new("run_noop", json!({"n": 1}))),
                )
                .expect("infallible"),
            )
        })
    });
    group.finish();
}

fn main() {
    enter(tools);
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
}
