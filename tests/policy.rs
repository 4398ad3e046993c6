//! PolicyLayer alone and through `airlock check`-style stacks.

mod common;

use std::sync::Arc;
use std::time::Duration;

use agent_airlock::layers::policy::{
    HmacTokenVerifier, ManualClock, PolicyEngine, PolicyEngineBuilder, PolicyLayer, RuleConfig,
    ScheduleConfig, SessionConfig,
};
use agent_airlock::{AirlockConfig, Caller, RejectionCode, ToolCall, ToolResponse};
use common::{count, echo};
use serde_json::json;
use tower::{Layer, Service, ServiceExt};

fn rule(allow: &[&str], deny: &[&str]) -> RuleConfig {
    RuleConfig {
        allow: (!allow.is_empty()).then(|| allow.iter().map(|s| s.to_string()).collect()),
        deny: deny.iter().map(|s| s.to_string()).collect(),
    }
}

async fn call_as(policy: &Arc<PolicyEngine>, caller: Caller, tool: &str) -> ToolResponse {
    let (inner, calls) = echo();
    let r = PolicyLayer::new(policy.clone())
        .layer(inner)
        .oneshot(ToolCall::new(tool, json!({})).with_caller(caller))
        .await
        .unwrap();
    assert_eq!(
        count(&calls),
        usize::from(!r.is_rejected()),
        "the tool runs exactly when allowed"
    );
    r
}

fn code(r: &ToolResponse) -> Option<RejectionCode> {
    r.rejection.as_ref().map(|r| r.code)
}

#[tokio::test]
async fn deny_wins_over_allow_and_globs_match_as_documented() {
    let policy = Arc::new(
        PolicyEngine::builder()
            .allow(["read_*", "delete_tmp", "fs.*", "admin/**"])
            .deny(["delete_*", "drop_*"])
            .build()
            .unwrap(),
    );
    let anyone = Caller::agent("a");
    for ok in ["read_file", "fs.stat", "admin/users/list"] {
        assert_eq!(
            code(&call_as(&policy, anyone.clone(), ok).await),
            None,
            "{ok}"
        );
    }
    let r = call_as(&policy, anyone.clone(), "delete_tmp").await;
    let rejection = r.rejection.unwrap();
    assert_eq!(rejection.code, RejectionCode::PolicyDenied);
    assert_eq!(
        rejection.message,
        "tool `delete_tmp` is denied by the policy rule `delete_*`"
    );
    for no in ["write_file", "READ_FILE", "fs", "fs.a/b"] {
        assert_eq!(
            code(&call_as(&policy, anyone.clone(), no).await),
            Some(RejectionCode::PolicyDenied),
            "{no}"
        );
    }
}

#[tokio::test]
async fn bypass_attempts_are_all_refused() {
    let policy = Arc::new(PolicyEngine::builder().deny(["delete_*"]).build().unwrap());
    let long = format!("delete_{}", "x".repeat(200));
    let attempts = [
        ("DELETE_FILE", RejectionCode::PolicyDenied),
        ("Delete_File", RejectionCode::PolicyDenied),
        ("dеlete_file", RejectionCode::MalformedCall), // Cyrillic е
        ("ｄｅｌｅｔｅ_file", RejectionCode::MalformedCall), // full-width
        ("delete\u{200b}_file", RejectionCode::MalformedCall),
        ("del\u{00ad}ete_file", RejectionCode::MalformedCall), // soft hyphen
        (" delete_file", RejectionCode::MalformedCall),
        ("delete_file ", RejectionCode::MalformedCall),
        ("delete_file\u{0}", RejectionCode::MalformedCall),
        ("\u{0}delete_file", RejectionCode::MalformedCall),
        (long.as_str(), RejectionCode::MalformedCall),
    ];
    for (name, expected) in attempts {
        let r = call_as(&policy, Caller::agent("attacker"), name).await;
        assert_eq!(code(&r), Some(expected), "{name:?}");
    }
}

