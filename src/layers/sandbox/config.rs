//! `[sandbox]`: which tools run isolated, where, and within which limits.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `[sandbox]`: the sandbox layer.
///
/// ```toml
/// [sandbox]
/// backend = "process"            # or "bwrap" (bubblewrap)
/// required = true               # no isolation, no call (sandbox_unavailable)
/// tools = ["run_*"]             # globs of the tools that run isolated
/// read_only_paths = ["/usr", "/lib", "/lib64", "/bin", "/etc/ssl/certs"]
/// allow_env = ["LANG"]          # host variables passed through; nothing else is
///
/// [sandbox.commands]            # tools that are external commands
/// run_python = ["/usr/bin/python3", "/opt/tools/run.py"]
///
/// [sandbox.limits]
/// wall_time_secs = 30
/// memory_mb = 512
/// disk_mb = 64                  # the work directory is a tmpfs of this size
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct SandboxConfig {
    /// `process` (namespaces, Landlock, seccomp, rlimits, done by agent-airlock) or `bwrap`.
    pub backend: BackendKind,
    /// Refuse sandboxed calls as `sandbox_unavailable` when the backend cannot isolate on
    /// this host. When false they run in-process instead, and the response says so.
    pub required: bool,
    /// Globs of the tools that run in the sandbox; the others pass through.
    pub tools: Vec<String>,
    /// External command tools: name → argv. A sandboxed tool without an entry runs in the
    /// worker (the program re-executed, see [`enter`](super::enter)).
    pub commands: BTreeMap<String, Vec<String>>,
    /// The program re-executed as the sandbox's first stage and as the worker; default: the
    /// running program. It must call [`enter`](super::enter) first thing in `main`.
    pub worker: Option<PathBuf>,
    /// The `bwrap` program for the bubblewrap backend.
    pub bwrap_path: PathBuf,
    /// Paths the tool may read (and execute); everything else is invisible or denied. The
    /// default is what programs need to run and nothing that holds a secret: the system's
    /// programs and libraries (`/usr`, `/bin`, `/sbin`, `/lib*`), the dynamic loader's
    /// cache and configuration, the CA certificates (`/etc/ssl/certs`, never
    /// `/etc/ssl/private`), OpenSSL's configuration, `/etc/alternatives` and the time zone.
    /// No home directory, `/root`, `/tmp`, `/run` or credential file.
    pub read_only_paths: Vec<PathBuf>,
    /// Host environment variables passed to the tool, by name. Nothing else is.
    pub allow_env: Vec<String>,
    /// Limits.
    pub limits: SandboxLimits,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            backend: BackendKind::Process,
            required: true,
            tools: Vec::new(),
            commands: BTreeMap::new(),
            worker: None,
            bwrap_path: PathBuf::from("bwrap"),
            read_only_paths: [
                "/usr",
                "/lib",
                "/lib64",
                "/lib32",
                "/bin",
                "/sbin",
                "/etc/alternatives",
                "/etc/ld.so.cache",
                "/etc/ld.so.conf",
                "/etc/ld.so.conf.d",
                "/etc/ssl/certs",
                "/etc/ssl/openssl.cnf",
                "/etc/ca-certificates",
                "/etc/localtime",
            ]
            .into_iter()
            .map(PathBuf::from)
            .collect(),
            allow_env: vec!["LANG".into(), "LC_ALL".into(), "TZ".into()],
            limits: SandboxLimits::default(),
        }
    }
}

/// Which isolation the sandbox layer uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    /// Linux namespaces, Landlock, seccomp and rlimits, set up by agent-airlock itself.
    Process,
    /// Debian's `bubblewrap` (`bwrap`), with agent-airlock's rlimits, Landlock and seccomp
    /// inside it.
    Bwrap,
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BackendKind::Process => "process",
            BackendKind::Bwrap => "bwrap",
        })
    }
}

/// Resource limits of one sandboxed call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct SandboxLimits {
    /// Wall-clock time before the whole process tree is killed.
    pub wall_time_secs: u64,
    /// CPU seconds (`RLIMIT_CPU`).
    pub cpu_secs: u64,
    /// Address space in MiB (`RLIMIT_AS`).
    pub memory_mb: u64,
    /// Processes (a pids cgroup when one can be made, else `RLIMIT_NPROC`).
    pub max_processes: u64,
    /// Open files (`RLIMIT_NOFILE`).
    pub max_open_files: u64,
    /// Largest file the tool may write, in MiB (`RLIMIT_FSIZE`).
    pub max_file_mb: u64,
    /// Size of the work directory, in MiB: a tmpfs of its own (RAM, not the host's disk),
    /// so one call cannot fill a disk.
    pub disk_mb: u64,
    /// Most files and directories in the work directory (the tmpfs's inodes; the process
    /// backend).
    pub max_files: u64,
    /// Most stdout bytes kept (the rest is read and dropped).
    pub max_stdout_bytes: usize,
    /// Most stderr bytes kept.
    pub max_stderr_bytes: usize,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        Self {
            wall_time_secs: 30,
            cpu_secs: 30,
            memory_mb: 512,
            max_processes: 64,
            max_open_files: 256,
            max_file_mb: 64,
            disk_mb: 64,
            max_files: 4096,
            max_stdout_bytes: 1024 * 1024,
            max_stderr_bytes: 64 * 1024,
        }
    }
}
