//! The demo tools both example servers serve: `read_file` (a file of the data directory),
//! `customer_lookup` (answers with PII), `run_code` (shell code, meant for the sandbox) and
//! `delete_file` (meant to be denied by the policy).

use std::path::{Component, Path, PathBuf};

use agent_airlock::ToolRouter;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

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

/// `examples/axum/data`.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../axum/data")
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
        "notes": "API key on file: AKIAZ6PW3QJ7HXN4KD2M",
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

/// The demo tools.
pub fn tools() -> ToolRouter {
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
