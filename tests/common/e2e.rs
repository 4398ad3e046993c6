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
