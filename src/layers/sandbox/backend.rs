//! Backends: the [`SandboxBackend`] trait and the two Linux ones, which share one
//! supervisor (spawn, feed, capture with caps, kill the whole tree at the deadline).

use std::io::{Read, Write};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::cgroup::{CLEANUPS, pids_cgroup, release_cgroup, sweep_stale_cgroups, unique_name};
use super::config::{BackendKind, SandboxConfig};
use super::error::SandboxError;
use super::spec::{
    Mode, REPORT_MARKER, Report as StageReport, SETUP_FAILED, SPEC_ENV, Spec, Stage,
};

/// What to run in the sandbox.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Job {
    /// A Rust tool of the worker program, or a command.
    pub kind: JobKind,
    /// Bytes for the tool's stdin.
    pub stdin: Vec<u8>,
}

impl Job {
    /// A command (`argv[0]` is looked up in `PATH=/usr/bin:/bin` when not absolute).
    pub fn command(argv: Vec<String>, stdin: Vec<u8>) -> Self {
        Self {
            kind: JobKind::Command(argv),
            stdin,
        }
    }

    /// A Rust tool of the worker program; `stdin` is the call.
    pub fn worker(stdin: Vec<u8>) -> Self {
        Self {
            kind: JobKind::Worker,
            stdin,
        }
    }
}

/// The two kinds of [`Job`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum JobKind {
    /// The worker program answers one call with its own tools.
    Worker,
    /// An external command.
    Command(Vec<String>),
}

/// How a sandboxed run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exit {
    /// It exited with this status.
    Code(i32),
    /// It was killed by this signal (a CPU limit is `SIGKILL` or `SIGXCPU`).
    Signal(i32),
    /// The wall-clock limit passed; the whole process tree was killed.
    TimedOut,
    /// The sandbox could not be set up; nothing of the tool ran.
    SetupFailed(String),
}

/// The result of a sandboxed run.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RunOutcome {
    /// How it ended.
    pub exit: Exit,
    /// Its stdout, up to the cap.
    pub stdout: Vec<u8>,
    /// Stdout went past the cap (the rest was read and dropped).
    pub stdout_truncated: bool,
    /// Its stderr (without the sandbox's own report line), up to the cap.
    pub stderr: Vec<u8>,
    /// Stderr went past the cap.
    pub stderr_truncated: bool,
    /// What the sandbox enforced.
    pub enforced: Vec<String>,
    /// What it could not enforce on this host.
    pub not_enforced: Vec<String>,
    /// Wall-clock time from spawn to the end.
    pub elapsed: Duration,
}

/// Runs jobs in isolation. Implement it for another isolation technology (a microVM, a
/// remote runner); the two Linux backends are [`LinuxSandbox::process`] and
/// [`LinuxSandbox::bwrap`].
pub trait SandboxBackend: Send + Sync + std::fmt::Debug + 'static {
    /// A short name for notes and records.
    fn name(&self) -> &str;

    /// Whether this host can isolate with this backend; `Err`
    /// ([`SandboxError::Unavailable`]) says why not. Called once per layer, before the
    /// first sandboxed call.
    fn check_available(&self) -> Result<(), SandboxError>;

    /// Runs `job` in isolation and waits for it (blocking: the layer calls it on a thread
    /// of its own).
    fn run(&self, job: Job) -> RunOutcome;
}

/// The Linux backends: agent-airlock's own process isolation, or bubblewrap.
#[derive(Debug, Clone)]
pub struct LinuxSandbox {
    pub(super) kind: BackendKind,
    pub(super) config: SandboxConfig,
    pub(super) worker: PathBuf,
}

impl LinuxSandbox {
    /// The backend `config.backend` names.
    pub fn from_config(config: &SandboxConfig) -> std::io::Result<Self> {
        let worker = match &config.worker {
            Some(w) => w.clone(),
            None => std::env::current_exe()?,
        };
        sweep_stale_cgroups();
        Ok(Self {
            kind: config.backend,
            config: config.clone(),
            worker,
        })
    }

    /// New user, PID, network, mount, IPC and UTS namespaces, Landlock, seccomp and rlimits,
    /// set up by the worker program on itself.
    pub fn process(config: &SandboxConfig) -> std::io::Result<Self> {
        let mut config = config.clone();
        config.backend = BackendKind::Process;
        Self::from_config(&config)
    }

