//! What the end-to-end tests drive from outside Rust: the real clients and servers that
//! `scripts/test.sh` installs (pinned) under `target/e2e`.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Where `scripts/test.sh` puts what it installs: `$AIRLOCK_E2E_DIR`, else `target/e2e`.
pub fn dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("AIRLOCK_E2E_DIR") {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("e2e")
}

/// Whether a missing tool fails the test instead of skipping it: `scripts/test.sh` (and so
/// CI) sets `AIRLOCK_E2E_REQUIRED=1` after installing everything, so a plain `cargo test`
/// on a bare clone passes while the full run proves every end-to-end test ran.
pub fn required() -> bool {
    std::env::var_os("AIRLOCK_E2E_REQUIRED").is_some_and(|v| v == "1")
}

/// `true` when `ok`; otherwise says on stderr that `test` is skipped for want of `what`
/// (and how to get it) and returns `false`, or fails when the tools are [`required`].
pub fn present(test: &str, what: &str, ok: bool) -> bool {
    if ok {
        return true;
    }
    // libtest names each test's thread after the test.
    let current = std::thread::current();
    let test = current.name().unwrap_or(test);
    let message =
        format!("missing {what}; `scripts/test.sh` (or `scripts/test.sh --setup`) installs it");
    assert!(!required(), "{test}: {message}");
    // Straight to stderr: libtest would hide an `eprintln!` of a passing test.
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "skipped {test}: {message}");
    false
}

/// Whether a command is on `PATH`.
pub fn on_path(command: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(command).is_file()))
}

/// Whether everything `scripts/test.sh` installs under [`dir`] is there: both Python SDK
/// virtualenvs and the npm packages (Node 22, the MCP servers, the TypeScript SDK); skips
/// `test` (see [`present`]) when not.
pub fn installed(test: &str) -> bool {
    let dir = dir();
    let ok = dir.join("venv/bin/python").exists()
        && dir.join("venv2/bin/python").exists()
        && dir.join("node/node_modules/.bin/node").exists();
    present(
        test,
        &format!(
            "the end-to-end clients and servers (under {})",
            dir.display()
        ),
        ok,
    )
}

/// Skips the calling test (returns from it) unless the end-to-end tools are installed.
#[macro_export]
macro_rules! needs_e2e {
    () => {
        if !$crate::common::e2e::installed(module_path!()) {
            return;
        }
    };
    ($($command:literal),+) => {
        $crate::needs_e2e!();
        $(
            if !$crate::common::e2e::present(module_path!(), $command, $crate::common::e2e::on_path($command)) {
                return;
            }
        )+
    };
}

/// Skips the calling test (returns from it) unless each command is on `PATH`.
#[macro_export]
macro_rules! needs_commands {
    ($($command:literal),+) => {
        $(
            if !$crate::common::e2e::present(module_path!(), $command, $crate::common::e2e::on_path($command)) {
                return;
            }
        )+
    };
}

/// The virtualenv's Python, or a failure naming what is missing and how to get it.
pub fn python() -> PathBuf {
    let python = dir().join("venv/bin/python");
    assert!(
        python.exists(),
        "missing {}: this test drives the official Python MCP SDK from a virtualenv; \
         run `scripts/test.sh` (or `scripts/test.sh --setup`), which creates it with the \
         pinned packages",
        python.display()
    );
    python
}

/// A script of `tests/e2e/`.
pub fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/e2e")
        .join(name)
}

/// Runs `command` to completion, killed after `limit`; its output, whatever happened.
pub fn run_bounded(mut command: Command, limit: Duration) -> Output {
    use std::io::Read;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the end-to-end client");
    // Read both pipes while waiting, so a talkative child never blocks on a full pipe.
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll the client") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break child.wait().expect("reap the client");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}
