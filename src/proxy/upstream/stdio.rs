//! An upstream over stdio: its command (in the sandbox when `[proxy.sandbox]` says so),
//! its program found on its own `PATH`, and its stderr logged, masked.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _};

use crate::layers::sanitize::{Counts, Sanitizer};

use super::target::Launch;

/// Longest line of the upstream's stderr logged as one event.
pub(super) const MAX_LOG_LINE: usize = 4096;

/// The resources of a sandboxed run (none off Linux).
#[cfg(target_os = "linux")]
pub(super) type SandboxLease = crate::layers::sandbox::Lease;
#[cfg(not(target_os = "linux"))]
pub(super) type SandboxLease = std::convert::Infallible;

/// The sandbox a stdio upstream runs in (none off Linux).
#[cfg(target_os = "linux")]
pub(super) type UpstreamSandbox = crate::proxy::sandbox::UpstreamSandbox;
#[cfg(not(target_os = "linux"))]
pub(super) type UpstreamSandbox = std::convert::Infallible;

/// The command that starts a stdio upstream: the program itself, or, when it runs in
/// `sandbox`, the sandbox's first stage with the lease of its resources. `env_overrides`
/// are the variables `[proxy.env]` sets, which keep their values inside the sandbox.
pub(super) fn command(
    launch: &Launch,
    sandbox: Option<&UpstreamSandbox>,
    env_overrides: &BTreeMap<String, String>,
) -> Result<(tokio::process::Command, Option<SandboxLease>), String> {
    #[cfg(target_os = "linux")]
    if let Some(sandbox) = sandbox {
        let program = find_program(&launch.program, launch.env.get("PATH"))?;
        let argv = std::iter::once(program)
            .chain(launch.args.iter().cloned())
            .collect();
        // Inside, PATH, HOME and TMPDIR are the sandbox's (the host's directories are
        // not there), unless `[proxy.env]` sets them.
        let env = launch
            .env
            .iter()
            .filter(|(name, _)| {
                !matches!(name.as_str(), "PATH" | "HOME" | "TMPDIR")
                    || env_overrides.contains_key(name.as_str())
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let prepared = sandbox
            .prepare(argv, env)
            .map_err(|e| format!("cannot prepare the sandbox: {e}"))?;
        for missing in &prepared.lease.not_enforced {
            tracing::warn!("the sandbox does not enforce {missing}");
        }
        return Ok((
            tokio::process::Command::from(prepared.command),
            Some(prepared.lease),
        ));
    }
    let mut command = tokio::process::Command::new(&launch.program);
    command.args(&launch.args).env_clear().envs(&launch.env);
    Ok((command, None))
}

/// `program` as an absolute path, looked up in `path` (the upstream's `PATH` on the host)
/// when it is a bare name: inside the sandbox, only what is mounted exists, and the
/// program itself is mounted by its path. The path is kept as found, links and all (a
/// virtualenv's `python` finds its packages from where it is called).
#[cfg(target_os = "linux")]
pub(super) fn find_program(program: &str, path: Option<&String>) -> Result<String, String> {
    use std::os::unix::fs::PermissionsExt as _;
    let candidate = std::path::Path::new(program);
    let executable = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let found = if candidate.is_absolute() {
        Some(candidate.to_path_buf())
    } else if program.contains('/') {
        std::env::current_dir().ok().map(|d| d.join(candidate))
    } else {
        path.into_iter()
            .flat_map(|p| std::env::split_paths(p).collect::<Vec<_>>())
            .filter(|dir| dir.is_absolute())
            .map(|dir| dir.join(program))
            .find(|p| executable(p))
    };
    match found {
        Some(p) if executable(&p) => Ok(p.to_string_lossy().into_owned()),
        _ => Err(format!(
            "cannot find the program `{program}` to start in the sandbox (give its absolute \
             path, or a PATH that holds it)"
        )),
    }
}

/// An error's text, cut to one short line (it may quote what the upstream sent).
pub(super) fn brief(error: &impl std::fmt::Display) -> String {
    let text = error.to_string();
    let line = text.lines().next().unwrap_or_default();
    match line.char_indices().nth(200) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_owned(),
    }
}

/// Logs the upstream's stderr, a line per event, masked (the sandbox's report, when it runs
/// in one, as what the sandbox enforces); keeps the last line in `last_words`.
pub(super) async fn log_stderr(
    stderr: tokio::process::ChildStderr,
    sanitizer: Option<Arc<Sanitizer>>,
    last_words: Arc<Mutex<Option<String>>>,
) {
    let mut first = true;
    let mut lines = tokio::io::BufReader::new(stderr);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match (&mut lines)
            .take(MAX_LOG_LINE as u64)
            .read_until(b'\n', &mut buf)
            .await
        {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&buf);
        let text = text.trim_end();
        if text.is_empty() {
            continue;
        }
        #[cfg(target_os = "linux")]
        if std::mem::take(&mut first)
            && let Some(report) = crate::layers::sandbox::Report::from_line(text)
        {
            tracing::info!(
                enforced = ?report.enforced,
                "the upstream server runs in the sandbox"
            );
            for missing in &report.not_enforced {
                tracing::warn!("the sandbox does not enforce {missing}");
            }
            continue;
        }
        let masked = match &sanitizer {
            Some(s) => s.sanitize_text(text, &mut Counts::new()).into_owned(),
            None => text.to_owned(),
        };
        tracing::info!(target: "airlock::upstream", "{masked}");
        *last_words.lock().unwrap_or_else(|p| p.into_inner()) = Some(masked);
    }
}
