//! `airlock policy validate`: the policy's start-up checks, alone.

use std::path::PathBuf;
use std::process::ExitCode;

use agent_airlock::ToolCatalog;
use agent_airlock::layers::policy::PolicyEngineBuilder;

use crate::load_config;

/// Builds the policy of `config` against the catalog in `tools`, as a stack starting with
/// them would: the TOML rules compile, and the Cedar policies hold for every tool's schema.
/// Exit status 0 when they do, 1 when they do not, 2 when a file cannot be read.
pub(crate) fn validate(tools: PathBuf, config: Option<PathBuf>) -> ExitCode {
    let config = match load_config(config.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let catalog = match ToolCatalog::from_mcp_file(&tools) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("airlock: {e}");
            return ExitCode::from(2);
        }
    };
    let tools = catalog.len();
    let built =
        PolicyEngineBuilder::from_config(&config.policy).and_then(|b| b.catalog(catalog).build());
    match built {
        Ok(_) => {
            let cedar = if config.policy.cedar_file.is_some() {
                "the Cedar policies hold for"
            } else {
                "no Cedar policies; the rules compile for"
            };
            println!("OK: {cedar} {tools} tools");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("invalid: {e}");
            ExitCode::from(1)
        }
    }
}
