//! Decisions on Redis, against a `redis-server` this benchmark starts on a free loopback
//! port: `RedisState::acquire` (one rate limit, one script, one round trip) and a whole
//! policy decision (`PolicyEngine::decide` with a per-agent limit, a global limit and a
//! session budget: still one round trip), beside the same policy in memory. Criterion's
//! medians, and p50/p99 over 20,000 sequential decisions printed before them.

use std::time::{Duration, Instant};

use agent_airlock::layers::policy::{Decision, PolicyEngine, RateSpec, SessionConfig};
use agent_airlock::state::{RedisState, StateConfig};
use agent_airlock::{Caller, ToolCall};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use std::sync::Arc;

#[path = "../tests/common/redis.rs"]
mod redis;

/// High enough that every decision is an admission (the common case).
const RATE: &str = "1000000000/second";

fn policy(shared: Option<Arc<RedisState>>) -> PolicyEngine {
    let spec: RateSpec = RATE.parse().unwrap();
    let mut builder = PolicyEngine::builder()
        .rate_limit("*", spec)
        .global_rate_limit("lookup*", spec)
        .sessions(SessionConfig {
            max_calls: Some(u32::MAX),
            ..SessionConfig::default()
        });
    if let Some(store) = shared {
        builder = builder.shared_store(store);
    }
    builder.build().unwrap()
}

async fn decide(engine: &PolicyEngine, call: &ToolCall) {
    let mut call = call.clone();
    match engine.decide(&mut call) {
        Decision::Allowed => {}
        Decision::Pending(pending) => pending.await.unwrap(),
        Decision::Refused(r) => panic!("refused: {r:?}"),
    }
}

fn percentiles(what: &str, mut latencies: Vec<Duration>) {
    latencies.sort_unstable();
    let pick = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q) as usize];
    println!(
        "{what} over loopback: p50 {:?}, p99 {:?}, max {:?} ({} decisions)",
        pick(0.50),
        pick(0.99),
        latencies[latencies.len() - 1],
        latencies.len()
    );
}

fn bench(c: &mut Criterion) {
    let mut server = redis::Redis::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let state = runtime.block_on(async {
        Arc::new(RedisState::with_url(&StateConfig::default(), Some(&server.url())).unwrap())
    });
    let spec: RateSpec = RATE.parse().unwrap();
    let shared = policy(Some(state.clone()));
    let memory = policy(None);
    let mut call = ToolCall::new("lookup", json!({})).with_caller(Caller::agent("agent-1"));
    call.session = Some("session-1".into());

    let (rate, whole) = runtime.block_on(async {
        for _ in 0..1000 {
            state.acquire("bench:warm", &spec).await.unwrap();
            decide(&shared, &call).await;
        }
        let mut rate = Vec::with_capacity(20_000);
        let mut whole = Vec::with_capacity(20_000);
        for i in 0..20_000u32 {
            let key = format!("bench:agent-{}", i % 100);
            let started = Instant::now();
            state.acquire(&key, &spec).await.unwrap();
            rate.push(started.elapsed());
            let started = Instant::now();
            decide(&shared, &call).await;
            whole.push(started.elapsed());
        }
        (rate, whole)
    });
    percentiles("redis rate decision", rate);
    percentiles("redis policy decision (2 limits + session budget)", whole);

    c.bench_function("state/redis_rate_decision", |b| {
        b.iter(|| runtime.block_on(state.acquire("bench:one", &spec)).unwrap())
    });
    c.bench_function("state/redis_policy_decision", |b| {
        b.iter(|| runtime.block_on(decide(&shared, &call)))
    });
    c.bench_function("state/memory_policy_decision", |b| {
        b.iter(|| runtime.block_on(decide(&memory, &call)))
    });
    server.stop();
}

criterion_group!(benches, bench);
criterion_main!(benches);
