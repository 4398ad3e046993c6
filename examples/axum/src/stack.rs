//! The airlock stack both example servers put in front of the demo tools.

use std::path::PathBuf;
use std::sync::Arc;

use agent_airlock::layers::audit::AuditLayer;
use agent_airlock::layers::sandbox::SandboxLayer;
use agent_airlock::{
    AirlockConfig, Policy, PolicyLayer, SanitizeLayer, StrictSchemaLayer, StripGhostArgsLayer,
    ToolCall, ToolCatalog, ToolResponse, ToolRouter,
};
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;

/// The stack, the catalog it serves and the policy that filters tool lists.
pub struct Airlock {
    pub stack: BoxCloneSyncService<ToolCall, ToolResponse, std::convert::Infallible>,
    pub catalog: Arc<ToolCatalog>,
    pub policy: Arc<Policy>,
}

/// The embedded configuration, with `AIRLOCK_*` variables on top.
pub fn config() -> Result<AirlockConfig, Box<dyn std::error::Error>> {
    Ok(AirlockConfig::from_toml_str(include_str!("airlock.toml"))?.with_env()?)
}

/// Audit (to `$AIRLOCK_AUDIT_LOG`, default `<tmp>/<name>-audit.jsonl`; left out with
/// `AIRLOCK_AUDIT=0`), sanitize, policy, ghost arguments, schema and sandbox over `router`.
pub fn airlock(
    name: &str,
    config: &AirlockConfig,
    router: ToolRouter,
) -> Result<Airlock, Box<dyn std::error::Error>> {
    let catalog = router.catalog();
    let audit = match std::env::var("AIRLOCK_AUDIT").as_deref() {
        Ok("0") => None,
        _ => {
            let mut audit_config = config.clone();
            let log = std::env::var("AIRLOCK_AUDIT_LOG")
                .map(PathBuf::from)
                .unwrap_or_else(|_| std::env::temp_dir().join(format!("{name}-audit.jsonl")));
            println!("audit log: {}", log.display());
            audit_config.audit.path = Some(log);
            Some(AuditLayer::from_config(&audit_config)?)
        }
    };
    let policy = PolicyLayer::from_config(config, catalog.clone())?;
    let stack = ServiceBuilder::new()
        .option_layer(audit)
        .layer(SanitizeLayer::from_config(config)?)
        .layer(policy.clone())
        .layer(StripGhostArgsLayer::from_config(catalog.clone(), config))
        .layer(StrictSchemaLayer::from_config(catalog.clone(), config))
        .layer(SandboxLayer::from_config(&config.sandbox)?)
        .service(router);
    Ok(Airlock {
        stack: BoxCloneSyncService::new(stack),
        catalog,
        policy: Arc::clone(policy.policy()),
    })
}
