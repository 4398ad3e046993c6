//! The layers together, end to end, over a real ToolRouter with typed tools.

mod common;

use std::convert::Infallible;
use std::time::Duration;

use agent_airlock::{
    AirlockConfig, Note, RejectionCode, ServiceBuilderExt, StrictSchemaLayer, StripGhostArgsLayer,
    ToolCall, ToolOutput, ToolResponse, ToolRouter,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use tower::{BoxError, Service, ServiceBuilder, ServiceExt, service_fn};

#[derive(Deserialize, JsonSchema)]
struct Options {
    recursive: bool,
    max_depth: Option<u32>,
}

#[derive(Deserialize, JsonSchema)]
struct ListDir {
    path: String,
    options: Option<Options>,
}

async fn list_dir(args: ListDir) -> Result<Value, String> {
    Ok(json!({
        "path": args.path,
        "recursive": args.options.as_ref().map(|o| o.recursive),
        "max_depth": args.options.and_then(|o| o.max_depth),
    }))
}

#[derive(Deserialize, JsonSchema)]
struct Crash {
    #[allow(dead_code)]
    reason: String,
}

async fn crash(_args: Crash) -> Result<String, String> {
    panic!("handler bug")
}

async fn slow(_args: Crash) -> Result<String, String> {
    tokio::time::sleep(Duration::from_secs(60)).await;
    Ok("late".into())
}

fn router() -> ToolRouter {
    ToolRouter::builder()
        .tool("list_dir", "List a directory", list_dir)
        .tool("crash", "Always panics", crash)
        .tool("slow", "Takes a minute", slow)
        .build()
        .unwrap()
}

fn stack(
    config: &AirlockConfig,
) -> impl Service<ToolCall, Response = ToolResponse, Error = Infallible> + Clone {
    let router = router();
    let catalog = router.catalog();
    ServiceBuilder::new()
        .layer(StripGhostArgsLayer::from_config(
            &config.strip_ghost_args(),
            catalog.clone(),
        ))
        .layer(StrictSchemaLayer::from_config(
            &config.strict_schema(),
            catalog,
        ))
        .service(router)
}

async fn send(config: &AirlockConfig, tool: &str, args: Value) -> ToolResponse {
    stack(config)
        .oneshot(ToolCall::new(tool, args))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_good_call_runs() {
    let r = send(
        &AirlockConfig::default(),
        "list_dir",
        json!({"path": "/srv", "options": {"recursive": true}}),
    )
    .await;
    assert_eq!(
        r.output,
        ToolOutput::Json(json!({"path": "/srv", "recursive": true, "max_depth": null}))
    );
    assert!(r.notes.is_empty());
}

#[tokio::test]
async fn nested_ghosts_inside_a_referenced_optional_struct_are_stripped() {
    let r = send(
        &AirlockConfig::default(),
        "list_dir",
        json!({"path": "/srv", "options": {"recursive": false, "follow": true}, "force": 1}),
    )
    .await;
    assert!(!r.is_error, "{r:?}");
    match &r.notes[..] {
        [
            Note::ArgumentsStripped {
                arguments,
                total: 2,
                ..
            },
        ] => {
            assert_eq!(arguments, &["/force", "/options/follow"]);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn strict_mode_from_the_environment_refuses_ghosts() {
    let config = AirlockConfig::default()
        .with_env_vars([("AIRLOCK_STRICT_MODE", "true")])
        .unwrap();
    let r = send(
        &config,
        "list_dir",
        json!({"path": "/srv", "recursive": true}),
    )
    .await;
    let rejection = r.rejection.unwrap();
    assert_eq!(rejection.code, RejectionCode::GhostArguments);
    assert_eq!(rejection.field_errors[0].pointer, "/recursive");
}

#[tokio::test]
async fn type_errors_in_nested_optional_structs_are_refused_with_hints() {
    let r = send(
        &AirlockConfig::default(),
        "list_dir",
        json!({"path": "/srv", "options": {"recursive": "yes", "max_depth": "3"}}),
    )
    .await;
    let rejection = r.rejection.unwrap();
    assert_eq!(rejection.code, RejectionCode::SchemaViolation);
    let hints: Vec<(&str, &str)> = rejection
        .field_errors
        .iter()
        .map(|e| (e.pointer.as_str(), e.hint.as_str()))
        .collect();
    assert!(
        hints.contains(&("/options/max_depth", "send 3 as a number, without quotes")),
        "{hints:?}"
    );
    assert!(
        hints.iter().any(|(p, _)| *p == "/options/recursive"),
        "{hints:?}"
    );
}

#[tokio::test]
async fn unknown_tool_and_panicking_tool() {
    let config = AirlockConfig::default();
    let r = send(&config, "list_dirs", json!({})).await;
    let rejection = r.rejection.unwrap();
    assert_eq!(rejection.code, RejectionCode::UnknownTool);
    assert_eq!(rejection.fix_hints, ["did you mean `list_dir`?"]);

    let svc = stack(&config);
    let r = svc
        .clone()
        .oneshot(ToolCall::new("crash", json!({"reason": "x"})))
        .await
        .unwrap();
    assert!(r.is_error && !r.is_rejected());
    assert!(!r.output.to_text().contains("handler bug"));
    // The same service keeps serving.
    let r = svc
        .oneshot(ToolCall::new("list_dir", json!({"path": "/"})))
        .await
        .unwrap();
    assert!(!r.is_error);
}

#[tokio::test]
async fn builder_extension_methods_compose_the_same_stack() {
    let router = router();
    let catalog = router.catalog();
    let svc = ServiceBuilder::new()
        .strip_ghost_args(catalog.clone())
        .strict_schema(catalog)
        .service(router);
    let r = svc
        .oneshot(ToolCall::new("list_dir", json!({"path": 7})))
        .await
        .unwrap();
    assert_eq!(r.rejection.unwrap().code, RejectionCode::SchemaViolation);
}

#[tokio::test(start_paused = true)]
async fn stock_tower_layers_compose_and_inner_errors_pass_through() {
    let router = router();
    let catalog = router.catalog();
    let svc = ServiceBuilder::new()
        .timeout(Duration::from_secs(1))
        .concurrency_limit(2)
        .strip_ghost_args(catalog.clone())
        .strict_schema(catalog)
        .service(router);
    let err = svc
        .clone()
        .oneshot(ToolCall::new("slow", json!({"reason": "x"})))
        .await
        .unwrap_err();
    assert!(err.is::<tower::timeout::error::Elapsed>());
    // Refusals are responses, not errors, even under a timeout.
    let r = svc
        .oneshot(ToolCall::new("slow", json!({"reason": 1})))
        .await
        .unwrap();
    assert!(r.is_rejected());

    // An inner service's own error type comes out unchanged.
    let catalog = common::catalog(&[("t", json!({"type": "object"}))]);
    let failing = service_fn(|_call: ToolCall| async {
        Err::<ToolResponse, BoxError>("backend down".into())
    });
    let svc = ServiceBuilder::new()
        .strip_ghost_args(catalog.clone())
        .strict_schema(catalog)
        .service(failing);
    let err = svc
        .oneshot(ToolCall::new("t", json!({})))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "backend down");
}

#[tokio::test]
async fn caller_session_and_extensions_reach_the_tool() {
    #[derive(Clone, Debug, PartialEq)]
    struct TraceId(u64);
    let catalog = common::catalog(&[("t", json!({"type": "object"}))]);
    let inner = service_fn(|call: ToolCall| async move {
        Ok::<_, Infallible>(ToolResponse::json(json!({
            "agent": call.caller.agent_id,
            "session": call.session,
            "trace": call.extensions.get::<TraceId>().map(|t| t.0),
        })))
    });
    let svc = ServiceBuilder::new()
        .strip_ghost_args(catalog.clone())
        .strict_schema(catalog)
        .service(inner);
    let mut call = ToolCall::new("t", json!({}))
        .with_caller(agent_airlock::Caller::agent("bot-1"))
        .with_session("conv-9");
    call.extensions.insert(TraceId(42));
    let r = svc.oneshot(call).await.unwrap();
    assert_eq!(
        r.output,
        ToolOutput::Json(json!({"agent": "bot-1", "session": "conv-9", "trace": 42}))
    );
}

#[tokio::test]
async fn sanitize_outermost_masks_refusals_that_echo_input() {
    use agent_airlock::SanitizeLayer;
    let router = router();
    let catalog = router.catalog();
    let config = AirlockConfig::default();
    let svc = ServiceBuilder::new()
        .layer(SanitizeLayer::from_config(&config.sanitize).unwrap())
        .layer(StripGhostArgsLayer::from_config(
            &config.strip_ghost_args(),
            catalog.clone(),
        ))
        .layer(StrictSchemaLayer::from_config(
            &config.strict_schema(),
            catalog,
        ))
        .service(router);
    // `path` must be a string; the refusal previews the value, an e-mail address.
    let r = svc
        .oneshot(ToolCall::new(
            "list_dir",
            json!({"path": ["bob@example.com"], "options": {"recursive": "bob@example.com"}}),
        ))
        .await
        .unwrap();
    let text = serde_json::to_string(&r).unwrap();
    assert!(r.is_rejected());
    assert!(!text.contains("bob@example.com"), "{text}");
    assert!(text.contains("[REDACTED:EMAIL]"), "{text}");
}
