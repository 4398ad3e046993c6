//! Rate limits on a real `redis-server` (Debian's package; `scripts/test.sh` installs it),
//! started here on a free loopback port without persistence: replicas sharing one Redis
//! admit exactly the limit between them, concurrent callers never over-admit, keys
//! expire, and a Redis that goes away gives `state_unavailable` within the command
//! timeout (or an allowed call with `fail_open`), then recovers without a restart.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agent_airlock::layers::policy::RateSpec;
use agent_airlock::state::{OnUnavailable, RateDecision, RedisState, StateConfig, StateError};
use common::redis::Redis;

fn state(redis: &Redis, on_unavailable: OnUnavailable) -> RedisState {
    let mut config = StateConfig::default();
    config.on_unavailable = on_unavailable;
    config.command_timeout_ms = 200;
    config.connect_timeout_ms = 200;
    RedisState::with_url(&config, Some(&redis.url())).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_one_limit_exactly() {
    needs_commands!("redis-server");
    let redis = Redis::start();
    let a = state(&redis, OnUnavailable::FailClosed);
    let b = state(&redis, OnUnavailable::FailClosed);
    let spec: RateSpec = "5/minute".parse().unwrap();
    let mut allowed = 0;
    for i in 0..12 {
        let replica = if i % 2 == 0 { &a } else { &b };
        match replica
            .acquire("rate:0:customer_lookup:agent-1", &spec)
            .await
            .unwrap()
        {
            RateDecision::Allowed => allowed += 1,
            RateDecision::Limited { retry_after } => {
                // One call's worth of the minute, to the millisecond.
                assert!(
                    retry_after <= Duration::from_secs(12) && retry_after > Duration::from_secs(11),
                    "{retry_after:?}"
                );
            }
        }
    }
    assert_eq!(allowed, 5, "5/minute across both replicas");
    // Another key has its own bucket.
    assert_eq!(
        b.acquire("rate:0:customer_lookup:agent-2", &spec)
            .await
            .unwrap(),
        RateDecision::Allowed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_never_over_admit() {
    needs_commands!("redis-server");
    let redis = Redis::start();
    let shared = Arc::new(state(&redis, OnUnavailable::FailClosed));
    let other = Arc::new(state(&redis, OnUnavailable::FailClosed));
    let spec: RateSpec = "50/minute".parse().unwrap();
    let mut tasks = Vec::new();
    for t in 0..8 {
        let replica = if t % 2 == 0 {
            shared.clone()
        } else {
            other.clone()
        };
        tasks.push(tokio::spawn(async move {
            let mut allowed = 0;
            for _ in 0..20 {
                if replica.acquire("rate:0:global", &spec).await.unwrap() == RateDecision::Allowed {
                    allowed += 1;
                }
            }
            allowed
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total, 50, "160 attempts, a limit of 50");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_expire_with_their_bucket() {
    needs_commands!("redis-server");
    let redis = Redis::start();
    let s = state(&redis, OnUnavailable::FailClosed);
    let spec: RateSpec = "2/second".parse().unwrap();
    assert_eq!(
        s.acquire("rate:0:short", &spec).await.unwrap(),
        RateDecision::Allowed
    );
    // The key lives as long as the bucket is not full again (here at most one second).
    let out = Command::new("redis-cli")
        .args([
            "-p",
            &redis.port.to_string(),
            "PTTL",
            "airlock:rate:0:short",
        ])
        .output()
        .expect("redis-cli comes with redis-server");
    let ttl: i64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert!(ttl > 0 && ttl <= 1000, "PTTL {ttl}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let out = Command::new("redis-cli")
        .args([
            "-p",
            &redis.port.to_string(),
            "EXISTS",
            "airlock:rate:0:short",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0", "expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_then_back() {
    needs_commands!("redis-server");
    let mut redis = Redis::start();
    let port = redis.port;
    let closed = state(&redis, OnUnavailable::FailClosed);
    let open = state(&redis, OnUnavailable::FailOpen);
    let spec: RateSpec = "100/minute".parse().unwrap();
    assert_eq!(
        closed.acquire("rate:0:a", &spec).await.unwrap(),
        RateDecision::Allowed
    );

    redis.stop();
    let started = Instant::now();
    match closed.acquire("rate:0:a", &spec).await {
        Err(StateError::Unavailable { retry_after, .. }) => {
            assert!(retry_after >= Duration::from_millis(200))
        }
        other => panic!("expected state_unavailable, got {other:?}"),
    }
    // Bounded by the command timeout (200 ms), with room for a loaded machine.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        open.acquire("rate:0:a", &spec).await.unwrap(),
        RateDecision::Allowed
    );
    assert_eq!(open.failed_open(), 1);

    // Back on the same port: the same clients recover without a restart.
    let _again = Redis::start_on(port);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match closed.acquire("rate:0:a", &spec).await {
            Ok(RateDecision::Allowed) => break,
            other => {
                assert!(Instant::now() < deadline, "did not recover: {other:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[test]
fn a_password_in_the_file_is_refused() {
    needs_commands!("redis-server");
    let err = agent_airlock::AirlockConfig::from_toml_str(
        "[state]\nbackend = \"redis\"\nurl = \"redis://:hunter2@localhost\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("state.url") && err.contains("AIRLOCK_REDIS_URL") && !err.contains("hunter2"),
        "{err}"
    );
    let config = agent_airlock::AirlockConfig::from_toml_str(
        "[state]\nbackend = \"redis\"\nurl = \"redis://localhost\"\n",
    )
    .unwrap()
    .with_env_vars([("AIRLOCK_REDIS_URL", "redis://:from-env@localhost")])
    .unwrap();
    assert_eq!(
        config.state.url.as_deref(),
        Some("redis://:from-env@localhost")
    );
    let shown = format!("{config:?}");
    assert!(
        !shown.contains("from-env") && shown.contains("***"),
        "{shown}"
    );
}

#[cfg(feature = "axum")]
mod sessions {
    use super::*;
    use agent_airlock::state::RedisSessionStore;
    use agent_airlock::state::session::{SessionCheck, SessionError, SessionStore};

    fn store(redis: &Redis, ttl: Duration) -> RedisSessionStore {
        RedisSessionStore::new(Arc::new(state(redis, OnUnavailable::FailOpen)), ttl)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_session_made_on_one_replica_is_valid_on_another_for_its_caller_only() {
        needs_commands!("redis-server");
        let redis = Redis::start();
        let a = store(&redis, Duration::from_secs(60));
        let b = store(&redis, Duration::from_secs(60));
        let id = a.create("agent:alice").await.unwrap();
        assert_eq!(b.check(&id, "agent:alice").await, SessionCheck::Valid);
        assert_eq!(b.check(&id, "agent:mallory").await, SessionCheck::Unknown);
        assert_eq!(
            b.check("0123456789abcdef0123456789abcdef", "agent:alice")
                .await,
            SessionCheck::Unknown
        );
        assert_eq!(
            b.check("not-an-id", "agent:alice").await,
            SessionCheck::Unknown
        );
        assert!(!b.end(&id, "agent:mallory").await, "only its owner ends it");
        assert!(b.end(&id, "agent:alice").await);
        assert_eq!(a.check(&id, "agent:alice").await, SessionCheck::Unknown);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_caller_holds_at_most_its_quota_of_sessions_across_replicas() {
        needs_commands!("redis-server");
        let redis = Redis::start();
        let a = store(&redis, Duration::from_secs(60)).max_per_owner(3);
        let b = store(&redis, Duration::from_secs(60)).max_per_owner(3);
        let alice = "verified:alice";
        let mut held = vec![
            a.create(alice).await.unwrap(),
            b.create(alice).await.unwrap(),
            a.create(alice).await.unwrap(),
        ];
        assert_eq!(b.create(alice).await, Err(SessionError::OwnerFull));
        // Another caller is not affected; one without a credential is held to no quota.
        assert!(b.create("verified:bob").await.is_ok());
        for _ in 0..5 {
            assert!(a.create("claimed:").await.is_ok());
        }
        // Ending one (on the other replica) frees its place; its sessions stay valid.
        assert!(b.end(&held.pop().unwrap(), alice).await);
        held.push(b.create(alice).await.unwrap());
        for id in &held {
            assert_eq!(a.check(id, alice).await, SessionCheck::Valid);
        }
        assert_eq!(a.create(alice).await, Err(SessionError::OwnerFull));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sessions_expire_after_their_last_use_and_fail_closed_when_redis_is_down() {
        needs_commands!("redis-server");
        let mut redis = Redis::start();
        let s = store(&redis, Duration::from_millis(400));
        let id = s.create("agent:alice").await.unwrap();
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(
            s.check(&id, "agent:alice").await,
            SessionCheck::Valid,
            "used: extended"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(s.check(&id, "agent:alice").await, SessionCheck::Valid);
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(
            s.check(&id, "agent:alice").await,
            SessionCheck::Unknown,
            "expired"
        );

        redis.stop();
        // Even with `fail_open` for rate limits, a session is never taken on trust.
        assert_eq!(s.check(&id, "agent:alice").await, SessionCheck::Unavailable);
        assert!(matches!(
            s.create("agent:alice").await,
            Err(SessionError::Unavailable(_))
        ));
    }
}