#[tokio::test]
async fn roles_are_a_union_minus_every_deny_and_agents_override() {
    let policy = Arc::new(
        PolicyEngine::builder()
            .role("reader", rule(&["read_*", "search"], &[]))
            .role("writer", rule(&["write_*"], &["write_secrets"]))
            .agent("intern", rule(&[], &["search"]))
            .agent("ci-bot", rule(&["deploy_staging"], &[]))
            .build()
            .unwrap(),
    );
    let both = Caller::agent("alice").with_roles(["reader", "writer"]);
    for ok in ["read_file", "search", "write_file"] {
        assert!(
            !call_as(&policy, both.clone(), ok).await.is_rejected(),
            "{ok}"
        );
    }
    assert!(
        call_as(&policy, both.clone(), "write_secrets")
            .await
            .is_rejected(),
        "a role's deny applies to all"
    );
    assert!(
        call_as(
            &policy,
            Caller::agent("bob").with_roles(["reader"]),
            "write_file"
        )
        .await
        .is_rejected()
    );
    let intern = Caller::agent("intern").with_roles(["reader"]);
    assert!(
        call_as(&policy, intern.clone(), "search")
            .await
            .is_rejected(),
        "per-agent deny on top"
    );
    assert!(!call_as(&policy, intern, "read_file").await.is_rejected());
    assert!(
        !call_as(&policy, Caller::agent("ci-bot"), "deploy_staging")
            .await
            .is_rejected()
    );
    assert!(
        call_as(&policy, Caller::agent("ci-bot"), "deploy_prod")
            .await
            .is_rejected()
    );
    assert!(
        call_as(
            &policy,
            Caller::agent("nobody").with_roles(["unknown-role"]),
            "read_file"
        )
        .await
        .is_rejected()
    );
}

#[tokio::test]
async fn refusals_list_the_tools_the_caller_may_use() {
    let catalog = common::catalog(&[
        ("read_file", json!({"type": "object"})),
        ("search", json!({"type": "object"})),
        ("write_file", json!({"type": "object"})),
    ]);
    let policy = Arc::new(
        PolicyEngine::builder()
            .role("reader", rule(&["read_*", "search"], &[]))
            .catalog(catalog)
            .build()
            .unwrap(),
    );
    let reader = Caller::agent("r").with_roles(["reader"]);
    assert_eq!(policy.visible_tools(&reader), ["read_file", "search"]);
    let r = call_as(&policy, reader, "write_file")
        .await
        .rejection
        .unwrap();
    assert_eq!(
        r.fix_hints,
        ["do not retry this tool; tools you may call: read_file, search"]
    );
    assert!(policy.visible_tools(&Caller::default()).is_empty());
}

fn hmac() -> HmacTokenVerifier {
    HmacTokenVerifier::new(b"0123456789abcdef0123456789abcdef-test".to_vec()).unwrap()
}

#[tokio::test]
async fn verified_identity_replaces_claims_and_failures_say_nothing() {
    let clock = ManualClock::at("2026-06-01T12:00:00Z".parse().unwrap());
    let verifier = hmac().clock(Arc::new(clock.clone())).leeway(Duration::ZERO);
    let token = verifier.issue("ci-bot", &["reader"], Duration::from_secs(60));
    let policy = Arc::new(
        PolicyEngine::builder()
            .role("reader", rule(&["read_*"], &[]))
            .role("admin", rule(&["*"], &[]))
            .verifier(Arc::new(verifier.clone()))
            .require_identity(true)
            .build()
            .unwrap(),
    );
    // A valid token: the verified roles apply, whatever the caller claimed.
    let claimed_admin = Caller::agent("root")
        .with_roles(["admin"])
        .with_credential(token.clone());
    assert!(
        !call_as(&policy, claimed_admin.clone(), "read_file")
            .await
            .is_rejected()
    );
    assert_eq!(
        code(&call_as(&policy, claimed_admin, "drop_db").await),
        Some(RejectionCode::PolicyDenied)
    );

    // No token, a forged one, a tampered one, an expired one: all alike.
    let (payload, _) = token.split_once('.').unwrap();
    let forged = format!("{payload}.AAAA");
    let other_key = HmacTokenVerifier::new(b"another secret that is long enough!!".to_vec())
        .unwrap()
        .issue("ci-bot", &["admin"], Duration::from_secs(60));
    let mut responses = Vec::new();
    for credential in [
        None,
        Some(forged),
        Some(other_key),
        Some("garbage".to_owned()),
        Some("a.b.c".into()),
    ] {
        let mut caller = Caller::agent("ci-bot").with_roles(["admin"]);
        if let Some(c) = credential {
            caller = caller.with_credential(c);
        }
        responses.push(
            call_as(&policy, caller, "read_file")
                .await
                .rejection
                .unwrap(),
        );
    }
    clock.advance(Duration::from_secs(61));
    responses.push(
        call_as(
            &policy,
            Caller::default().with_credential(token),
            "read_file",
        )
        .await
        .rejection
        .unwrap(),
    );
    for r in &responses {
        assert_eq!(r.code, RejectionCode::Unauthenticated);
        assert_eq!(r, &responses[0], "every failure reads the same");
    }
}

