//! Cost of a policy decision, of a rate-limit check, and memory per tracked agent.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};

use agent_airlock::layers::policy::{
    GovernorStore, ManualClock, PolicyEngine, RateLimitStore, RateSpec, RuleConfig, SystemClock,
};
use agent_airlock::{Caller, ToolCall};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde_json::json;

/// Counts live heap bytes, to report memory per tracked agent exactly.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: delegates to the system allocator and only adds bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same layout, forwarded.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: ptr came from System.alloc with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn thousand_rules() -> PolicyEngine {
    let allow: Vec<String> = (0..500).map(|i| format!("svc{i}.read_*")).collect();
    let deny: Vec<String> = (0..400).map(|i| format!("svc{i}.delete_*")).collect();
    let mut b = PolicyEngine::builder().allow(allow).deny(deny);
    for r in 0..50 {
        b = b.role(
            &format!("role{r}"),
            RuleConfig {
                allow: Some(vec![format!("team{r}.*")]),
                deny: vec![format!("team{r}.admin_*")],
            },
        );
    }
    b.build().expect("policy")
}

fn bench(c: &mut Criterion) {
    let policy = thousand_rules();
    let caller = Caller::agent("bench").with_roles(["role7", "role42"]);
    let mut group = c.benchmark_group("policy");
    group.bench_function("decision_1000_rules_allowed", |b| {
        b.iter_batched(
            || ToolCall::new("svc321.read_file", json!({})).with_caller(caller.clone()),
            |mut call| black_box(policy.check(&mut call).is_ok()),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("decision_1000_rules_role_grant", |b| {
        b.iter_batched(
            || ToolCall::new("team42.deploy", json!({})).with_caller(caller.clone()),
            |mut call| black_box(policy.check(&mut call).is_ok()),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("decision_1000_rules_denied", |b| {
        b.iter_batched(
            || ToolCall::new("SVC399.delete_all", json!({})).with_caller(caller.clone()),
            |mut call| black_box(policy.check(&mut call).is_err()),
            BatchSize::SmallInput,
        )
    });

    let spec: RateSpec = "1000000000/second".parse().expect("rate");
    let store = GovernorStore::new(&[spec], Arc::new(SystemClock), 100_000);
    group.bench_function("rate_limit_check", |b| {
        b.iter(|| black_box(store.try_acquire(0, black_box("agent-42")).is_ok()))
    });
    group.finish();

    // Memory per tracked agent: live heap bytes after tracking 100,000 distinct agents.
    let clock = Arc::new(ManualClock::at(
        "2026-01-01T00:00:00Z".parse().expect("time"),
    ));
    let store = GovernorStore::new(&["100/minute".parse().expect("rate")], clock, 1_000_000);
    let ids: Vec<String> = (0..100_000).map(|i| format!("agent-{i:06}")).collect();
    let before = LIVE.load(Ordering::Relaxed);
    for id in &ids {
        let _ = store.try_acquire(0, id);
    }
    let after = LIVE.load(Ordering::Relaxed);
    println!(
        "memory per tracked agent (12-byte ids): {} bytes ({} agents tracked)",
        (after - before) / ids.len() as isize,
        store.tracked_keys()
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
