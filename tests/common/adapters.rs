//! The stack the adapter tests serve: the full airlock over three demo tools.

use std::sync::Arc;
use std::time::Duration;

use agent_airlock::layers::policy::HmacTokenVerifier;
use agent_airlock::{
    AirlockConfig, Policy, PolicyLayer, SanitizeLayer, StrictSchemaLayer, StripGhostArgsLayer,
    ToolCall, ToolCatalog, ToolResponse, ToolRouter,
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
    Arc<Policy>,
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
        Policy::builder()
            .deny(["delete_*"])
            .rate_limit("customer_lookup", "3/minute".parse().unwrap())
            .verifier(Arc::new(HmacTokenVerifier::new(SECRET.to_vec()).unwrap()))
            .catalog(catalog.clone())
            .build()
            .unwrap(),
    );
    let stack = ServiceBuilder::new()
        .layer(SanitizeLayer::from_config(&config).unwrap())
        .layer(PolicyLayer::new(policy.clone()))
        .layer(StripGhostArgsLayer::from_config(catalog.clone(), &config))
        .layer(StrictSchemaLayer::from_config(catalog.clone(), &config))
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
