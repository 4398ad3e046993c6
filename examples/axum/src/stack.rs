//! The configuration both example servers put in front of the demo tools.

use std::path::PathBuf;

use agent_airlock::AirlockConfig;

/// The embedded configuration (or the file `$AIRLOCK_CONFIG` names), with `AIRLOCK_*`
/// variables on top, and the audit log at `$AIRLOCK_AUDIT_LOG` (default
/// `<tmp>/<name>-audit.jsonl`), or none with `AIRLOCK_AUDIT=0`. `agent_airlock::Airlock`
/// builds the stack from it.
pub fn config(name: &str) -> Result<AirlockConfig, Box<dyn std::error::Error>> {
    let base = match std::env::var_os("AIRLOCK_CONFIG") {
        Some(path) => AirlockConfig::from_file(path)?,
        None => AirlockConfig::from_toml_str(include_str!("airlock.toml"))?,
    };
    let mut config = base.with_env()?;
    config.audit.path = match std::env::var("AIRLOCK_AUDIT").as_deref() {
        Ok("0") => None,
        _ => {
            let log = std::env::var("AIRLOCK_AUDIT_LOG")
                .map(PathBuf::from)
                .unwrap_or_else(|_| std::env::temp_dir().join(format!("{name}-audit.jsonl")));
            eprintln!("audit log: {}", log.display());
            Some(log)
        }
    };
    Ok(config)
}
