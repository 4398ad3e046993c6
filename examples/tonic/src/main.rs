//! A tool server with the whole airlock in front, speaking gRPC (`proto/airlock.proto`).
//!
//! ```sh
//! cargo run --release -p example-tonic                  # listens on $AIRLOCK_ADDR (127.0.0.1:50051)
//! cargo run --release -p example-tonic --bin example-tonic-client   # shows every layer acting
//! ```
//!
//! The same demo tools and configuration as `example-axum`.

#[path = "../../axum/src/tools.rs"]
mod tools;

use std::path::PathBuf;
use std::sync::Arc;

use agent_airlock::adapters::grpc::GrpcAdapter;
use agent_airlock::adapters::grpc::proto::tool_service_server::ToolServiceServer;
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
    let addr = std::env::var("AIRLOCK_ADDR").unwrap_or_else(|_| "127.0.0.1:50051".into());
    let config = AirlockConfig::from_toml_str(include_str!("airlock.toml"))?.with_env()?;
    let router = tools();
    let catalog = router.catalog();
    let mut audit_config = config.clone();
    let log = std::env::var("AIRLOCK_AUDIT_LOG")
        .map(PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir().join("example-tonic-audit.jsonl"));
    audit_config.audit.path = Some(log.clone());
    println!("audit log: {}", log.display());
    let policy = PolicyLayer::from_config(&config, catalog.clone())?;
    let stack = ServiceBuilder::new()
        .layer(AuditLayer::from_config(&audit_config)?)
        .layer(SanitizeLayer::from_config(&config)?)
        .layer(policy.clone())
        .layer(StripGhostArgsLayer::from_config(catalog.clone(), &config))
        .layer(StrictSchemaLayer::from_config(catalog.clone(), &config))
        .layer(SandboxLayer::from_config(&config.sandbox)?)
        .service(router);
    let adapter = GrpcAdapter::new(stack, catalog).policy(Arc::clone(policy.policy()));
    println!("listening on {addr} (gRPC agent_airlock.v1.ToolService)");
    tonic::transport::Server::builder()
        .add_service(ToolServiceServer::new(adapter))
        .serve(addr.parse()?)
        .await?;
    Ok(())
}
