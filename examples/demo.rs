//! The agent-airlock demo: a scripted agent calls built-in tools through the stack, and
//! a table shows what each layer did.
//!
//! ```text
//! cargo run --example demo
//! ```

use std::convert::Infallible;

use std::sync::Arc;
use std::time::Duration;

use agent_airlock::layers::audit::{AuditLayer, verify_files};
use agent_airlock::layers::policy::{HmacTokenVerifier, PolicyEngine, PolicyLayer};
use agent_airlock::layers::sanitize::SanitizeLayer;
use agent_airlock::{
    AirlockConfig, Caller, Note, StrictSchemaLayer, StripGhostArgsLayer, ToolCall, ToolResponse,
    ToolRouter,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use tower::{Service, ServiceBuilder, ServiceExt};

/// Arguments of `read_file`.
#[derive(Deserialize, JsonSchema)]
struct ReadFile {
    /// Path inside the workspace.
    path: String,
    /// Most lines to return.
    max_lines: Option<u32>,
}

async fn read_file(args: ReadFile) -> Result<String, Infallible> {
    let lines = args.max_lines.unwrap_or(10);
    Ok(format!("first {lines} lines of {}", args.path))
}

/// Arguments of `search`.
#[derive(Deserialize, JsonSchema)]
struct Search {
    query: String,
    limit: u32,
    #[serde(default)]
    exact: bool,
}

async fn search(args: Search) -> Result<Value, Infallible> {
    Ok(json!({"query": args.query, "hits": args.limit.min(3), "exact": args.exact}))
}

/// Arguments of `delete_file`.
#[derive(Deserialize, JsonSchema)]
struct DeleteFile {
    path: String,
}

async fn delete_file(args: DeleteFile) -> Result<String, Infallible> {
    Ok(format!("deleted {}", args.path))
}

/// Arguments of `customer_lookup`.
#[derive(Deserialize, JsonSchema)]
struct CustomerLookup {
    name: String,
}

/// A tool whose answer is full of personal data and secrets.
async fn customer_lookup(args: CustomerLookup) -> Result<Value, Infallible> {
    Ok(json!({
        "name": args.name,
        "email": "jane.doe@example.com",
        "phone": "+1 415 555 2671",
        "card": "4111 1111 1111 1111",
        "notes": "reach her at jane at example dot com; db postgres://crm:Pa55w0rd@db.internal/crm",
        "api_key": "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
    }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let router = ToolRouter::builder()
        .tool(
            "read_file",
            "Read a text file from the workspace",
            read_file,
        )
        .tool("search", "Search the knowledge base", search)
        .tool("delete_file", "Delete a file", delete_file)
        .tool("customer_lookup", "Look up a customer", customer_lookup)
        .build()?;
    let catalog = router.catalog();
    let config = AirlockConfig::load(None)?;
    let strict = AirlockConfig::default().with_env_vars([("AIRLOCK_STRICT_MODE", "true")])?;

    // Agents prove who they are with signed tokens; the demo mints one for its agent.
    let verifier =
        HmacTokenVerifier::new(b"demo secret: never use this one in production".to_vec())?;
    let token = verifier.issue("demo-agent", &["assistant"], Duration::from_secs(600));
    let busy_token = verifier.issue("busy-agent", &["assistant"], Duration::from_secs(600));
    let other_token = verifier.issue("other-agent", &["assistant"], Duration::from_secs(600));
    let policy = Arc::new(
        PolicyEngine::builder()
            .deny(["delete_*"])
            .rate_limit("search", "3/minute".parse()?)
            .verifier(Arc::new(verifier))
            .require_identity(true)
            .catalog(catalog.clone())
            .build()?,
    );

    // Every call, refused or not, leaves one hash-chained record (a fresh log per run).
    let log_dir = std::env::temp_dir().join(format!("airlock-demo-{}", std::process::id()));
    let mut audit_config = config.audit.clone();
    audit_config.path = Some(log_dir.join("audit.jsonl"));
    // One compiled sanitizer masks the responses and the audit records.
    let sanitize = SanitizeLayer::from_config(&config.sanitize)?;
    let audit = AuditLayer::from_config(&audit_config, sanitize.sanitizer().clone())?;
    let airlock = |config: &AirlockConfig| {
        ServiceBuilder::new()
            .layer(audit.clone())
            .layer(sanitize.clone())
            .layer(PolicyLayer::new(policy.clone()))
            .layer(StripGhostArgsLayer::from_config(
                &config.strip_ghost_args(),
                catalog.clone(),
            ))
            .layer(StrictSchemaLayer::from_config(
                &config.strict_schema(),
                catalog.clone(),
            ))
            .service(router.clone())
    };
    let mut lenient = airlock(&config);
    let mut strict = airlock(&strict);

    let search = |limit: u32| json!({"query": "tower", "limit": limit});
    // (what the agent does, strict stack?, which token, tool, arguments)
    let script: Vec<(&str, bool, Option<&str>, &str, Value)> = vec![
        (
            "a good call",
            false,
            Some(&token),
            "read_file",
            json!({"path": "notes.md", "max_lines": 5}),
        ),
        (
            "a hallucinated argument",
            false,
            Some(&token),
            "read_file",
            json!({"path": "notes.md", "force": true}),
        ),
        (
            "the same, strict mode",
            true,
            Some(&token),
            "read_file",
            json!({"path": "notes.md", "force": true}),
        ),
        (
            "a number sent as a string",
            false,
            Some(&token),
            "search",
            json!({"query": "tower", "limit": "100"}),
        ),
        (
            "a boolean sent as a string",
            false,
            Some(&token),
            "search",
            json!({"query": "tower", "limit": 5, "exact": "true"}),
        ),
        (
            "a missing argument",
            false,
            Some(&token),
            "search",
            json!({"query": "tower"}),
        ),
        (
            "an unknown tool",
            false,
            Some(&token),
            "read_files",
            json!({"path": "notes.md"}),
        ),
        (
            "a look-alike tool name",
            false,
            Some(&token),
            "reаd_file",
            json!({"path": "notes.md"}),
        ),
        (
            "arguments that are not an object",
            false,
            Some(&token),
            "read_file",
            json!(["notes.md"]),
        ),
        (
            "a tool the policy denies",
            false,
            Some(&token),
            "DELETE_FILE",
            json!({"path": "notes.md"}),
        ),
        (
            "another agent's burst: search 1",
            false,
            Some(&busy_token),
            "search",
            search(1),
        ),
        (
            "another agent's burst: search 2",
            false,
            Some(&busy_token),
            "search",
            search(2),
        ),
        (
            "another agent's burst: search 3",
            false,
            Some(&busy_token),
            "search",
            search(3),
        ),
        (
            "another agent's burst: search 4",
            false,
            Some(&busy_token),
            "search",
            search(4),
        ),
        (
            "a call without a token",
            false,
            None,
            "read_file",
            json!({"path": "notes.md"}),
        ),
        (
            "a tool answer full of PII",
            false,
            Some(&token),
            "customer_lookup",
            json!({"name": "Jane Doe"}),
        ),
    ];

    println!(
        "agent-airlock demo: {} tools, strict mode {}\n",
        catalog.len(),
        if config.strict_mode { "on" } else { "off" }
    );
    println!(
        "{:<3} {:<34} {:<7} {:<17} what happened",
        "#", "the agent sends", "result", "layer"
    );
    println!("{}", "-".repeat(120));
    for (i, (what, use_strict, credential, tool, args)) in script.into_iter().enumerate() {
        let mut caller = Caller::agent("demo-agent");
        if let Some(credential) = credential {
            caller = caller.with_credential(credential);
        }
        let call = ToolCall::new(tool, args).with_caller(caller);
        let response = if use_strict {
            call_once(&mut strict, call).await
        } else {
            call_once(&mut lenient, call).await
        };
        let (result, layer, detail) = describe(&response);
        println!(
            "{:<3} {:<34} {:<7} {:<17} {}",
            i + 1,
            what,
            result,
            layer,
            detail
        );
    }
    println!(
        "\nEvery refusal is a structured answer the model can act on, e.g. a type error in full:"
    );
    // A different agent, so the demo's own rate limit does not get in the way.
    let call = ToolCall::new("read_file", json!({"path": 42}))
        .with_caller(Caller::agent("other").with_credential(other_token));
    let response = call_once(&mut lenient, call).await;
    println!("{}", serde_json::to_string_pretty(&response.rejection)?);

    audit.flush().await?;
    let log = log_dir.join("audit.jsonl");
    let report = verify_files(&[&log], None)?;
    let text = std::fs::read_to_string(&log)?;
    let secret_in_log = text.contains("jane.doe@") || text.contains(&token);
    println!(
        "\nThe audit log has one record per call; `airlock audit verify` checks its chain:\n{report}\nsecrets or PII in the log: {}",
        if secret_in_log { "FOUND" } else { "none" }
    );
    std::fs::remove_dir_all(&log_dir)?;
    Ok(())
}

async fn call_once<S>(svc: &mut S, call: ToolCall) -> ToolResponse
where
    S: Service<ToolCall, Response = ToolResponse, Error = Infallible>,
{
    match svc.ready().await {
        Ok(ready) => ready.call(call).await.unwrap_or_else(|e| match e {}),
        Err(e) => match e {},
    }
}

fn describe(response: &ToolResponse) -> (&'static str, String, String) {
    if let Some(r) = &response.rejection {
        let mut detail = format!("{}: {}", r.code, r.message);
        if let Some(hint) = r
            .field_errors
            .first()
            .map(|e| &e.hint)
            .or(r.fix_hints.first())
        {
            detail.push_str(&format!(" → {hint}"));
        }
        if let Some(wait) = r.retry_after {
            detail.push_str(&format!(" (retry in {} s)", wait.as_secs_f64().ceil()));
        }
        return ("refused", r.layer.to_string(), detail);
    }
    let mut detail = format!("tool ran: {}", response.output.to_text());
    let mut layer = "-".to_owned();
    for note in &response.notes {
        match note {
            Note::ArgumentsStripped {
                layer: l,
                arguments,
                ..
            } => {
                layer = l.to_string();
                detail = format!(
                    "stripped {} before the tool ran; {detail}",
                    arguments.join(", ")
                );
            }
            Note::Redacted { layer: l, counts } => {
                layer = l.to_string();
                let counts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
                detail = format!("masked {}; {detail}", counts.join(", "));
            }
            _ => {}
        }
    }
    ("ok", layer, detail)
}
