//! The policy layer on a real `redis-server` (started here on a free loopback port, without
//! persistence): whole `Airlock` stacks built from `[state] backend = "redis"`, as replicas
//! behind a load balancer are. Replicas admit exactly a limit between them, session
//! budgets are shared, nothing is charged for a refused call, and a Redis that goes away
//! refuses with `state_unavailable` within the command timeout, then recovers.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use agent_airlock::layers::policy::Decision;
use agent_airlock::{
    Airlock, AirlockConfig, AirlockService, Caller, RejectionCode, ToolCall, ToolResponse,
    ToolRouter,
};
use common::redis::Redis;
use serde_json::json;
use tower::ServiceExt;

fn router() -> ToolRouter {
    let schema = json!({"type": "object", "properties": {"q": {"type": "string"}}});
    ToolRouter::builder()
        .raw_tool(
            "lookup",
            "Looks up",
            schema.clone(),
            |_args: serde_json::Value| async { Ok::<_, std::io::Error>(json!("found")) },
        )
        .raw_tool(
            "search",
            "Searches",
            schema,
            |_args: serde_json::Value| async { Ok::<_, std::io::Error>(json!("results")) },
        )
        .build()
        .unwrap()
}

fn config(redis: &Redis, extra: &str) -> AirlockConfig {
    AirlockConfig::from_toml_str(&format!(
        "[state]\nbackend = \"redis\"\nurl = \"{}\"\ncommand_timeout_ms = 200\nconnect_timeout_ms = 200\n{extra}",
        redis.url()
    ))
    .unwrap()
}

fn replica(config: &AirlockConfig) -> AirlockService<ToolRouter> {
    let router = router();
    Airlock::from_config(config, router.catalog())
        .unwrap()
        .service(router)
}

async fn call(
    stack: &AirlockService<ToolRouter>,
    tool: &str,
    agent: &str,
    session: Option<&str>,
) -> ToolResponse {
    let mut call = ToolCall::new(tool, json!({"q": "x"})).with_caller(Caller::agent(agent));
    call.session = session.map(str::to_owned);
    stack.clone().oneshot(call).await.unwrap()
}

fn code(response: &ToolResponse) -> Option<RejectionCode> {
    response.rejection.as_ref().map(|r| r.code)
}