    /// Bubblewrap's namespaces and mount view, plus the worker's own Landlock, seccomp and
    /// rlimits inside.
    pub fn bwrap(config: &SandboxConfig) -> std::io::Result<Self> {
        let mut config = config.clone();
        config.backend = BackendKind::Bwrap;
        Self::from_config(&config)
    }

    pub(super) fn spec(
        &self,
        job: &Job,
        workdir: &Path,
        cgroup: Option<PathBuf>,
        reach: &Reach,
    ) -> Spec {
        let mut env: Vec<(String, String)> = self
            .config
            .allow_env
            .iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| (k.clone(), v)))
            .collect();
        let dir = workdir.to_string_lossy().into_owned();
        env.push(("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()));
        env.push(("HOME".into(), dir.clone()));
        env.push(("TMPDIR".into(), dir));
        Spec {
            stage: match self.kind {
                BackendKind::Process => Stage::Outer,
                BackendKind::Bwrap => Stage::Pre,
            },
            mode: match &job.kind {
                JobKind::Worker => Mode::Worker,
                JobKind::Command(argv) => Mode::Exec(argv.clone()),
            },
            limits: self.config.limits.clone(),
            read_only: self.config.read_only_paths.clone(),
            workdir: workdir.to_path_buf(),
            cgroup,
            env,
            worker: self.worker.clone(),
            own_namespaces: false,
            bwrap: (self.kind == BackendKind::Bwrap).then(|| self.bwrap_args(job, workdir, reach)),
            network: reach.network,
            read_write: reach.read_write.clone(),
            uid: nix::unistd::geteuid().as_raw(),
            gid: nix::unistd::getegid().as_raw(),
        }
    }

    pub(super) fn bwrap_args(&self, job: &Job, workdir: &Path, reach: &Reach) -> Vec<String> {
        let mut a: Vec<String> = [
            "--unshare-all",
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
            "--hostname",
            "airlock-sandbox",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--clearenv",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.insert(0, self.config.bwrap_path.to_string_lossy().into_owned());
        if reach.network {
            a.push("--share-net".into());
        }
        let mut bind = |flag: &str, p: &Path| {
            let p = p.to_string_lossy().into_owned();
            a.extend([flag.to_owned(), p.clone(), p]);
        };
        for p in &self.config.read_only_paths {
            bind("--ro-bind-try", p);
        }
        for p in &reach.read_write {
            bind("--bind", p);
        }
        bind("--ro-bind", &self.worker);
        // The program, unless a read-only path already shows it (a second bind over a
        // link there, a virtualenv's `python`, would fail).
        if let JobKind::Command(argv) = &job.kind
            && let Some(program) = argv.first().map(Path::new)
            && program.is_absolute()
            && !self
                .config
                .read_only_paths
                .iter()
                .any(|p| program.starts_with(p))
        {
            bind("--ro-bind-try", program);
        }
        // The work directory is a tmpfs of its own, limited in size (RAM, never the host's
        // disk); like the process backend, no /tmp besides it (TMPDIR points here).
        let dir = workdir.to_string_lossy().into_owned();
        let bytes = self
            .config
            .limits
            .disk_mb
            .max(1)
            .saturating_mul(1024 * 1024);
        a.extend([
            "--size".into(),
            bytes.to_string(),
            "--perms".into(),
            "0700".into(),
            "--tmpfs".into(),
            dir.clone(),
            "--chdir".into(),
            dir,
        ]);
        a
    }
}

impl SandboxBackend for LinuxSandbox {
    fn name(&self) -> &str {
        match self.kind {
            BackendKind::Process => "process",
            BackendKind::Bwrap => "bwrap",
        }
    }

    fn check_available(&self) -> Result<(), SandboxError> {
        self.probe().map_err(SandboxError::Unavailable)
    }

    fn run(&self, job: Job) -> RunOutcome {
        self.run_job(job)
    }
}

impl LinuxSandbox {
    /// A real run of `true` in the sandbox: the only proof that this host lets us isolate.
    fn probe(&self) -> Result<(), String> {
        if !self.worker.exists() {
            return Err(format!(
                "the worker program {} does not exist",
                self.worker.display()
            ));
        }
        if self.kind == BackendKind::Process {
            let max = std::fs::read_to_string("/proc/sys/user/max_user_namespaces")
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok());
            if max == Some(0) {
                return Err("user namespaces are disabled (user.max_user_namespaces = 0)".into());
            }
        }
        // A real run: the only proof that this host lets us isolate.
        let mut probe = self.clone();
        probe.config.limits.wall_time_secs = 10;
        let outcome = probe.run(Job::command(vec!["true".into()], Vec::new()));
        match outcome.exit {
            Exit::Code(0) if !outcome.enforced.is_empty() => Ok(()),
            Exit::Code(0) => Err(format!(
                "the worker program {} does not call agent_airlock::layers::sandbox::enter",
                self.worker.display()
            )),
            Exit::SetupFailed(why) => Err(why),
            other => Err(format!(
                "the probe run failed ({other:?}): {}",
                String::from_utf8_lossy(&outcome.stderr).trim()
            )),
        }
    }

    fn run_job(&self, job: Job) -> RunOutcome {
        let start = Instant::now();
        let workdir = match make_workdir() {
            Ok(d) => d,
            Err(e) => return setup_failed(format!("cannot create the work directory: {e}"), start),
        };
        let (cgroup, pids_note) = match pids_cgroup(self.config.limits.max_processes) {
            Ok(cg) => (
                Some(cg),
                format!(
                    "pids cgroup: at most {} processes",
                    self.config.limits.max_processes
                ),
            ),
            Err(why) => (None, format!("pids cgroup: {why}; RLIMIT_NPROC only")),
        };
        let spec = self.spec(&job, &workdir, cgroup.clone(), &Reach::default());
        let mut outcome = supervise(&self.worker, &spec, job.stdin, &self.config, start);
        match &cgroup {
            Some(_) => outcome.enforced.push(pids_note),
            None => outcome.not_enforced.push(pids_note),
        }
        if self.kind == BackendKind::Bwrap && !outcome.enforced.is_empty() {
            outcome.enforced.insert(
                0,
                format!(
                    "bubblewrap: namespaces user, pid, net, mount, ipc, uts, cgroup; only the \
                     read-only paths and the work directory mounted; the work directory a \
                     tmpfs of {} MiB",
                    self.config.limits.disk_mb
                ),
            );
            outcome.not_enforced.push(
                "a bound on the number of files in the work directory (bubblewrap cannot set \
                 a tmpfs's inode limit; its size still bounds the data)"
                    .into(),
            );
        }
        let _ = std::fs::remove_dir_all(&workdir);
        if let Some(cg) = cgroup {
            release_cgroup(cg);
        }
        outcome
    }
}

