//! `airlock audit verify`: check an audit log's hash chain.

use std::path::PathBuf;
use std::process::ExitCode;

use agent_airlock::layers::audit::{VerifyError, verify_files};

pub(crate) fn audit_verify(files: &[PathBuf], key_env: Option<String>) -> ExitCode {
    let key = match key_env {
        Some(var) => match std::env::var(&var) {
            Ok(k) if !k.is_empty() => Some(k.into_bytes()),
            _ => {
                eprintln!("airlock: environment variable {var} (--key-env) is not set");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    match verify_files(files, key.as_deref()) {
        Ok(report) => {
            for warning in &report.warnings {
                println!("WARNING: {warning}");
            }
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(VerifyError::Broken(b)) => {
            println!("{b}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("airlock: {e}");
            ExitCode::from(2)
        }
    }
}