fn redis_cli(redis: &Redis, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &redis.port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli comes with redis-server");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_a_rate_limit_exactly() {
    needs_commands!("redis-server");
    let redis = Redis::start();
    let config = config(
        &redis,
        "[policy.rate_limits]\n\"lookup\" = \"5/minute\"\n[policy.global_rate_limits]\n\"search\" = \"3/minute\"",
    );
    let (a, b) = (replica(&config), replica(&config));
    let mut allowed = 0;
    for i in 0..12 {
        let stack = if i % 2 == 0 { &a } else { &b };
        let response = call(stack, "lookup", "agent-1", None).await;
        match code(&response) {
            None => allowed += 1,
            Some(RejectionCode::RateLimited) => {
                let rejection = response.rejection.unwrap();
                let wait = rejection.retry_after.unwrap();
                assert!(
                    wait > Duration::from_secs(11) && wait <= Duration::from_secs(12),
                    "{wait:?}"
                );
                assert!(
                    rejection.message.contains("5/minute"),
                    "{}",
                    rejection.message
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(allowed, 5, "5/minute between both replicas");
    // Per agent: another agent has its own five.
    assert_eq!(code(&call(&b, "lookup", "agent-2", None).await), None);

    // A global limit is shared by every agent on every replica.
    let mut allowed = 0;
    for i in 0..8 {
        let stack = if i % 2 == 0 { &a } else { &b };
        if code(&call(stack, "search", &format!("agent-{i}"), None).await).is_none() {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 3, "3/minute for everyone together");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_calls_never_over_admit() {
    needs_commands!("redis-server");
    let redis = Redis::start();
    let config = config(&redis, "[policy.rate_limits]\n\"*\" = \"40/minute\"");
    let replicas = [replica(&config), replica(&config)];
    let mut tasks = Vec::new();
    for t in 0..16 {
        let stack = replicas[t % 2].clone();
        tasks.push(tokio::spawn(async move {
            let mut allowed = 0;
            for _ in 0..10 {
                let response = stack
                    .clone()
                    .oneshot(ToolCall::new("lookup", json!({})).with_caller(Caller::agent("one")))
                    .await
                    .unwrap();
                allowed += usize::from(response.rejection.is_none());
            }
            allowed
        }));
    }
    let mut allowed = 0;
    for task in tasks {
        allowed += task.await.unwrap();
    }
    assert_eq!(allowed, 40, "160 calls at once, 40 admitted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_budgets_are_shared_and_nothing_is_charged_for_a_refusal() {
    needs_commands!("redis-server");
    let redis = Redis::start();
    let config = config(
        &redis,
        "[policy.global_rate_limits]\n\"search\" = \"2/minute\"\n\
         [policy.sessions]\nmax_calls = 4\nttl_secs = 2\nrequire_session = true\n\
         [policy.sessions.max_calls_per_tool]\n\"search*\" = 3",
    );
    let (a, b) = (replica(&config), replica(&config));

    // A call without a session is refused locally, before any round trip.
    assert_eq!(
        code(&call(&a, "lookup", "x", None).await),
        Some(RejectionCode::MalformedCall)
    );
    // Two searches pass the global limit; the third is refused by it and must not spend
    // the session's search budget.
    assert_eq!(code(&call(&a, "search", "x", Some("s1")).await), None);
    assert_eq!(code(&call(&b, "search", "x", Some("s1")).await), None);
    assert_eq!(
        code(&call(&a, "search", "x", Some("s1")).await),
        Some(RejectionCode::RateLimited)
    );
    assert_eq!(
        redis_cli(&redis, &["HGET", "airlock:budget:s1", "t:search*"]),
        "2"
    );
    assert_eq!(
        redis_cli(&redis, &["HGET", "airlock:budget:s1", "calls"]),
        "2"
    );
    // The session's budget of 4 is shared by both replicas.
    assert_eq!(code(&call(&b, "lookup", "x", Some("s1")).await), None);
    assert_eq!(code(&call(&a, "lookup", "x", Some("s1")).await), None);
    let spent = call(&b, "lookup", "x", Some("s1")).await;
    assert_eq!(code(&spent), Some(RejectionCode::BudgetExceeded));
    assert!(
        spent
            .rejection
            .unwrap()
            .message
            .contains("all of its 4 calls"),
        "the refusal names the budget"
    );
    // Another session has its own budget.
    assert_eq!(code(&call(&a, "lookup", "x", Some("s2")).await), None);

    // The budget expires with the session's TTL: nothing stays behind.
    let ttl: i64 = redis_cli(&redis, &["PTTL", "airlock:budget:s1"])
        .parse()
        .unwrap();
    assert!(ttl > 0 && ttl <= 2000, "PTTL {ttl}");
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(redis_cli(&redis, &["EXISTS", "airlock:budget:s1"]), "0");
    assert_eq!(code(&call(&a, "lookup", "x", Some("s1")).await), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_tool_session_budget_names_its_pattern() {
    needs_commands!("redis-server");
    let redis = Redis::start();
    let config = config(
        &redis,
        "[policy.sessions]\n[policy.sessions.max_calls_per_tool]\n\"look*\" = 1\n\"search\" = 5",
    );
    let stack = replica(&config);
    assert_eq!(code(&call(&stack, "lookup", "x", Some("s")).await), None);
    let refused = call(&stack, "lookup", "x", Some("s")).await;
    assert_eq!(code(&refused), Some(RejectionCode::BudgetExceeded));
    assert!(
        refused.rejection.unwrap().message.contains("`look*`"),
        "names the budget that is spent"
    );
    assert_eq!(code(&call(&stack, "search", "x", Some("s")).await), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_agent_and_session_names_stay_in_their_own_buckets() {
    needs_commands!("redis-server");
    let redis = Redis::start();
    let config = config(
        &redis,
        "[policy.rate_limits]\n\"*\" = \"1/minute\"\n[policy.sessions]\nmax_calls = 1",
    );
    let stack = replica(&config);
    // Names that look like other keys, or the global bucket, or are huge or odd Unicode.
    let long = "a".repeat(10_000);
    let agents = [
        "*",
        "=x",
        "x",
        "x\0y",
        "rate:0:*",
        "\u{202e}x",
        long.as_str(),
    ];
    for (i, agent) in agents.iter().enumerate() {
        let session = format!("s{i}");
        assert_eq!(
            code(&call(&stack, "lookup", agent, Some(&session)).await),
            None,
            "{agent:.20?} has its own bucket"
        );
    }
    for agent in agents {
        assert_eq!(
            code(&call(&stack, "lookup", agent, Some("fresh")).await),
            Some(RejectionCode::RateLimited),
            "{agent:.20?} spent its own"
        );
    }
    // Key sizes stay bounded whatever the caller claims.
    let keys = redis_cli(&redis, &["KEYS", "airlock:*"]);
    assert!(keys.lines().all(|k| k.len() < 200), "{keys}");
    // A session id over the limit is refused before it becomes a key.
    let refused = call(&stack, "lookup", "y", Some(&"s".repeat(300))).await;
    assert_eq!(code(&refused), Some(RejectionCode::MalformedCall));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_refuses_in_time_then_recovers() {
    needs_commands!("redis-server");
    let mut redis = Redis::start();
    let port = redis.port;
    let config = config(&redis, "[policy.rate_limits]\n\"*\" = \"100/minute\"");
    let stack = replica(&config);
    assert_eq!(code(&call(&stack, "lookup", "x", None).await), None);

    redis.stop();
    let started = Instant::now();
    let refused = call(&stack, "lookup", "x", None).await;
    let rejection = refused.rejection.expect("refused");
    assert_eq!(rejection.code, RejectionCode::StateUnavailable);
    assert!(rejection.retry_after.is_some());
    assert!(refused.is_error);
    // Bounded by the command timeout (200 ms), with room for a loaded machine.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // The refusal says nothing about the server.
    let text = serde_json::to_string(&rejection).unwrap();
    assert!(
        !text.contains("127.0.0.1") && !text.contains(&port.to_string()),
        "{text}"
    );

    // fail_open admits instead, and counts it.
    let open_config = AirlockConfig::from_toml_str(&format!(
        "[state]\nbackend = \"redis\"\nurl = \"redis://127.0.0.1:{port}/0\"\ncommand_timeout_ms = 200\non_unavailable = \"fail_open\"\n[policy.rate_limits]\n\"*\" = \"1/minute\""
    ))
    .unwrap();
    let router = router();
    let open = Airlock::from_config(&open_config, router.catalog()).unwrap();
    let open_stack = open.service(router);
    for _ in 0..3 {
        assert_eq!(code(&call(&open_stack, "lookup", "x", None).await), None);
    }
    assert_eq!(open.shared_state().unwrap().failed_open(), 3);

    // Back on the same port: the same stack recovers without a restart.
    let _again = Redis::start_on(port);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = call(&stack, "lookup", "x", None).await;
        match code(&response) {
            None => break,
            other => {
                assert!(Instant::now() < deadline, "did not recover: {other:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_decided_locally_never_reach_redis() {
    needs_commands!("redis-server");
    // No server at all: rules that need no counter still refuse at once.
    let config = AirlockConfig::from_toml_str(
        "[state]\nbackend = \"redis\"\nurl = \"redis://127.0.0.1:1/0\"\ncommand_timeout_ms = 200\n\
         [policy]\ndenied_tools = [\"search\"]\n[policy.rate_limits]\n\"lookup\" = \"1/minute\"",
    )
    .unwrap();
    let router = router();
    let airlock = Airlock::from_config(&config, router.catalog()).unwrap();
    let stack = airlock.service(router);
    let mut call_ = ToolCall::new("search", json!({}));
    let started = Instant::now();
    let denied = stack.clone().oneshot(call_.clone()).await.unwrap();
    assert_eq!(code(&denied), Some(RejectionCode::PolicyDenied));
    call_.tool = "no such tool".into();
    let bad = stack.clone().oneshot(call_).await.unwrap();
    assert!(bad.is_error);
    assert!(started.elapsed() < Duration::from_millis(150));
    // A call that needs a counter waits for the store: and is refused when it cannot answer.
    let refused = stack
        .oneshot(ToolCall::new("lookup", json!({})))
        .await
        .unwrap();
    assert_eq!(code(&refused), Some(RejectionCode::StateUnavailable));

    // The synchronous check of an engine on a shared store never allows without it.
    let engine = airlock.policy();
    let mut lookup = ToolCall::new("lookup", json!({}));
    assert!(matches!(engine.decide(&mut lookup), Decision::Pending(_)));
    assert_eq!(
        engine.check(&mut lookup).unwrap_err().code,
        RejectionCode::StateUnavailable
    );
}

#[test]
fn without_a_runtime_the_redis_backend_is_a_clear_error() {
    needs_commands!("redis-server");
    let config = AirlockConfig::from_toml_str(
        "[state]\nbackend = \"redis\"\nurl = \"redis://127.0.0.1:1/0\"",
    )
    .unwrap();
    let router = router();
    let err = Airlock::from_config(&config, router.catalog()).unwrap_err();
    assert!(err.to_string().contains("Tokio runtime"), "{err}");
}

/// A call held by one replica is approved through the other and completes there, once:
/// the approval lives on Redis, and using it is atomic across replicas.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_held_by_one_replica_is_approved_and_completed_through_the_other() {
    needs_commands!("redis-server");
    let redis = Redis::start();
    let config = config(
        &redis,
        "[policy.approvals]\ntools = [\"lookup\"]\nttl_secs = 300\n",
    );
    let router = router();
    let (a, b) = (
        Airlock::from_config(&config, router.catalog()).unwrap(),
        Airlock::from_config(&config, router.catalog()).unwrap(),
    );
    let (sa, sb) = (a.service(router.clone()), b.service(router.clone()));
    let held = |response: &ToolResponse| {
        let rejection = response.rejection.as_ref().expect("held");
        assert_eq!(
            rejection.code,
            RejectionCode::ApprovalPending,
            "{rejection:?}"
        );
        rejection.approval().unwrap().to_owned()
    };
    let id = held(&call(&sa, "lookup", "agent-1", None).await);
    assert_eq!(
        held(&call(&sb, "lookup", "agent-1", None).await),
        id,
        "one request on both"
    );
    assert!(
        code(&call(&sb, "search", "agent-1", None).await).is_none(),
        "not held"
    );

    let store_b = b.policy().approval_store().unwrap();
    let now = b.policy().now();
    let listed = store_b.list(now, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, id);
    assert_eq!(listed[0].binding.agent.as_deref(), Some("agent-1"));
    let ttl: i64 = redis_cli(&redis, &["TTL", &format!("airlock:approval:{id}")])
        .parse()
        .unwrap();
    assert!(ttl > 0 && ttl <= 300, "{ttl}");
    store_b.decide(&id, true, "lead", now).await.unwrap();
    assert!(
        store_b.decide(&id, false, "lead", now).await.is_err(),
        "decided once"
    );

    // Another agent is not what was approved; the held caller's call goes through on the
    // other replica, once.
    assert_ne!(held(&call(&sb, "lookup", "agent-2", None).await), id);
    let done = call(&sb, "lookup", "agent-1", None).await;
    assert!(done.rejection.is_none(), "{:?}", done.rejection);
    assert_ne!(
        held(&call(&sa, "lookup", "agent-1", None).await),
        id,
        "used"
    );

    // Many retries of one approved call at once, on both replicas: exactly one goes through.
    let next = held(&call(&sa, "lookup", "agent-3", None).await);
    store_b.decide(&next, true, "lead", now).await.unwrap();
    let retries = (0..8).map(|i| {
        let stack = if i % 2 == 0 { sa.clone() } else { sb.clone() };
        tokio::spawn(async move { call(&stack, "lookup", "agent-3", None).await })
    });
    let mut through = 0;
    for retry in retries {
        if retry.await.unwrap().rejection.is_none() {
            through += 1;
        }
    }
    assert_eq!(through, 1);

    // Denied on one replica, refused on the other.
    let denied = held(&call(&sa, "lookup", "agent-4", None).await);
    store_b.decide(&denied, false, "lead", now).await.unwrap();
    assert_eq!(
        code(&call(&sb, "lookup", "agent-4", None).await),
        Some(RejectionCode::PolicyDenied)
    );
}