/// What a long-lived command in the sandbox may reach beyond what a call's command may
/// (which is neither): the host's network, and host directories it may write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) struct Reach {
    /// Keep the host's network (no network namespace of its own). Off, the sandbox has a
    /// network namespace with no interface up: nothing to connect to, not even loopback.
    pub network: bool,
    /// Host directories bound read-write (they must exist). Landlock allows them
    /// everything, as it does the work directory.
    pub read_write: Vec<PathBuf>,
}

// The builders are the proxy's (a call's command gets `Reach::default()`).
#[cfg_attr(not(feature = "proxy"), allow(dead_code))]
impl Reach {
    /// No network, no writable host directory: what a call's command gets.
    pub(crate) fn none() -> Self {
        Self::default()
    }

    /// With the host's network or without it.
    pub(crate) fn network(mut self, on: bool) -> Self {
        self.network = on;
        self
    }

    /// With these host directories writable.
    pub(crate) fn read_write(mut self, paths: Vec<PathBuf>) -> Self {
        self.read_write = paths;
        self
    }
}

fn setup_failed(why: String, start: Instant) -> RunOutcome {
    RunOutcome {
        exit: Exit::SetupFailed(why),
        stdout: Vec::new(),
        stdout_truncated: false,
        stderr: Vec::new(),
        stderr_truncated: false,
        enforced: Vec::new(),
        not_enforced: Vec::new(),
        elapsed: start.elapsed(),
    }
}

pub(super) fn make_workdir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(unique_name());
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    Ok(dir)
}

impl LinuxSandbox {
    /// Waits (at most `limit`) until the cgroups of finished calls are removed: what a
    /// program calls before it exits, so it leaves none behind (`airlock sandbox run`
    /// does). True when none is left pending.
    pub fn wait_for_cleanup(limit: Duration) -> bool {
        let pending = CLEANUPS.pending.lock().unwrap_or_else(|e| e.into_inner());
        let (pending, _) = CLEANUPS
            .done
            .wait_timeout_while(pending, limit, |n| *n > 0)
            .unwrap_or_else(|e| e.into_inner());
        *pending == 0
    }
}

