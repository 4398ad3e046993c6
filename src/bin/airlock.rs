//! `airlock`: the agent-airlock command line.
//!
//! ```text
//! airlock check --tools tools.json [--config airlock.toml] [--fail-on-deny] < calls.jsonl
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use agent_airlock::check::{dry_run_stack, run_check};
use agent_airlock::{AirlockConfig, ToolCatalog};
use clap::{Parser, Subcommand};

/// Guard AI agents' tool calls: check calls against a tool catalog and a policy.
#[derive(Parser)]
#[command(name = "airlock", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Dry-run tool calls read as JSON Lines on stdin; write one decision per line.
    ///
    /// Each input line: {"tool": "...", "arguments": {...}, "agent": "..."}.
    /// Each output line: {"line": N, "decision": "allow", "arguments": {...}} or
    /// {"line": N, "decision": "deny", "rejection": {...}}. Nothing is executed.
    Check {
        /// The tool catalog: an MCP tools/list JSON document.
        #[arg(long, value_name = "FILE")]
        tools: PathBuf,
        /// Configuration file (TOML); AIRLOCK_* environment variables apply on top.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Exit with status 1 when any call is denied (for use in CI).
        #[arg(long)]
        fail_on_deny: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check {
            tools,
            config,
            fail_on_deny,
        } => check(tools, config, fail_on_deny),
    }
}

fn check(tools: PathBuf, config: Option<PathBuf>, fail_on_deny: bool) -> ExitCode {
    let config = match AirlockConfig::load(config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("airlock: {e}");
            return ExitCode::from(2);
        }
    };
    let catalog = match ToolCatalog::from_mcp_file(&tools) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!("airlock: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("airlock: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let service = match dry_run_stack(catalog, &config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("airlock: {e}");
            return ExitCode::from(2);
        }
    };
    // A call line may carry up to the payload limit in arguments, plus its envelope.
    let max_line = config.limits.max_payload_bytes.saturating_add(64 * 1024);
    let stdin = std::io::stdin().lock();
    let stdout = std::io::BufWriter::new(std::io::stdout().lock());
    match runtime.block_on(run_check(service, stdin, stdout, max_line)) {
        Ok(summary) => {
            eprintln!(
                "airlock: {} allowed, {} denied, {} errors",
                summary.allowed, summary.denied, summary.errors
            );
            if fail_on_deny && summary.denied + summary.errors > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("airlock: {e}");
            ExitCode::from(2)
        }
    }
}