#[tokio::test]
async fn unverified_callers_keep_no_roles_when_a_verifier_is_configured() {
    let policy = Arc::new(
        PolicyEngine::builder()
            .role("admin", rule(&["*"], &[]))
            .verifier(Arc::new(hmac()))
            .build()
            .unwrap(),
    );
    let r = call_as(
        &policy,
        Caller::agent("x").with_roles(["admin"]),
        "anything",
    )
    .await;
    assert_eq!(code(&r), Some(RejectionCode::PolicyDenied));
}

#[tokio::test]
async fn a_claimed_agent_id_unlocks_none_of_that_agents_rules() {
    let verifier = hmac();
    let token = verifier.issue("deployer", &[], Duration::from_secs(60));
    let policy = Arc::new(
        PolicyEngine::builder()
            .allow(["read_*"])
            .agent("deployer", rule(&["deploy_prod"], &[]))
            .agent("intern", rule(&[], &["read_secrets"]))
            .verifier(Arc::new(verifier))
            .build()
            .unwrap(),
    );
    // No credential, the id only claimed: the agent's allow rule does not apply.
    let claimed = call_as(&policy, Caller::agent("deployer"), "deploy_prod").await;
    assert_eq!(code(&claimed), Some(RejectionCode::PolicyDenied));
    assert!(policy.visible_tools(&Caller::agent("deployer")).is_empty());
    // The same id, verified: it does.
    let verified = Caller::agent("deployer").with_credential(token);
    assert!(
        !call_as(&policy, verified, "deploy_prod")
            .await
            .is_rejected()
    );
    // Claiming an id can only narrow: the claimed agent's deny rule still applies.
    let intern = call_as(&policy, Caller::agent("intern"), "read_secrets").await;
    assert_eq!(code(&intern), Some(RejectionCode::PolicyDenied));
    assert!(
        !call_as(&policy, Caller::agent("intern"), "read_file")
            .await
            .is_rejected()
    );
}

