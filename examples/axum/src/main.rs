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

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use agent_airlock::adapters::http::HttpAdapter;
use agent_airlock::layers::audit::AuditLayer;
use agent_airlock::layers::sandbox::{self, SandboxLayer};
use agent_airlock::{
    AirlockConfig, PolicyLayer, SanitizeLayer, StrictSchemaLayer, StripGhostArgsLayer, ToolRouter,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use tower::ServiceBuilder;

#[derive(Deserialize, JsonSchema)]
struct ReadFile {
    /// Path inside the data directory.
    path: String,
    /// Most bytes to return.
    limit: Option<u32>,
}

#[derive(Deserialize, JsonSchema)]
struct CustomerLookup {
    /// The customer's name.
    name: String,
}

#[derive(Deserialize, JsonSchema)]
struct RunCode {
    /// Shell code to run.
    code: String,
}

#[derive(Deserialize, JsonSchema)]
struct DeleteFile {
    /// Path to delete.
    path: String,
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

async fn read_file(args: ReadFile) -> Result<String, String> {
    let relative = Path::new(&args.path);
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return Err("the path must stay inside the data directory".into());
    }
    let text = tokio::fs::read_to_string(data_dir().join(relative))
        .await
        .map_err(|e| format!("cannot read {}: {e}", args.path))?;
    let limit = args.limit.map_or(text.len(), |l| l as usize);
    Ok(text.chars().take(limit).collect())
}

async fn customer_lookup(args: CustomerLookup) -> Result<Value, String> {
    Ok(json!({
        "name": args.name,
        "email": "jane.doe@example.com",
        "phone": "+1 415 555 0100",
        "card": "4111 1111 1111 1111",
        "notes": "API key on file: AKIAIOSFODNN7EXAMPLE",
    }))
}

async fn run_code(args: RunCode) -> Result<Value, String> {
    // Runs inside the sandbox worker: its own namespaces, Landlock, seccomp and limits.
    let out = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(&args.code)
        .output()
        .map_err(|e| format!("cannot run: {e}"))?;
    Ok(json!({
        "status": out.status.code(),
        "stdout": String::from_utf8_lossy(&out.stdout),
        "stderr": String::from_utf8_lossy(&out.stderr),
    }))
}

async fn delete_file(args: DeleteFile) -> Result<String, String> {
    Err(format!(
        "this demo never deletes anything ({} is safe)",
        args.path
    ))
}

fn tools() -> ToolRouter {
    ToolRouter::builder()
        .tool(
            "read_file",
            "Read a text file of the data directory",
            read_file,
        )
        .tool(
            "customer_lookup",
            "Look up a customer record",
            customer_lookup,
        )
        .tool("run_code", "Run shell code in a sandbox", run_code)
        .tool("delete_file", "Delete a file", delete_file)
        .build()
        .expect("the tools build")
}

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
