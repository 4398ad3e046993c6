//! A tool server with the whole airlock in front, speaking MCP over HTTP.
//!
//! ```sh
//! cargo run --release -p example-axum          # listens on $AIRLOCK_ADDR (127.0.0.1:3000)
//! examples/axum/client.sh                      # shows every layer acting
//! ```
//!
//! Tools: `read_file` (a file of the example's data directory), `customer_lookup` (answers
//! with PII, masked on the way out), `run_code` (shell code, run in the sandbox),
//! `delete_file` (denied by the policy). `AIRLOCK_BARE=1` serves the same tools without the
//! airlock layers, for load-test comparisons; `AIRLOCK_AUDIT=0` leaves out only the audit
//! layer.

mod tools;

use std::path::PathBuf;
use std::sync::Arc;

use agent_airlock::adapters::http::HttpAdapter;
use agent_airlock::layers::audit::AuditLayer;
use agent_airlock::layers::sandbox::{self, SandboxLayer};
use agent_airlock::{
    AirlockConfig, PolicyLayer, SanitizeLayer, StrictSchemaLayer, StripGhostArgsLayer,
};
use tools::tools;
use tower::ServiceBuilder;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A sandbox worker (this program, re-executed) answers its call here and exits.
    sandbox::enter(tools);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve())
}

async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("AIRLOCK_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let config = AirlockConfig::from_toml_str(include_str!("airlock.toml"))?.with_env()?;
    let router = tools();
    let catalog = router.catalog();
    let app = if std::env::var("AIRLOCK_BARE").is_ok_and(|v| v == "1") {
        println!("serving the tools WITHOUT the airlock (AIRLOCK_BARE=1)");
        HttpAdapter::new(router, catalog).into_router()
    } else {
        let mut audit_config = config.clone();
        let log = std::env::var("AIRLOCK_AUDIT_LOG")
            .map(PathBuf::from)
            .unwrap_or_else(|_| std::env::temp_dir().join("example-axum-audit.jsonl"));
        audit_config.audit.path = Some(log.clone());
        println!("audit log: {}", log.display());
        let policy = PolicyLayer::from_config(&config, catalog.clone())?;
        let audit = match std::env::var("AIRLOCK_AUDIT").as_deref() {
            Ok("0") => None,
            _ => Some(AuditLayer::from_config(&audit_config)?),
        };
        let stack = ServiceBuilder::new()
            .option_layer(audit)
            .layer(SanitizeLayer::from_config(&config)?)
            .layer(policy.clone())
            .layer(StripGhostArgsLayer::from_config(catalog.clone(), &config))
            .layer(StrictSchemaLayer::from_config(catalog.clone(), &config))
            .layer(SandboxLayer::from_config(&config.sandbox)?)
            .service(router);
        HttpAdapter::new(stack, catalog)
            .policy(Arc::clone(policy.policy()))
            .into_router()
    };
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{addr} (POST /mcp, POST /tools/{{name}})");
    axum::serve(listener, app).await?;
    Ok(())
}
