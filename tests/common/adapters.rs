//! The stack the adapter tests serve: the full airlock over three demo tools.

use std::sync::Arc;
use std::time::Duration;

use agent_airlock::layers::policy::HmacTokenVerifier;
use agent_airlock::{
    AirlockConfig, PolicyEngine, PolicyLayer, SanitizeLayer, StrictSchemaLayer,
    StripGhostArgsLayer, ToolCall, ToolCatalog, ToolResponse, ToolRouter,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;

#[derive(Deserialize, JsonSchema)]
struct ReadFile {
    path: String,
    limit: Option<u32>,
}

#[derive(Deserialize, JsonSchema)]
struct Lookup {
    name: String,
}

#[derive(Deserialize, JsonSchema)]
struct Delete {
    path: String,
}

/// Sanitize, policy (deny `delete_*`, `customer_lookup` 3/minute, HMAC tokens), ghost and
/// schema layers over `read_file`, `customer_lookup` (answers with PII) and `delete_file`.
pub fn stack() -> (
    BoxCloneSyncService<ToolCall, ToolResponse, std::convert::Infallible>,
    Arc<ToolCatalog>,
    Arc<PolicyEngine>,
) {
    let router = ToolRouter::builder()
        .tool("read_file", "Read a file", |a: ReadFile| async move {
            Ok::<_, std::io::Error>(format!("contents of {} ({:?})", a.path, a.limit))
        })
        .tool(
            "customer_lookup",
            "Look up a customer",
            |a: Lookup| async move {
                Ok::<_, std::io::Error>(json!({"name": a.name, "email": "jane.doe@example.com",
                "card": "4111 1111 1111 1111"}))
            },
        )
        .tool("delete_file", "Delete a file", |a: Delete| async move {
            Ok::<_, std::io::Error>(format!("deleted {}", a.path))
        })
        .build()
        .unwrap();
    let catalog = router.catalog();
    let config = AirlockConfig::default();
    let policy = Arc::new(
        PolicyEngine::builder()
            .deny(["delete_*"])
            .rate_limit("customer_lookup", "3/minute".parse().unwrap())
            .verifier(Arc::new(HmacTokenVerifier::new(SECRET.to_vec()).unwrap()))
            .catalog(catalog.clone())
            .build()
            .unwrap(),
    );
    let stack = ServiceBuilder::new()
        .layer(SanitizeLayer::from_config(&config.sanitize).unwrap())
        .layer(PolicyLayer::new(policy.clone()))
        .layer(StripGhostArgsLayer::from_config(
            &config.strip_ghost_args(),
            catalog.clone(),
        ))
        .layer(StrictSchemaLayer::from_config(
            &config.strict_schema(),
            catalog.clone(),
        ))
        .service(router);
    (BoxCloneSyncService::new(stack), catalog, policy)
}

/// The HMAC secret of the test tokens.
pub const SECRET: &[u8] = b"test secret shared by the adapter tests";

/// A token for `agent`.
pub fn token(agent: &str) -> String {
    HmacTokenVerifier::new(SECRET.to_vec()).unwrap().issue(
        agent,
        &["assistant"],
        Duration::from_secs(600),
    )
}

/// The preset over one tool, `rows`, whose JSON answer (1000 rows) is far over the
/// output budget of 300 characters.
pub fn big_json_stack() -> (
    BoxCloneSyncService<ToolCall, ToolResponse, std::convert::Infallible>,
    Arc<ToolCatalog>,
) {
    let router = ToolRouter::builder()
        .raw_tool(
            "rows",
            "List rows",
            json!({"type": "object"}),
            |_args: serde_json::Value| async move {
                let rows: Vec<_> = (0..1000)
                    .map(|i| json!({"id": i, "name": format!("row {i}")}))
                    .collect();
                Ok::<_, std::convert::Infallible>(json!({"rows": rows, "total": 1000}))
            },
        )
        .build()
        .unwrap();
    let config = AirlockConfig::from_toml_str("[sanitize]\nmax_output_chars = 300").unwrap();
    let airlock = agent_airlock::Airlock::from_config(&config, router.catalog()).unwrap();
    (
        airlock.service(router).boxed(),
        airlock.catalog().snapshot(),
    )
}

/// Checks a `CallToolResult` (as JSON) of `rows` after the cut: still structured, the
/// array ended early with a marker, and the text content the same JSON.
pub fn assert_cut_rows(result: &serde_json::Value) {
    assert_ne!(result["isError"], json!(true), "{result}");
    let structured = &result["structuredContent"];
    let rows = structured["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("structuredContent missing or not the rows: {result}"));
    assert!(rows.len() > 1 && rows.len() < 1000, "{}", rows.len());
    assert!(
        rows.last()
            .unwrap()
            .as_str()
            .unwrap()
            .contains("more items cut"),
        "{result}"
    );
    let text = result["content"][0]["text"].as_str().unwrap();
    let parsed: serde_json::Value = serde_json::from_str(text).expect("the text is JSON");
    assert_eq!(&parsed, structured);
}

/// Policy and schema over `read_file`, with HMAC tokens and a budget of 2 calls per session,
/// for the tests of each door's sessions.
pub fn budgeted_stack() -> (
    BoxCloneSyncService<ToolCall, ToolResponse, std::convert::Infallible>,
    Arc<ToolCatalog>,
    Arc<PolicyEngine>,
) {
    let router = ToolRouter::builder()
        .tool("read_file", "Read a file", |a: ReadFile| async move {
            Ok::<_, std::io::Error>(format!("contents of {}", a.path))
        })
        .build()
        .unwrap();
    let catalog = router.catalog();
    let sessions = agent_airlock::layers::policy::SessionConfig {
        max_calls: Some(2),
        ..Default::default()
    };
    let policy = Arc::new(
        PolicyEngine::builder()
            .verifier(Arc::new(HmacTokenVerifier::new(SECRET.to_vec()).unwrap()))
            .sessions(sessions)
            .catalog(catalog.clone())
            .build()
            .unwrap(),
    );
    let stack = ServiceBuilder::new()
        .layer(PolicyLayer::new(policy.clone()))
        .service(router);
    (BoxCloneSyncService::new(stack), catalog, policy)
}
