//! An MCP server over stdio with the whole airlock in front, on the official Rust SDK
//! (`rmcp`): what an MCP host (Claude Desktop, an IDE, any SDK client) starts as a command.
//!
//! ```sh
//! cargo run --release -p example-rmcp      # speaks MCP on stdin/stdout; logs on stderr
//! ```
//!
//! The same demo tools, configuration and stack as `example-axum` (shared from its `src`):
//! `read_file`, `customer_lookup` (PII masked on the way out), `run_code` (in the sandbox),
//! `delete_file` (denied by the policy, hidden from `tools/list`).

#[path = "../../axum/src/stack.rs"]
mod stack;
#[path = "../../axum/src/tools.rs"]
mod tools;

use agent_airlock::Airlock;
use agent_airlock::adapters::mcp::AirlockMcp;
use agent_airlock::layers::sandbox;
use tools::tools;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A sandbox worker (this program, re-executed) answers its call here and exits.
    sandbox::enter(tools);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve())
}

async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    // stdout is the protocol: everything else goes to stderr.
    let config = stack::config("example-rmcp")?;
    let router = tools();
    let airlock = Airlock::from_config(&config, router.catalog())?;
    // rmcp serves the protocol; an ordinary `tools/call` takes the door's lean path.
    AirlockMcp::new(airlock.service(router), airlock.catalog().clone())
        .policy(airlock.policy().clone())
        .serve_stream(tokio::io::stdin(), tokio::io::stdout())
        .await?;
    if let Some(audit) = airlock.audit() {
        audit.flush().await?;
    }
    Ok(())
}