/// Reads up to `cap` bytes, then reads and drops the rest; returns the bytes and whether
/// anything was dropped.
fn capped(mut reader: impl Read, cap: usize) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    let mut dropped = false;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return (kept, dropped),
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
                dropped |= n > room;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return (kept, dropped),
        }
    }
}

fn supervise(
    worker: &Path,
    spec: &Spec,
    stdin: Vec<u8>,
    config: &SandboxConfig,
    start: Instant,
) -> RunOutcome {
    let mut child = match Command::new(worker)
        .env_clear()
        .env(
            SPEC_ENV,
            serde_json::to_string(spec).expect("spec serializes"),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            return setup_failed(
                format!("cannot start the worker program {}: {e}", worker.display()),
                start,
            );
        }
    };
    let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
    let mut input = child.stdin.take().expect("piped");
    // A fresh pipe holds 64 KiB: a small call is written at once, without a thread.
    let feeder = if stdin.len() <= 32 * 1024 {
        let _ = input.write_all(&stdin);
        drop(input);
        None
    } else {
        Some(std::thread::spawn(move || {
            let _ = input.write_all(&stdin);
        }))
    };
    let out = child.stdout.take().expect("piped");
    let err = child.stderr.take().expect("piped");
    let out_cap = config.limits.max_stdout_bytes;
    // Room for the report line on top of the tool's own stderr.
    let err_cap = config.limits.max_stderr_bytes + 64 * 1024;
    let out_reader = std::thread::spawn(move || capped(out, out_cap));
    let err_reader = std::thread::spawn(move || capped(err, err_cap));

    // The watchdog kills the process group at the deadline unless told the run ended.
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let wall = Duration::from_secs(config.limits.wall_time_secs.max(1));
    let watchdog = std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = done_rx.recv_timeout(wall) {
            let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
            return true;
        }
        false
    });
    let status = child.wait();
    let _ = done_tx.send(());
    let timed_out = watchdog.join().unwrap_or(false);
    // The first stage is gone; anything left in its group goes too (its namespace's
    // processes die with their first process).
    let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
    if let Some(feeder) = feeder {
        let _ = feeder.join();
    }
    let (stdout, stdout_truncated) = out_reader.join().unwrap_or_default();
    let (stderr_all, err_dropped) = err_reader.join().unwrap_or_default();

    let (report, mut stderr) = split_report(&stderr_all);
    let mut stderr_truncated = err_dropped;
    if stderr.len() > config.limits.max_stderr_bytes {
        stderr.truncate(config.limits.max_stderr_bytes);
        stderr_truncated = true;
    }
    let exit = match status {
        _ if timed_out => Exit::TimedOut,
        Err(e) => Exit::SetupFailed(format!("lost the worker program: {e}")),
        Ok(s) => match (s.code(), s.signal()) {
            (Some(SETUP_FAILED), _) if report.is_none() => {
                Exit::SetupFailed(String::from_utf8_lossy(&stderr).trim().to_owned())
            }
            (Some(code), _) if code > 128 && code < 128 + 65 => Exit::Signal(code - 128),
            (Some(code), _) => Exit::Code(code),
            (None, Some(sig)) => Exit::Signal(sig),
            (None, None) => Exit::Code(-1),
        },
    };
    let report = report.unwrap_or_default();
    RunOutcome {
        exit,
        stdout,
        stdout_truncated,
        stderr,
        stderr_truncated,
        enforced: report.enforced,
        not_enforced: report.not_enforced,
        elapsed: start.elapsed(),
    }
}

/// The sandbox's report (the first stderr line, when it is one) and the rest of stderr.
fn split_report(stderr: &[u8]) -> (Option<StageReport>, Vec<u8>) {
    let first_end = stderr.iter().position(|&b| b == b'\n');
    let (first, rest) = match first_end {
        Some(i) => (&stderr[..i], &stderr[i + 1..]),
        None => (stderr, &[][..]),
    };
    match std::str::from_utf8(first)
        .ok()
        .and_then(|l| l.strip_prefix(REPORT_MARKER))
        .and_then(|json| serde_json::from_str::<StageReport>(json).ok())
    {
        Some(report) => (Some(report), rest.to_vec()),
        None => (None, stderr.to_vec()),
    }
}
