//! Calls held for a person's approval: bound to the caller, the tool, the exact arguments
//! and the policies; single use; expiring.

use std::sync::Arc;
use std::time::Duration;

use agent_airlock::approvals::{ApprovalStore, MemoryApprovalStore};
use agent_airlock::layers::policy::{ApprovalsConfig, ManualClock, PolicyEngine};
use agent_airlock::{Caller, RejectionCode, ToolCall};
use serde_json::{Value, json};

fn engine(store: Arc<MemoryApprovalStore>, clock: Arc<ManualClock>) -> PolicyEngine {
    let config = ApprovalsConfig {
        tools: vec!["delete_*".into()],
        ttl_secs: 600,
        ..ApprovalsConfig::default()
    };
    PolicyEngine::builder()
        .clock(clock)
        .approvals(store, config)
        .approval_preview(Arc::new(|_: &Value| json!("masked")))
        .build()
        .unwrap()
}

fn call(agent: &str, repo: &str) -> ToolCall {
    let mut caller = Caller::agent(agent);
    caller.verified = true;
    ToolCall::new("delete_repo", json!({"repo": repo, "force": true})).with_caller(caller)
}

/// The id of the request an `approval_pending` refusal names.
fn pending(engine: &PolicyEngine, mut c: ToolCall) -> String {
    let refusal = engine.check(&mut c).expect_err("held");
    assert_eq!(refusal.code, RejectionCode::ApprovalPending, "{refusal:?}");
    assert!(refusal.retry_after.is_some());
    let id = refusal.approval().unwrap().to_owned();
    assert!(refusal.message.contains(&id), "{}", refusal.message);
    id
}

#[tokio::test]
async fn an_approved_call_goes_through_once_for_its_caller_and_arguments_only() {
    let store = Arc::new(MemoryApprovalStore::new(100));
    let clock = Arc::new(ManualClock::at(
        jiff::Timestamp::from_second(1_000).unwrap(),
    ));
    let engine = engine(store.clone(), clock.clone());
    // Not held: another tool.
    let mut other = ToolCall::new("list_repos", json!({})).with_caller(Caller::agent("alice"));
    assert!(engine.check(&mut other).is_ok());

    let id = pending(&engine, call("alice", "infra"));
    assert_eq!(
        pending(&engine, call("alice", "infra")),
        id,
        "the same request"
    );
    let shown = store.get(&id, 1_000).await.unwrap().unwrap();
    assert_eq!(
        shown.preview,
        json!("masked"),
        "approvers see masked arguments"
    );
    assert_eq!(shown.binding.agent.as_deref(), Some("alice"));

    store.decide(&id, true, "ops-lead", 1_001).await.unwrap();
    // Another caller, or other arguments, are not what was approved.
    assert_ne!(pending(&engine, call("mallory", "infra")), id);
    assert_ne!(pending(&engine, call("alice", "billing")), id);
    // The same arguments in another key order are the same call.
    let mut same = ToolCall::new("delete_repo", json!({"force": true, "repo": "infra"}))
        .with_caller(call("alice", "infra").caller);
    assert!(engine.check(&mut same).is_ok(), "approved");
    // Single use.
    let again = pending(&engine, call("alice", "infra"));
    assert_ne!(again, id);

    // Denied stays denied.
    store
        .decide(&again, false, "ops-lead", 1_002)
        .await
        .unwrap();
    let mut denied = call("alice", "infra");
    let refusal = engine.check(&mut denied).unwrap_err();
    assert_eq!(refusal.code, RejectionCode::PolicyDenied);
    assert!(refusal.message.contains("denied"), "{}", refusal.message);

    // An approval not used before it expires is gone.
    let late = pending(&engine, call("bob", "infra"));
    store.decide(&late, true, "ops-lead", 1_003).await.unwrap();
    clock.advance(Duration::from_secs(601));
    assert_ne!(pending(&engine, call("bob", "infra")), late, "expired");
    assert!(store.decide(&late, true, "ops-lead", 1_700).await.is_err());
}

#[tokio::test]
async fn without_a_store_a_held_call_is_refused() {
    let engine = PolicyEngine::builder().build().unwrap();
    let mut c = call("alice", "x");
    assert!(engine.check(&mut c).is_ok(), "nothing asks");
    #[cfg(feature = "cedar")]
    {
        use agent_airlock::layers::policy::CedarPolicies;
        let cedar = CedarPolicies::new(
            r#"@approval("deleting a repository") permit(principal, action == Action::"call:delete_repo", resource);"#,
            None,
        )
        .unwrap();
        let engine = PolicyEngine::builder()
            .cedar(Arc::new(cedar))
            .rate_limit("*", "1/minute".parse().unwrap())
            .build()
            .unwrap();
        let refusal = engine.check(&mut call("alice", "x")).unwrap_err();
        assert_eq!(refusal.code, RejectionCode::PolicyDenied);
        assert!(refusal.message.contains("approval"), "{}", refusal.message);
        // Refused before counting: the agent's one call a minute is not spent.
        let refusal = engine.check(&mut call("alice", "x")).unwrap_err();
        assert_eq!(
            refusal.code,
            RejectionCode::PolicyDenied,
            "not rate_limited: {refusal:?}"
        );
    }
}

/// A Cedar permit annotated `@approval` holds the calls it alone permits; a call another
/// permit allows goes through; the approval is bound to the policies' version.
#[cfg(feature = "cedar")]
#[tokio::test]
async fn cedar_approval_permits_hold_what_they_alone_permit() {
    use agent_airlock::layers::policy::CedarPolicies;
    let store = Arc::new(MemoryApprovalStore::new(100));
    let build = |extra: &str| {
        let cedar = CedarPolicies::new(
            &format!(
                r#"@approval("deleting a repository")
                permit(principal, action == Action::"call:delete_repo", resource);
                permit(principal in Role::"owner", action == Action::"call:delete_repo", resource)
                  when {{ context.arguments.repo == "scratch" }};
                {extra}"#
            ),
            None,
        )
        .unwrap();
        PolicyEngine::builder()
            .cedar(Arc::new(cedar))
            .approvals(store.clone(), ApprovalsConfig::default())
            .build()
            .unwrap()
    };
    let engine = build("");
    let id = pending(&engine, call("alice", "infra"));
    let mut owner = call("olga", "scratch");
    owner.caller.roles = vec!["owner".into()];
    assert!(
        engine.check(&mut owner).is_ok(),
        "another permit holds, without approval"
    );
    store.decide(&id, true, "lead", engine.now()).await.unwrap();
    // Changed policies ask again: the approval was for the old ones.
    let changed = build("// a comment changes the version");
    assert_ne!(pending(&changed, call("alice", "infra")), id);
    assert!(engine.check(&mut call("alice", "infra")).is_ok());
}