#[cfg(feature = "jwt")]
mod jwt {
    use super::*;
    use agent_airlock::layers::policy::{IdentityError, IdentityVerifier, JwtVerifier};
    use agent_airlock::service::Credential;
    use base64::Engine;
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};

    const SECRET: &[u8] = b"jwt secret that is at least 32 bytes long";

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    fn claims(exp_in: i64, aud: &str) -> serde_json::Value {
        json!({"sub": "agent-7", "roles": ["reader"], "exp": now() + exp_in, "aud": aud, "iss": "auth"})
    }

    fn hs(claims: &serde_json::Value, secret: &[u8]) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(secret),
        )
        .unwrap()
    }

    fn verify(v: &JwtVerifier, token: &str) -> Result<(String, Vec<String>), IdentityError> {
        v.verify(&Credential::new(token))
            .map(|id| (id.agent_id, id.roles))
    }

    #[test]
    fn hs256_valid_expired_wrong_audience_wrong_signature_and_alg_none() {
        let v = JwtVerifier::hs256(SECRET)
            .unwrap()
            .audience("tools")
            .issuer("auth")
            .leeway(Duration::from_secs(5));
        assert_eq!(
            verify(&v, &hs(&claims(60, "tools"), SECRET)),
            Ok(("agent-7".into(), vec!["reader".into()]))
        );
        assert_eq!(
            verify(&v, &hs(&claims(-60, "tools"), SECRET)),
            Err(IdentityError::Expired)
        );
        assert_eq!(
            verify(&v, &hs(&claims(-3, "tools"), SECRET)).map(|_| ()),
            Ok(()),
            "within the leeway"
        );
        assert_eq!(
            verify(&v, &hs(&claims(60, "elsewhere"), SECRET)),
            Err(IdentityError::WrongAudience)
        );
        assert_eq!(
            verify(
                &v,
                &hs(
                    &claims(60, "tools"),
                    b"a different secret of 32 bytes or more"
                )
            ),
            Err(IdentityError::BadSignature)
        );
        let b64 = |v: &serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        let none = format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "typ": "JWT"})),
            b64(&claims(60, "tools"))
        );
        assert!(verify(&v, &none).is_err(), "alg none is refused");
        let mut no_exp = claims(60, "tools");
        no_exp.as_object_mut().unwrap().remove("exp");
        assert!(verify(&v, &hs(&no_exp, SECRET)).is_err(), "exp is required");
        assert!(JwtVerifier::hs256(b"short").is_err());
    }

    #[test]
    fn a_configured_audience_or_issuer_is_required_not_only_checked() {
        let rsa_private = include_bytes!("fixtures/rsa_private.pem");
        let rsa_public = include_bytes!("fixtures/rsa_public.pem");
        let without = |claim: &str| {
            let mut c = claims(60, "tools");
            c.as_object_mut().unwrap().remove(claim);
            c
        };
        let hs256 = JwtVerifier::hs256(SECRET)
            .unwrap()
            .audience("tools")
            .issuer("auth");
        let rs256 = JwtVerifier::rs256_pem(rsa_public)
            .unwrap()
            .audience("tools")
            .issuer("auth");
        let rs = |c: &serde_json::Value| {
            encode(
                &Header::new(Algorithm::RS256),
                c,
                &EncodingKey::from_rsa_pem(rsa_private).unwrap(),
            )
            .unwrap()
        };
        for (claim, error) in [("aud", "aud"), ("iss", "iss")] {
            let c = without(claim);
            assert_eq!(
                verify(&hs256, &hs(&c, SECRET)),
                Err(IdentityError::Claim(error))
            );
            assert_eq!(verify(&rs256, &rs(&c)), Err(IdentityError::Claim(error)));
        }
        // Not configured: not required.
        let lax = JwtVerifier::hs256(SECRET).unwrap();
        assert!(verify(&lax, &hs(&without("aud"), SECRET)).is_ok());
        assert!(verify(&lax, &hs(&without("iss"), SECRET)).is_ok());
    }

    #[test]
    fn rs256_and_eddsa_and_algorithm_confusion() {
        let rsa_private = include_bytes!("fixtures/rsa_private.pem");
        let rsa_public = include_bytes!("fixtures/rsa_public.pem");
        let ed_private = include_bytes!("fixtures/ed25519_private.pem");
        let ed_public = include_bytes!("fixtures/ed25519_public.pem");
        let c = claims(60, "tools");

        let rs = JwtVerifier::rs256_pem(rsa_public).unwrap();
        let token = encode(
            &Header::new(Algorithm::RS256),
            &c,
            &EncodingKey::from_rsa_pem(rsa_private).unwrap(),
        )
        .unwrap();
        assert_eq!(verify(&rs, &token).unwrap().0, "agent-7");

        let ed = JwtVerifier::eddsa_pem(ed_public).unwrap();
        let token = encode(
            &Header::new(Algorithm::EdDSA),
            &c,
            &EncodingKey::from_ed_pem(ed_private).unwrap(),
        )
        .unwrap();
        assert_eq!(verify(&ed, &token).unwrap().0, "agent-7");
        assert!(
            verify(&rs, &token).is_err(),
            "an EdDSA token is not accepted by an RS256 verifier"
        );

        // HS256 signed with the RSA public key as the secret: the classic confusion attack.
        let confused = hs(&c, rsa_public);
        assert!(verify(&rs, &confused).is_err());
    }

    #[tokio::test]
    async fn the_layer_takes_the_identity_from_the_jwt() {
        let v = JwtVerifier::hs256(SECRET).unwrap().audience("tools");
        let policy = Arc::new(
            PolicyEngine::builder()
                .role("reader", rule(&["read_*"], &[]))
                .verifier(Arc::new(v))
                .require_identity(true)
                .build()
                .unwrap(),
        );
        let ok = Caller::default().with_credential(hs(&claims(60, "tools"), SECRET));
        assert!(!call_as(&policy, ok, "read_file").await.is_rejected());
        let expired = Caller::default().with_credential(hs(&claims(-3600, "tools"), SECRET));
        assert_eq!(
            code(&call_as(&policy, expired, "read_file").await),
            Some(RejectionCode::Unauthenticated)
        );
    }
}

