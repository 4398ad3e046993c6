//! A rate-limit decision on Redis (`RedisState::acquire`: one script, one round trip),
//! against a `redis-server` this benchmark starts on a free loopback port. Criterion's
//! median, and p50/p99 over 20,000 sequential decisions printed before it.

use std::time::{Duration, Instant};

use agent_airlock::layers::policy::RateSpec;
use agent_airlock::state::{RedisState, StateConfig};
use criterion::{Criterion, criterion_group, criterion_main};

#[path = "../tests/common/redis.rs"]
mod redis;

fn bench(c: &mut Criterion) {
    let mut server = redis::Redis::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let state = runtime.block_on(async {
        RedisState::with_url(&StateConfig::default(), Some(&server.url())).unwrap()
    });
    // High enough that every decision is an admission (the common case).
    let spec: RateSpec = "1000000/second".parse().unwrap();

    let mut latencies: Vec<Duration> = runtime.block_on(async {
        for _ in 0..1000 {
            state.acquire("bench:warm", &spec).await.unwrap();
        }
        let mut out = Vec::with_capacity(20_000);
        for i in 0..20_000u32 {
            let key = format!("bench:agent-{}", i % 100);
            let started = Instant::now();
            state.acquire(&key, &spec).await.unwrap();
            out.push(started.elapsed());
        }
        out
    });
    latencies.sort_unstable();
    let pick = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q) as usize];
    println!(
        "redis decision over loopback: p50 {:?}, p99 {:?}, max {:?} ({} decisions)",
        pick(0.50),
        pick(0.99),
        latencies[latencies.len() - 1],
        latencies.len()
    );

    c.bench_function("state/redis_rate_decision", |b| {
        b.iter(|| runtime.block_on(state.acquire("bench:one", &spec)).unwrap())
    });
    server.stop();
}

criterion_group!(benches, bench);
criterion_main!(benches);
