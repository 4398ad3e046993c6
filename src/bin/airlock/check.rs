//! `airlock check`: calls checked against a catalog and a policy, nothing run.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use agent_airlock::ToolCatalog;
use agent_airlock::check::{dry_run_stack, run_check};

use crate::load_config;

pub(crate) fn check(
    tools: PathBuf,
    config: Option<PathBuf>,
    fail_on_deny: bool,
    audit_log: Option<PathBuf>,
) -> ExitCode {
    let mut config = match load_config(config.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let catalog = match ToolCatalog::from_mcp_file(&tools) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!("airlock: {e}");
            return ExitCode::from(2);
        }
    };
    // The log `--audit-log` names, and no other: a check does not write to the service's log.
    config.audit.path = audit_log;
    let runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("airlock: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let (airlock, service) = match dry_run_stack(&config, catalog) {
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
    let result = runtime.block_on(async {
        let summary = run_check(service, stdin, stdout, max_line).await?;
        if let Some(layer) = airlock.audit() {
            layer.flush().await?;
        }
        Ok::<_, std::io::Error>(summary)
    });
    match result {
        Ok(summary) => {
            eprintln!(
                "airlock: {} allowed, {} to ask, {} denied, {} errors",
                summary.allowed, summary.asked, summary.denied, summary.errors
            );
            if fail_on_deny && summary.denied + summary.asked + summary.errors > 0 {
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