#[tokio::test]
async fn time_windows_refuse_with_the_next_opening() {
    // Friday 2026-03-27 18:00 in Berlin (CET); Monday after the DST change opens at 07:00Z.
    let clock = ManualClock::at("2026-03-27T17:00:00Z".parse().unwrap());
    let policy = Arc::new(
        PolicyEngine::builder()
            .schedule(ScheduleConfig {
                tools: vec!["deploy_*".into()],
                days: ["mon", "tue", "wed", "thu", "fri"]
                    .map(String::from)
                    .to_vec(),
                start: "09:00".into(),
                end: "17:00".into(),
                timezone: "Europe/Berlin".into(),
            })
            .clock(Arc::new(clock.clone()))
            .build()
            .unwrap(),
    );
    let r = call_as(&policy, Caller::agent("ops"), "DEPLOY_web")
        .await
        .rejection
        .unwrap();
    assert_eq!(r.code, RejectionCode::OutsideSchedule);
    assert_eq!(r.retry_after, Some(Duration::from_secs(62 * 3600)));
    assert!(
        !call_as(&policy, Caller::agent("ops"), "read_logs")
            .await
            .is_rejected(),
        "other tools are not scheduled"
    );
    clock.set("2026-03-30T07:00:00Z".parse().unwrap());
    assert!(
        !call_as(&policy, Caller::agent("ops"), "deploy_web")
            .await
            .is_rejected()
    );
}

