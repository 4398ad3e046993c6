//! A long-lived command in the sandbox (the proxy's upstream): [`Prepared`] to spawn, and
//! the [`Lease`] that owns its resources while it runs.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use super::cgroup::{pids_cgroup, release_cgroup};
use super::spec::{REPORT_MARKER, Report as StageReport, SPEC_ENV};

use super::backend::{Job, LinuxSandbox, Reach, make_workdir};

/// A command prepared to run in the sandbox for as long as it lives, with its standard
/// streams as the caller sets them (an MCP server over stdio, say), instead of a call's
/// batch of input and output.
///
/// Spawn [`command`](Self::command) (it is the sandbox's first stage, in a process group
/// of its own; its stdin, stdout and stderr become the command's) and keep the
/// [`Lease`] until the process has exited. The first line the process writes to stderr is
/// the sandbox's report ([`Report::from_line`]); a process that exits with status 121
/// and no report could not set up isolation, and the command never ran.
#[derive(Debug)]
#[non_exhaustive]
pub(crate) struct Prepared {
    /// The first stage, ready to spawn.
    pub command: Command,
    /// The work directory and pids cgroup of this run.
    pub lease: Lease,
}

/// The resources of one long-lived sandboxed process: when dropped, it kills the process
/// group it was told of ([`Lease::hold`]), removes the work directory and releases the pids
/// cgroup (once its processes are gone).
#[derive(Debug)]
pub(crate) struct Lease {
    workdir: PathBuf,
    cgroup: Option<PathBuf>,
    group: Option<i32>,
    /// What could not be enforced before the start (the pids cgroup), for the report.
    pub not_enforced: Vec<String>,
}

impl Lease {
    /// The process spawned from the prepared command: its group is killed when the lease
    /// is dropped.
    pub(crate) fn hold(&mut self, pid: u32) {
        self.group = i32::try_from(pid).ok().filter(|p| *p > 0);
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(pgid) = self.group {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pgid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = std::fs::remove_dir_all(&self.workdir);
        if let Some(cg) = self.cgroup.take() {
            release_cgroup(cg);
        }
    }
}

/// What the sandbox's inner stage enforced on this host, as it reported it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) struct Report {
    /// What is enforced.
    pub enforced: Vec<String>,
    /// What this host could not enforce.
    pub not_enforced: Vec<String>,
}

impl Report {
    /// The report, when `line` (one stderr line, without its newline) is the sandbox's.
    pub(crate) fn from_line(line: &str) -> Option<Self> {
        let json = line.strip_prefix(REPORT_MARKER)?;
        let report: StageReport = serde_json::from_str(json).ok()?;
        Some(Self {
            enforced: report.enforced,
            not_enforced: report.not_enforced,
        })
    }
}

impl LinuxSandbox {
    /// Prepares `argv` (`argv[0]` absolute, or looked up in `PATH=/usr/local/bin:/usr/bin:/bin`
    /// inside) to run in the sandbox with `env` as its whole environment (over `PATH`,
    /// `HOME` and `TMPDIR`, which point inside) and `reach`. The limits are this backend's
    /// but for the wall clock: nothing kills a prepared command but its [`Lease`].
    pub(crate) fn prepare(
        &self,
        argv: Vec<String>,
        env: Vec<(String, String)>,
        reach: Reach,
    ) -> std::io::Result<Prepared> {
        if argv.is_empty() {
            return Err(std::io::Error::other("an empty command"));
        }
        let mut reach = reach;
        for path in &mut reach.read_write {
            // Bound and ruled where it really is (a link in the path is followed here).
            match std::fs::canonicalize(&*path) {
                Ok(real) if path.is_absolute() && real.is_dir() => *path = real,
                _ => {
                    return Err(std::io::Error::other(format!(
                        "the read-write path {} is not an absolute path to a directory",
                        path.display()
                    )));
                }
            }
        }
        let workdir = make_workdir()?;
        let (cgroup, not_enforced) = match pids_cgroup(self.config.limits.max_processes) {
            Ok(cg) => (Some(cg), Vec::new()),
            Err(why) => (None, vec![format!("pids cgroup: {why}; RLIMIT_NPROC only")]),
        };
        let job = Job::command(argv, Vec::new());
        let mut spec = self.spec(&job, &workdir, cgroup.clone(), &reach);
        spec.env
            .retain(|(k, _)| matches!(k.as_str(), "PATH" | "HOME" | "TMPDIR"));
        spec.env.extend(env);
        let mut command = Command::new(&self.worker);
        command
            .env_clear()
            .env(
                SPEC_ENV,
                serde_json::to_string(&spec).expect("spec serializes"),
            )
            .process_group(0);
        Ok(Prepared {
            command,
            lease: Lease {
                workdir,
                cgroup,
                group: None,
                not_enforced,
            },
        })
    }
}
