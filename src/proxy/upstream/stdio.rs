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

/// Longest line of the upstream's stderr read whole and masked (the logged event is cut to
/// [`MAX_LOG_LINE`] after masking). A longer line's tail is not logged: neither the rest,
/// nor the last [`STRADDLE`] bytes kept, where a value cut in two would begin.
const MAX_READ_LINE: usize = 64 * 1024;
/// How far before a cut a value split by it may begin: the longest match of any detector.
const STRADDLE: usize = 4096;
/// Most lines of a `-----BEGIN …-----` block held to be masked whole.
const MAX_BLOCK_LINES: usize = 256;

/// Logs the upstream's stderr, masked (the sandbox's report, when it runs in one, as what
/// the sandbox enforces); keeps the last line in `last_words`. A multi-line block
/// (`-----BEGIN …-----` to `-----END …-----`, a PEM key) is masked whole, and not logged
/// at all when its end does not come within [`MAX_BLOCK_LINES`]; a line too long to read
/// whole is logged without its tail.
pub(super) async fn log_stderr(
    stderr: tokio::process::ChildStderr,
    sanitizer: Option<Arc<Sanitizer>>,
    last_words: Arc<Mutex<Option<String>>>,
) {
    let mut first = true;
    let mut reader = tokio::io::BufReader::new(stderr);
    let mut block: Vec<String> = Vec::new();
    let log = |text: &str| {
        let masked = match &sanitizer {
            Some(s) => s.sanitize_text(text, &mut Counts::new()).into_owned(),
            None => text.to_owned(),
        };
        for line in masked.lines().filter(|l| !l.trim().is_empty()) {
            let shown = match line.char_indices().nth(MAX_LOG_LINE) {
                Some((at, _)) => format!("{}… (cut)", &line[..at]),
                None => line.to_owned(),
            };
            tracing::info!(target: "airlock::upstream", "{shown}");
            *last_words.lock().unwrap_or_else(|p| p.into_inner()) = Some(shown);
        }
    };
    loop {
        let Some(line) = read_line(&mut reader).await else {
            if !block.is_empty() {
                tracing::warn!(
                    target: "airlock::upstream",
                    "a block of {} lines the upstream began on stderr did not end: not logged",
                    block.len()
                );
            }
            return;
        };
        if line.trim().is_empty() {
            continue;
        }
        #[cfg(target_os = "linux")]
        if std::mem::take(&mut first)
            && let Some(report) = crate::layers::sandbox::Report::from_line(&line)
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
        if !block.is_empty() || line.contains("-----BEGIN") {
            let ends = line.contains("-----END");
            block.push(line);
            if ends {
                log(&block.join("\n"));
                block.clear();
            } else if block.len() >= MAX_BLOCK_LINES {
                tracing::warn!(
                    target: "airlock::upstream",
                    "a block of more than {MAX_BLOCK_LINES} lines on the upstream's stderr did not end: not logged"
                );
                block.clear();
            }
            continue;
        }
        log(&line);
    }
}

/// The next line of `reader` without its end, read up to [`MAX_READ_LINE`] bytes: a longer
/// line loses its last [`STRADDLE`] bytes read and the rest (read and dropped, bounded in
/// memory). `None` at the end of the stream.
async fn read_line(
    reader: &mut tokio::io::BufReader<tokio::process::ChildStderr>,
) -> Option<String> {
    let mut buf = Vec::new();
    match (&mut *reader)
        .take(MAX_READ_LINE as u64)
        .read_until(b'\n', &mut buf)
        .await
    {
        Ok(0) | Err(_) => return None,
        Ok(_) => {}
    }
    if buf.last() != Some(&b'\n') && buf.len() >= MAX_READ_LINE {
        // Too long: what may be the start of a value the cut splits is not logged, nor is
        // the rest of the line.
        buf.truncate(buf.len() - STRADDLE);
        let mut rest = Vec::new();
        loop {
            rest.clear();
            match (&mut *reader)
                .take(MAX_READ_LINE as u64)
                .read_until(b'\n', &mut rest)
                .await
            {
                Ok(0) | Err(_) => break,
                Ok(_) if rest.last() == Some(&b'\n') => break,
                Ok(_) => {}
            }
        }
        let mut text = String::from_utf8_lossy(&buf).into_owned();
        text.push_str(" … (the rest of this line is not logged)");
        return Some(text);
    }
    Some(String::from_utf8_lossy(&buf).trim_end().to_owned())
}