#[tokio::test]
async fn rate_limits_are_per_agent_and_global_with_a_whole_second_retry() {
    let clock = ManualClock::at("2026-01-01T00:00:00Z".parse().unwrap());
    let policy = Arc::new(
        PolicyEngine::builder()
            .rate_limit("*", "3/minute".parse().unwrap())
            .global_rate_limit("deploy_*", "4/hour".parse().unwrap())
            .clock(Arc::new(clock.clone()))
            .build()
            .unwrap(),
    );
    for _ in 0..3 {
        assert!(
            !call_as(&policy, Caller::agent("a"), "search")
                .await
                .is_rejected()
        );
    }
    let r = call_as(&policy, Caller::agent("a"), "search")
        .await
        .rejection
        .unwrap();
    assert_eq!(r.code, RejectionCode::RateLimited);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(
        json["retry_after_secs"], 20,
        "2.0e1 s until the next token, rounded up"
    );
    assert!(
        !call_as(&policy, Caller::agent("b"), "search")
            .await
            .is_rejected(),
        "per agent"
    );

    for agent in ["c", "d", "e", "f"] {
        assert!(
            !call_as(&policy, Caller::agent(agent), "deploy_x")
                .await
                .is_rejected()
        );
    }
    let r = call_as(&policy, Caller::agent("g"), "deploy_x")
        .await
        .rejection
        .unwrap();
    assert_eq!(r.code, RejectionCode::RateLimited, "global across agents");
    clock.advance(Duration::from_secs(900));
    assert!(
        !call_as(&policy, Caller::agent("g"), "deploy_x")
            .await
            .is_rejected()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_limits_are_exact_under_concurrency() {
    let clock = ManualClock::at("2026-01-01T00:00:00Z".parse().unwrap());
    let policy = Arc::new(
        PolicyEngine::builder()
            .rate_limit("*", "250/hour".parse().unwrap())
            .clock(Arc::new(clock))
            .build()
            .unwrap(),
    );
    let (inner, calls) = echo();
    let svc = PolicyLayer::new(policy).layer(inner);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let svc = svc.clone();
        tasks.push(tokio::spawn(async move {
            let mut admitted = 0;
            for _ in 0..100 {
                let r = svc
                    .clone()
                    .oneshot(ToolCall::new("t", json!({})).with_caller(Caller::agent("racer")))
                    .await
                    .unwrap();
                admitted += usize::from(!r.is_rejected());
            }
            admitted
        }));
    }
    let mut admitted = 0;
    for t in tasks {
        admitted += t.await.unwrap();
    }
    assert_eq!(admitted, 250);
    assert_eq!(count(&calls), 250);
}

#[test]
fn memory_stays_bounded_under_a_million_agent_ids() {
    let clock = ManualClock::at("2026-01-01T00:00:00Z".parse().unwrap());
    let policy = PolicyEngine::builder()
        .rate_limit("*", "10/minute".parse().unwrap())
        .max_tracked_agents(10_000)
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let mut refused = 0usize;
    for i in 0..1_000_000u32 {
        let mut call =
            ToolCall::new("t", json!({})).with_caller(Caller::agent(format!("agent-{i}")));
        refused += usize::from(policy.check(&mut call).is_err());
        if i % 100_000 == 0 {
            clock.advance(Duration::from_secs(1));
        }
    }
    let tracked = policy.tracked_rate_keys();
    assert!(tracked <= 10_000 + 1024, "tracked {tracked} keys");
    // Once saturated, the flood shares one bucket and is throttled.
    assert!(refused > 900_000, "refused {refused}");
    // When the flood has passed, stale keys go and new agents are served again.
    clock.advance(Duration::from_secs(600));
    for i in 0..2048u32 {
        let mut call =
            ToolCall::new("t", json!({})).with_caller(Caller::agent(format!("late-{i}")));
        let _ = policy.check(&mut call);
    }
    let mut call = ToolCall::new("t", json!({})).with_caller(Caller::agent("newcomer"));
    assert!(policy.check(&mut call).is_ok());
    assert!(policy.tracked_rate_keys() <= 10_000 + 1024);
}

#[tokio::test]
async fn session_budgets_count_and_expire() {
    let clock = ManualClock::at("2026-01-01T00:00:00Z".parse().unwrap());
    let policy = Arc::new(
        PolicyEngine::builder()
            .sessions(SessionConfig {
                max_calls: Some(2),
                ..SessionConfig::default()
            })
            .clock(Arc::new(clock.clone()))
            .build()
            .unwrap(),
    );
    let (inner, _) = echo();
    let mut svc = PolicyLayer::new(policy).layer(inner);
    let mut send = async |session: &str| {
        let call = ToolCall::new("t", json!({})).with_session(session);
        svc.ready().await.unwrap().call(call).await.unwrap()
    };
    assert!(!send("conv-1").await.is_rejected());
    assert!(!send("conv-1").await.is_rejected());
    assert_eq!(
        code(&send("conv-1").await),
        Some(RejectionCode::BudgetExceeded)
    );
    assert!(!send("conv-2").await.is_rejected());
    clock.advance(Duration::from_secs(3601));
    assert!(
        !send("conv-1").await.is_rejected(),
        "the TTL reset the session"
    );
}

/// A session budget resets with a new session; a budget per agent across its sessions is a
/// per-agent rate limit whose burst is the whole count (`"*" = "3/day"`): a new
/// `initialize` does not give it back, and one agent's spending is not another's.
#[tokio::test]
async fn a_budget_per_agent_holds_across_its_sessions() {
    let clock = ManualClock::at("2026-01-01T00:00:00Z".parse().unwrap());
    let config = AirlockConfig::from_toml_str(
        r#"
        [policy.rate_limits]
        "*" = "3/day"
        [policy.sessions]
        max_calls = 2
        "#,
    )
    .unwrap();
    let policy = Arc::new(
        PolicyEngineBuilder::from_config(&config.policy)
            .unwrap()
            .clock(Arc::new(clock.clone()))
            .build()
            .unwrap(),
    );
    let (inner, _) = echo();
    let mut svc = PolicyLayer::new(policy).layer(inner);
    let mut send = async |agent: &str, session: &str| {
        let call = ToolCall::new("t", json!({}))
            .with_session(session)
            .with_caller(Caller::agent(agent));
        svc.ready().await.unwrap().call(call).await.unwrap()
    };
    assert!(!send("alice", "s1").await.is_rejected());
    assert!(!send("alice", "s1").await.is_rejected());
    assert_eq!(
        code(&send("alice", "s1").await),
        Some(RejectionCode::BudgetExceeded)
    );
    // A new session: its own budget, but the agent's has one call left.
    assert!(!send("alice", "s2").await.is_rejected());
    assert_eq!(
        code(&send("alice", "s2").await),
        Some(RejectionCode::RateLimited)
    );
    assert_eq!(
        code(&send("alice", "s3").await),
        Some(RejectionCode::RateLimited)
    );
    assert!(
        !send("bob", "s4").await.is_rejected(),
        "bob's budget is his own"
    );
    // It comes back as the day goes by: a third of it after eight hours.
    clock.advance(Duration::from_secs(8 * 3600 + 1));
    assert!(!send("alice", "s5").await.is_rejected());
}

/// `[policy] cedar_file`: decisions over the call's arguments, on top of the TOML rules
/// (a call passes both), named in the refusal; a policy that cannot be read stops the start.
#[cfg(feature = "cedar")]
#[tokio::test]
async fn cedar_policies_decide_over_the_arguments_on_top_of_the_toml_rules() {
    let dir = common::Scratch::new("policy", "cedar");
    let policies = dir.join("tools.cedar");
    std::fs::write(
        &policies,
        r#"
        @id("workspace-only")
        permit(principal, action == Action::"call:write_file", resource)
          when { context.arguments.path like "/workspace/*" };
        @id("no-parent-dirs")
        forbid(principal, action, resource)
          when { context.arguments has path && context.arguments.path like "*..*" };
        permit(principal in Role::"reader", action, resource == Tool::"read_file");
        "#,
    )
    .unwrap();
    let config = AirlockConfig::from_toml_str(&format!(
        "[policy]\ndenied_tools = [\"delete_*\"]\ncedar_file = \"{}\"\n",
        policies.display()
    ))
    .unwrap();
    let policy = Arc::new(
        PolicyEngineBuilder::from_config(&config.policy)
            .unwrap()
            .build()
            .unwrap(),
    );
    let (inner, _) = echo();
    let mut svc = PolicyLayer::new(policy).layer(inner);
    let mut send = async |tool: &str, caller: Caller, arguments: serde_json::Value| {
        let call = ToolCall::new(tool, arguments).with_caller(caller);
        svc.ready().await.unwrap().call(call).await.unwrap()
    };
    let alice = || Caller::agent("alice");
    let ok = send(
        "write_file",
        alice(),
        json!({"path": "/workspace/notes.md"}),
    )
    .await;
    assert!(!ok.is_rejected(), "{:?}", ok.rejection);
    let outside = send("write_file", alice(), json!({"path": "/etc/cron.d/x"})).await;
    let rejection = outside.rejection.expect("refused");
    assert_eq!(rejection.code, RejectionCode::PolicyDenied);
    assert!(
        rejection.message.contains("no Cedar policy permits"),
        "{}",
        rejection.message
    );
    let climbing = send(
        "write_file",
        alice(),
        json!({"path": "/workspace/../etc/x"}),
    )
    .await;
    let message = climbing.rejection.expect("refused").message;
    assert!(message.contains("no-parent-dirs"), "{message}");
    let mut reader = alice();
    reader.roles = vec!["reader".into()];
    assert!(
        !send("read_file", reader, json!({"path": "/x"}))
            .await
            .is_rejected()
    );
    assert!(
        send("read_file", alice(), json!({"path": "/x"}))
            .await
            .is_rejected()
    );
    // The TOML rules still apply first.
    let denied = send("delete_file", alice(), json!({})).await;
    assert!(denied.rejection.unwrap().message.contains("delete_*"));

    std::fs::write(&policies, "permit(principal, action, resource").unwrap();
    let Err(e) = PolicyEngineBuilder::from_config(&config.policy) else {
        panic!("a policy file that does not parse was accepted");
    };
    assert!(e.to_string().contains("tools.cedar"), "{e}");
}

#[test]
fn the_policy_section_of_the_config_builds_and_names_its_errors() {
    let config = AirlockConfig::from_toml_str(
        r#"
        [policy]
        allowed_tools = ["read_*"]
        denied_tools = ["read_secrets"]
        [policy.rate_limits]
        "*" = "100/minute"
        "read_big" = { rate = "1/second", burst = 2 }
        [policy.roles.ops]
        allow = ["deploy_*"]
        [[policy.schedules]]
        tools = ["deploy_*"]
        days = ["mon"]
        start = "09:00"
        end = "10:00"
        timezone = "America/New_York"
        [policy.sessions]
        max_calls = 5
        [policy.identity]
        kind = "hmac"
        secret_env = "TEST_AIRLOCK_SECRET"
        "#,
    )
    .unwrap();
    let env = |name: &str| (name == "TEST_AIRLOCK_SECRET").then(|| "s".repeat(40));
    assert!(
        PolicyEngineBuilder::from_config_with_env(&config.policy, env)
            .unwrap()
            .build()
            .is_ok()
    );
    let missing = PolicyEngineBuilder::from_config_with_env(&config.policy, |_| None)
        .err()
        .unwrap();
    assert!(
        missing.to_string().contains("TEST_AIRLOCK_SECRET"),
        "{missing}"
    );

    for (toml, key) in [
        ("[policy]\ndenied_tools = [\"a[\"]", "a["),
        (
            "[policy.rate_limits]\n\"*\" = \"100/fortnight\"",
            "100/fortnight",
        ),
        ("[policy]\nallowed_tool = []", "allowed_tool"),
        (
            "[[policy.schedules]]\ntools=[\"x\"]\nstart=\"9\"\nend=\"10:00\"",
            "start",
        ),
    ] {
        let result = AirlockConfig::from_toml_str(toml)
            .map_err(|e| e.to_string())
            .and_then(|c| {
                PolicyEngineBuilder::from_config_with_env(&c.policy, |_| None)
                    .and_then(|b| b.build())
                    .map_err(|e| e.to_string())
            });
        let err = result.err().unwrap_or_else(|| panic!("{toml} should fail"));
        assert!(err.contains(key), "{toml}: {err}");
    }
}

#[tokio::test]
async fn hints_name_at_most_twenty_tools() {
    let tools: Vec<(String, serde_json::Value)> = (0..30)
        .map(|i| (format!("tool_{i:02}"), json!({"type": "object"})))
        .collect();
    let refs: Vec<(&str, serde_json::Value)> =
        tools.iter().map(|(n, s)| (n.as_str(), s.clone())).collect();
    let policy = Arc::new(
        PolicyEngine::builder()
            .deny(["tool_29"])
            .catalog(common::catalog(&refs))
            .build()
            .unwrap(),
    );
    let hint = call_as(&policy, Caller::agent("a"), "tool_29")
        .await
        .rejection
        .unwrap()
        .fix_hints
        .remove(0);
    assert!(hint.ends_with("tool_19, …"), "{hint}");
    assert_eq!(policy.visible_tools(&Caller::agent("a")).len(), 29);
}
