//! The sandbox's own stages, run by the worker program re-executed.
//!
//! Every restriction is applied by a freshly started, single-threaded process on itself,
//! with the safe APIs of `nix`, `landlock` and `seccompiler`, and only then is the tool's
//! code run or the tool's command executed. Nothing is done between `fork` and `exec` of
//! the multi-threaded server.
//!
//! ```text
//! process backend:  server ─► worker [outer: cgroup, unshare user/pid/net/mount/ipc/uts, id maps]
//!                               └─► worker [inner: PID 1; hostname, /proc, Landlock, rlimits, seccomp]
//!                                     └─ exec the command, or run the Rust tool
//! bwrap backend:    server ─► worker [pre: cgroup] ─exec─► bwrap ─► worker [inner] ─► …
//! ```

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use super::config::SandboxLimits;
use crate::router::ToolRouter;
use crate::service::{ToolCall, ToolResponse};

/// The variable that carries the [`Spec`] into the worker program.
pub(crate) const SPEC_ENV: &str = "AIRLOCK_SANDBOX_SPEC";
/// The first line of stderr that the inner stage writes: what it enforced.
pub(crate) const REPORT_MARKER: &str = "AIRLOCK-SANDBOX-ENFORCED ";
/// Exit status of a stage that could not set up isolation.
pub(crate) const SETUP_FAILED: i32 = 121;

/// Instructions for the worker program.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Spec {
    pub stage: Stage,
    pub mode: Mode,
    pub limits: SandboxLimits,
    pub read_only: Vec<PathBuf>,
    pub workdir: PathBuf,
    pub cgroup: Option<PathBuf>,
    /// The environment of the tool.
    pub env: Vec<(String, String)>,
    /// The worker program (to re-execute for the next stage).
    pub worker: PathBuf,
    /// The inner stage sets the hostname and mounts `/proc` (process backend only).
    pub own_namespaces: bool,
    /// `bwrap` and its arguments (the bubblewrap backend's pre stage).
    pub bwrap: Option<Vec<String>>,
    /// The ids outside the user namespace.
    pub uid: u32,
    pub gid: u32,
    /// Keep the host's network (a long-lived command that asked for it).
    #[serde(default)]
    pub network: bool,
    /// Host directories bound read-write (a long-lived command's).
    #[serde(default)]
    pub read_write: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Stage {
    Outer,
    Pre,
    Inner,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Mode {
    /// Run a Rust tool of the worker program: a [`WireCall`] on stdin, a `ToolResponse` out.
    Worker,
    /// Execute a command (argv).
    Exec(Vec<String>),
}

/// A call as it crosses into the worker: data only.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WireCall {
    pub id: String,
    pub tool: String,
    pub arguments: serde_json::Value,
}

/// Call this first thing in `main` of a program whose tools run in the sandbox worker.
///
/// In the normal run it returns at once (one environment lookup). When the program was
/// started as a sandbox stage, it sets up that stage and never returns: the last stage
/// builds the tools with `tools`, answers the one call it reads on stdin and exits.
///
/// ```no_run
/// use agent_airlock::ToolRouter;
///
/// fn tools() -> ToolRouter {
///     ToolRouter::builder()
///         .raw_tool("run_code", "Run code", serde_json::json!({"type": "object"}),
///             |args| async move { Ok::<_, std::convert::Infallible>(args) })
///         .build()
///         .expect("tools")
/// }
///
/// fn main() {
///     agent_airlock::layers::sandbox::enter(tools);
///     // … the server, which uses `tools()` too …
/// }
/// ```
pub fn enter<F: FnOnce() -> ToolRouter>(tools: F) {
    let Some(spec) = std::env::var_os(SPEC_ENV) else {
        return;
    };
    let code = match serde_json::from_str::<Spec>(&spec.to_string_lossy()) {
        Ok(spec) => run_stage(spec, Some(Box::new(tools))),
        Err(e) => fail(&format!("unreadable sandbox spec: {e}")),
    };
    std::process::exit(code);
}

/// [`enter`] for a program without Rust tools of its own (it can only execute commands).
pub fn enter_without_tools() {
    enter(|| {
        ToolRouter::builder()
            .build()
            .expect("an empty router builds")
    });
}

type Tools<'a> = Option<Box<dyn FnOnce() -> ToolRouter + 'a>>;

fn run_stage(spec: Spec, tools: Tools<'_>) -> i32 {
    match spec.stage {
        Stage::Outer => outer(spec, tools),
        Stage::Pre => pre(spec),
        Stage::Inner => inner(spec, tools),
    }
}

fn fail(why: &str) -> i32 {
    let _ = writeln!(std::io::stderr(), "agent-airlock sandbox: {why}");
    SETUP_FAILED
}

fn join_cgroup(spec: &Spec) -> Result<(), String> {
    if let Some(cg) = &spec.cgroup {
        std::fs::write(cg.join("cgroup.procs"), std::process::id().to_string())
            .map_err(|e| format!("cannot join the pids cgroup: {e}"))?;
    }
    Ok(())
}

/// Process backend, first stage: new namespaces, then the inner stage as their PID 1.
fn outer(mut spec: Spec, tools: Tools<'_>) -> i32 {
    use nix::sched::{CloneFlags, unshare};
    if let Err(e) = join_cgroup(&spec) {
        return fail(&e);
    }
    let mut flags = CloneFlags::CLONE_NEWUSER
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWUTS;
    if !spec.network {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    if let Err(e) = unshare(flags) {
        return fail(&format!("cannot create namespaces: {e}"));
    }
    // Root inside, the caller's own ids outside: no privilege on the host.
    let maps = [
        ("/proc/self/setgroups", "deny".to_owned()),
        ("/proc/self/uid_map", format!("0 {} 1", spec.uid)),
        ("/proc/self/gid_map", format!("0 {} 1", spec.gid)),
    ];
    for (file, content) in maps {
        if let Err(e) = std::fs::write(file, content) {
            return fail(&format!("cannot write {file}: {e}"));
        }
    }
    spec.stage = Stage::Inner;
    spec.own_namespaces = true;
    if single_threaded() {
        // Forking saves an exec of the worker program (about a third of the cost).
        use nix::sys::wait::{WaitStatus, waitpid};
        use nix::unistd::ForkResult;
        return match fork_single_threaded() {
            Ok(ForkResult::Child) => std::process::exit(inner(spec, tools)),
            Ok(ForkResult::Parent { child }) => loop {
                match waitpid(child, None) {
                    Ok(WaitStatus::Exited(_, code)) => break code,
                    Ok(WaitStatus::Signaled(_, sig, _)) => break 128 + sig as i32,
                    Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
                    Err(e) => break fail(&format!("lost the inner stage: {e}")),
                }
            },
            Err(e) => fail(&format!("cannot start the inner stage: {e}")),
        };
    }
    let mut child = match Command::new(&spec.worker)
        .env_clear()
        .env(
            SPEC_ENV,
            serde_json::to_string(&spec).expect("spec serializes"),
        )
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return fail(&format!("cannot start the inner stage: {e}")),
    };
    match child.wait() {
        Ok(status) => exit_code(status),
        Err(e) => fail(&format!("lost the inner stage: {e}")),
    }
}

/// Whether this process has one thread (`/proc/self/status`).
fn single_threaded() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .any(|l| l.strip_prefix("Threads:").is_some_and(|n| n.trim() == "1"))
    })
}

#[allow(unsafe_code)]
fn fork_single_threaded() -> nix::Result<nix::unistd::ForkResult> {
    // SAFETY: called only after `single_threaded()`: with no other thread, no lock (the
    // allocator's, stdio's) can be held at the fork, so the child may run ordinary code.
    unsafe { nix::unistd::fork() }
}

/// The exit code that reports `status` to our parent (128 + signal for a signal).
fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// Bubblewrap backend, first stage: join the cgroup, become bwrap.
fn pre(spec: Spec) -> i32 {
    if let Err(e) = join_cgroup(&spec) {
        return fail(&e);
    }
    let Some(argv) = spec.bwrap.as_ref().filter(|a| !a.is_empty()) else {
        return fail("no bwrap command");
    };
    let mut inner = spec.clone();
    inner.stage = Stage::Inner;
    inner.own_namespaces = false;
    inner.bwrap = None;
    let err = Command::new(&argv[0])
        .args(&argv[1..])
        .arg("--setenv")
        .arg(SPEC_ENV)
        .arg(serde_json::to_string(&inner).expect("spec serializes"))
        .arg("--")
        .arg(&spec.worker)
        .env_clear()
        .exec();
    fail(&format!("cannot execute {}: {err}", argv[0]))
}

/// What the inner stage enforced, reported on the first line of stderr.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Report {
    pub enforced: Vec<String>,
    pub not_enforced: Vec<String>,
}

/// The last stage: restrict this process, then run the tool.
fn inner(spec: Spec, tools: Tools<'_>) -> i32 {
    let mut report = Report::default();
    // Die with the stage above, so a kill of the process group takes the namespace down
    // even if the tool leaves the group.
    if spec.own_namespaces {
        if let Err(e) = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL) {
            return fail(&format!("cannot set the parent-death signal: {e}"));
        }
        // (Its parent is outside the namespace, so `getppid` says 0 here.)
        if nix::unistd::getpid().as_raw() != 1 {
            return fail("the inner stage is not the first process of its namespace");
        }
        report.enforced.push(if spec.network {
            "namespaces: user, pid, mount, ipc, uts".into()
        } else {
            "namespaces: user, pid, net (no interfaces up), mount, ipc, uts".into()
        });
        if spec.network {
            report
                .not_enforced
                .push("network isolation: the host's network is allowed by configuration".into());
        }
        match nix::unistd::sethostname("airlock-sandbox") {
            Ok(()) => {}
            Err(e) => report.not_enforced.push(format!("hostname: {e}")),
        }
        match private_root(&spec) {
            Ok(weaker) => {
                report.enforced.push(format!(
                    "a root of its own (pivot_root to a tmpfs): only the read-only paths, \
                     bind-mounted read-only, /dev/null, zero, full, random, urandom, a fresh \
                     /proc, and the work directory, a tmpfs of {} MiB and {} files; no host \
                     /tmp, /run, home directory, socket or mount table",
                    spec.limits.disk_mb, spec.limits.max_files
                ));
                report.not_enforced.extend(weaker);
            }
            Err(e) => return fail(&format!("cannot build the sandbox's root: {e}")),
        }
    }
    if let Err(e) = std::env::set_current_dir(&spec.workdir) {
        return fail(&format!("cannot enter the work directory: {e}"));
    }
    match landlock_rules(&spec) {
        Ok(status) => report.enforced.push(status),
        Err(e) => report.not_enforced.push(format!("landlock: {e}")),
    }
    match rlimits(&spec.limits) {
        Ok(list) => report.enforced.push(list),
        Err(e) => return fail(&format!("cannot set resource limits: {e}")),
    }
    if spec.own_namespaces {
        match drop_capability_bounding_set() {
            Ok(()) => report.enforced.push(
                "capabilities: none for anything the tool executes (bounding set emptied)".into(),
            ),
            Err(e) => return fail(&format!("cannot empty the capability bounding set: {e}")),
        }
    }
    match seccomp() {
        Ok(()) => report.enforced.push(
            "seccomp: ptrace, mount, bpf, io_uring, keyctl, kexec, modules, namespaces, \
             reboot, … denied; only the native syscall ABI (x32 and 32-bit calls refused)"
                .into(),
        ),
        Err(e) => return fail(&format!("cannot install the seccomp filter: {e}")),
    }
    let _ = writeln!(
        std::io::stderr(),
        "{REPORT_MARKER}{}",
        serde_json::to_string(&report).expect("report serializes")
    );
    match &spec.mode {
        Mode::Exec(argv) if !argv.is_empty() => {
            let err = Command::new(&argv[0])
                .args(&argv[1..])
                .env_clear()
                .envs(spec.env.iter().map(|(k, v)| (k, v)))
                .exec();
            let _ = writeln!(
                std::io::stderr(),
                "agent-airlock sandbox: cannot execute {}: {err}",
                argv[0]
            );
            127
        }
        Mode::Exec(_) => fail("empty command"),
        Mode::Worker => run_worker(tools),
    }
}

/// Gives the process backend a root of its own, as bubblewrap does: a small tmpfs holding
/// only the read-only paths (bind-mounted read-only, symbolic links recreated), a few
/// devices, a fresh `/proc` and the work directory (a tmpfs limited to `disk_mb` and
/// `max_files`), then `pivot_root` into it and the host's tree detached. Landlock governs
/// paths but not `connect()` on socket files; here the host's sockets do not exist.
/// Returns what could only be done weaker (a bind that stayed writable).
fn private_root(spec: &Spec) -> Result<Vec<String>, String> {
    use nix::mount::{MntFlags, MsFlags, mount, umount2};
    let at = |what: &str, path: &Path, e: &dyn std::fmt::Display| {
        format!("{what} {}: {e}", path.display())
    };
    let mut weaker = Vec::new();
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| format!("make / private: {e}"))?;
    // The new root is mounted over the (empty, ours) work directory of the host.
    let root = spec.workdir.as_path();
    let nodev = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    mount(
        Some("tmpfs"),
        root,
        Some("tmpfs"),
        nodev,
        Some("size=4m,nr_inodes=4096,mode=0755"),
    )
    .map_err(|e| at("mount the root tmpfs on", root, &e))?;
    let inside = |path: &Path| root.join(path.strip_prefix("/").unwrap_or(path));

    let mut wanted: Vec<&Path> = spec.read_only.iter().map(PathBuf::as_path).collect();
    wanted.push(&spec.worker);
    if let Mode::Exec(argv) = &spec.mode
        && let Some(program) = argv.first().map(Path::new)
        && program.is_absolute()
    {
        wanted.push(program);
    }
    // A path below a symbolic link (`/bin/sh` with `/bin -> usr/bin`) is bound where it
    // really is; a link itself is recreated as a link.
    let mut paths: Vec<PathBuf> = wanted
        .into_iter()
        .filter(|p| p.is_absolute())
        .filter_map(|p| match p.parent().map(std::fs::canonicalize) {
            Some(Ok(parent)) => Some(parent.join(p.file_name()?)),
            _ => None, // absent on this host
        })
        .collect();
    paths.sort();
    paths.dedup();
    let mut bound: Vec<&Path> = Vec::new();
    for path in &paths {
        let path = path.as_path();
        if bound.iter().any(|b| path.starts_with(b)) {
            continue; // already visible through a bound parent
        }
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            continue; // absent on this host
        };
        let target = inside(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| at("create", parent, &e))?;
        }
        if meta.file_type().is_symlink() {
            let link = std::fs::read_link(path).map_err(|e| at("read the link", path, &e))?;
            std::os::unix::fs::symlink(&link, &target).map_err(|e| at("link", &target, &e))?;
            continue;
        }
        if meta.is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| at("create", &target, &e))?;
        } else {
            std::fs::write(&target, b"").map_err(|e| at("create", &target, &e))?;
        }
        mount(
            Some(path),
            &target,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(|e| at("bind", path, &e))?;
        if let Err(e) = remount_read_only(path, &target) {
            weaker.push(format!(
                "read-only bind of {}: {e} (Landlock still denies writes)",
                path.display()
            ));
        }
        bound.push(path);
    }

    for path in &spec.read_write {
        let target = inside(path);
        std::fs::create_dir_all(&target).map_err(|e| at("create", &target, &e))?;
        mount(
            Some(path.as_path()),
            &target,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(|e| at("bind", path, &e))?;
    }

    let dev = root.join("dev");
    std::fs::create_dir_all(&dev).map_err(|e| at("create", &dev, &e))?;
    for name in ["null", "zero", "full", "random", "urandom"] {
        let host = Path::new("/dev").join(name);
        let target = dev.join(name);
        std::fs::write(&target, b"").map_err(|e| at("create", &target, &e))?;
        mount(
            Some(&host),
            &target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| at("bind", &host, &e))?;
    }
    let proc = root.join("proc");
    std::fs::create_dir_all(&proc).map_err(|e| at("create", &proc, &e))?;
    mount(
        Some("proc"),
        &proc,
        Some("proc"),
        nodev | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(|e| at("mount proc on", &proc, &e))?;
    let work = inside(&spec.workdir);
    std::fs::create_dir_all(&work).map_err(|e| at("create", &work, &e))?;
    let options = format!(
        "size={}m,nr_inodes={},mode=0700",
        spec.limits.disk_mb.max(1),
        spec.limits.max_files.max(16)
    );
    mount(
        Some("tmpfs"),
        &work,
        Some("tmpfs"),
        nodev,
        Some(options.as_str()),
    )
    .map_err(|e| at("mount the work tmpfs on", &work, &e))?;

    // Into the new root; the old one is detached whole (pivot_root(".", ".") stacks the old
    // root on the new, so one lazy unmount takes it away).
    std::env::set_current_dir(root).map_err(|e| at("enter", root, &e))?;
    nix::unistd::pivot_root(".", ".").map_err(|e| format!("pivot_root: {e}"))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| format!("detach the host's root: {e}"))?;
    std::env::set_current_dir("/").map_err(|e| format!("enter the new root: {e}"))?;
    // The root's own tmpfs holds only mount points: nothing is written there.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY | nodev,
        None::<&str>,
    )
    .map_err(|e| format!("make the root read-only: {e}"))?;
    Ok(weaker)
}

/// Makes the bind mount at `target` read-only, keeping the flags the kernel locks on a
/// mount seen from a user namespace (those of `source`'s mount).
fn remount_read_only(source: &Path, target: &Path) -> Result<(), String> {
    use nix::mount::{MsFlags, mount};
    use nix::sys::statvfs::{FsFlags, statvfs};
    let flags = statvfs(source).map_err(|e| e.to_string())?.flags();
    let mut keep = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    for (fs, ms) in [
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if flags.contains(fs) {
            keep |= ms;
        }
    }
    mount(
        None::<&str>,
        target,
        None::<&str>,
        MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY | keep,
        None::<&str>,
    )
    .map_err(|e| e.to_string())
}

fn landlock_rules(spec: &Spec) -> Result<String, String> {
    use landlock::{
        ABI, Access, AccessFs, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
        path_beneath_rules,
    };
    let abi = ABI::V6;
    let all = AccessFs::from_all(abi);
    let read = AccessFs::from_read(abi);
    let mut read_paths: Vec<&Path> = spec
        .read_only
        .iter()
        .map(PathBuf::as_path)
        .filter(|p| p.exists())
        .collect();
    read_paths.push(&spec.worker);
    if let Mode::Exec(argv) = &spec.mode
        && let Some(program) = argv.first().map(Path::new)
        && program.is_absolute()
    {
        read_paths.push(program);
    }
    let devices = [
        Path::new("/dev/null"),
        Path::new("/dev/zero"),
        Path::new("/dev/full"),
        Path::new("/dev/random"),
        Path::new("/dev/urandom"),
    ];
    let own_proc = if spec.own_namespaces {
        vec![Path::new("/proc/self")]
    } else {
        vec![Path::new("/proc")]
    };
    let status = Ruleset::default()
        .handle_access(all)
        .map_err(|e| e.to_string())?
        // Abstract UNIX sockets have no path for the rules to deny, and signals no file:
        // both are scoped to the sandbox's own processes.
        .scope(Scope::AbstractUnixSocket | Scope::Signal)
        .map_err(|e| e.to_string())?
        .create()
        .map_err(|e| e.to_string())?
        .add_rules(path_beneath_rules(&read_paths, read))
        .map_err(|e| e.to_string())?
        .add_rules(path_beneath_rules(own_proc, read))
        .map_err(|e| e.to_string())?
        .add_rules(path_beneath_rules(devices, read | AccessFs::WriteFile))
        .map_err(|e| e.to_string())?
        .add_rules(path_beneath_rules([&spec.workdir], all))
        .map_err(|e| e.to_string())?
        .add_rules(path_beneath_rules(&spec.read_write, all))
        .map_err(|e| e.to_string())?
        .restrict_self()
        .map_err(|e| e.to_string())?;
    match status.ruleset {
        RulesetStatus::FullyEnforced if spec.read_write.is_empty() => Ok(format!(
            "landlock: read-only {} path(s), read-write only the work directory; abstract \
             UNIX sockets and signals only within the sandbox",
            read_paths.len()
        )),
        RulesetStatus::FullyEnforced => Ok(format!(
            "landlock: read-only {} path(s), read-write only the work directory and {}; \
             abstract UNIX sockets and signals only within the sandbox",
            read_paths.len(),
            spec.read_write
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        RulesetStatus::PartiallyEnforced => Ok(
            "landlock (partial: this kernel lacks some access rights): read-only paths, \
             read-write only the work directory"
                .into(),
        ),
        RulesetStatus::NotEnforced => Err("not supported by this kernel".into()),
    }
}

fn rlimits(limits: &SandboxLimits) -> Result<String, String> {
    use nix::sys::resource::{Resource, setrlimit};
    let mib = 1024 * 1024;
    let set = [
        (
            Resource::RLIMIT_AS,
            limits.memory_mb.saturating_mul(mib),
            "as",
        ),
        (Resource::RLIMIT_CPU, limits.cpu_secs, "cpu"),
        (Resource::RLIMIT_NOFILE, limits.max_open_files, "nofile"),
        (Resource::RLIMIT_NPROC, limits.max_processes, "nproc"),
        (
            Resource::RLIMIT_FSIZE,
            limits.max_file_mb.saturating_mul(mib),
            "fsize",
        ),
        (Resource::RLIMIT_CORE, 0, "core"),
    ];
    for (resource, value, name) in set {
        setrlimit(resource, value, value).map_err(|e| format!("{name}: {e}"))?;
    }
    // `u64::MAX` is `RLIM_INFINITY`: a long-lived command's CPU time, say.
    let shown = |v: u64, unit: &str| match v {
        u64::MAX => "unlimited".to_owned(),
        v => format!("{v} {unit}"),
    };
    Ok(format!(
        "rlimits: address space {}, cpu {}, {} open files, {} processes (per uid), files up to {}, no core dumps",
        shown(limits.memory_mb, "MiB"),
        shown(limits.cpu_secs, "s"),
        limits.max_open_files,
        limits.max_processes,
        shown(limits.max_file_mb, "MiB")
    ))
}

/// Syscalls a tool never needs and an escape often does: denied with `EPERM`.
fn denied_syscalls() -> Vec<(&'static str, i64)> {
    #[allow(unused_mut)]
    let mut list = vec![
        ("ptrace", libc::SYS_ptrace),
        ("process_vm_readv", libc::SYS_process_vm_readv),
        ("process_vm_writev", libc::SYS_process_vm_writev),
        ("mount", libc::SYS_mount),
        ("umount2", libc::SYS_umount2),
        ("pivot_root", libc::SYS_pivot_root),
        ("chroot", libc::SYS_chroot),
        ("unshare", libc::SYS_unshare),
        ("setns", libc::SYS_setns),
        ("bpf", libc::SYS_bpf),
        ("perf_event_open", libc::SYS_perf_event_open),
        ("userfaultfd", libc::SYS_userfaultfd),
        ("keyctl", libc::SYS_keyctl),
        ("add_key", libc::SYS_add_key),
        ("request_key", libc::SYS_request_key),
        ("kexec_load", libc::SYS_kexec_load),
        ("kexec_file_load", libc::SYS_kexec_file_load),
        ("init_module", libc::SYS_init_module),
        ("finit_module", libc::SYS_finit_module),
        ("delete_module", libc::SYS_delete_module),
        ("reboot", libc::SYS_reboot),
        ("swapon", libc::SYS_swapon),
        ("swapoff", libc::SYS_swapoff),
        ("acct", libc::SYS_acct),
        ("quotactl", libc::SYS_quotactl),
        ("syslog", libc::SYS_syslog),
        ("open_by_handle_at", libc::SYS_open_by_handle_at),
        ("name_to_handle_at", libc::SYS_name_to_handle_at),
        ("fsopen", libc::SYS_fsopen),
        ("fsmount", libc::SYS_fsmount),
        ("fspick", libc::SYS_fspick),
        ("open_tree", libc::SYS_open_tree),
        ("move_mount", libc::SYS_move_mount),
        ("mount_setattr", libc::SYS_mount_setattr),
        // io_uring runs operations the filter never sees (its own syscall-free submission
        // queue), so allowing it would be allowing everything.
        ("io_uring_setup", libc::SYS_io_uring_setup),
        ("io_uring_enter", libc::SYS_io_uring_enter),
        ("io_uring_register", libc::SYS_io_uring_register),
        ("settimeofday", libc::SYS_settimeofday),
        ("clock_settime", libc::SYS_clock_settime),
        ("adjtimex", libc::SYS_adjtimex),
    ];
    #[cfg(target_arch = "x86_64")]
    list.extend([("iopl", libc::SYS_iopl), ("ioperm", libc::SYS_ioperm)]);
    list
}

/// `clone` flags that create namespaces.
const NAMESPACE_FLAGS: [u64; 7] = [
    libc::CLONE_NEWNS as u64,
    libc::CLONE_NEWCGROUP as u64,
    libc::CLONE_NEWUTS as u64,
    libc::CLONE_NEWIPC as u64,
    libc::CLONE_NEWUSER as u64,
    libc::CLONE_NEWPID as u64,
    libc::CLONE_NEWNET as u64,
];

/// Two filters: the deny list (and `clone` with a namespace flag) fail with `EPERM`;
/// `clone3`, whose flags a filter cannot read, fails with `ENOSYS`, so the C library falls
/// back to `clone`, which the first filter can check.
fn seccomp() -> Result<(), String> {
    use seccompiler::{
        BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
        SeccompRule, TargetArch,
    };
    let arch = if cfg!(target_arch = "x86_64") {
        TargetArch::x86_64
    } else if cfg!(target_arch = "aarch64") {
        TargetArch::aarch64
    } else {
        return Err("unsupported architecture".into());
    };
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let mut rules = std::collections::BTreeMap::new();
    for (_, nr) in denied_syscalls() {
        rules.insert(nr, vec![]);
    }
    let mut clone_rules = Vec::new();
    for flag in NAMESPACE_FLAGS {
        let cond = SeccompCondition::new(
            0,
            SeccompCmpArgLen::Qword,
            SeccompCmpOp::MaskedEq(flag),
            flag,
        )
        .map_err(|e| err(&e))?;
        clone_rules.push(SeccompRule::new(vec![cond]).map_err(|e| err(&e))?);
    }
    rules.insert(libc::SYS_clone, clone_rules);
    let eperm = nix::errno::Errno::EPERM as u32;
    let deny: BpfProgram = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(eperm),
        arch,
    )
    .map_err(|e| err(&e))?
    .try_into()
    .map_err(|e: seccompiler::BackendError| err(&e))?;
    let enosys = nix::errno::Errno::ENOSYS as u32;
    let clone3: BpfProgram = SeccompFilter::new(
        [(libc::SYS_clone3, vec![])].into_iter().collect(),
        SeccompAction::Allow,
        SeccompAction::Errno(enosys),
        arch,
    )
    .map_err(|e| err(&e))?
    .try_into()
    .map_err(|e: seccompiler::BackendError| err(&e))?;
    seccompiler::apply_filter(&architecture_filter()?).map_err(|e| err(&e))?;
    seccompiler::apply_filter(&clone3).map_err(|e| err(&e))?;
    seccompiler::apply_filter(&deny).map_err(|e| err(&e))
}

/// A filter on the calling convention itself, before any syscall number means anything:
/// a syscall from another architecture (32-bit `int 0x80` on x86-64, AArch32 compat)
/// kills the process, and one with the x32 bit set fails with `EPERM` (the x32 ABI
/// reuses x86-64's architecture value with numbers from 0x40000000, where the deny list
/// would not match: the same syscall under another number).
fn architecture_filter() -> Result<seccompiler::BpfProgram, String> {
    use seccompiler::sock_filter;
    const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
    const RET_K: u16 = 0x06; // BPF_RET | BPF_K
    const RET_KILL_PROCESS: u32 = 0x8000_0000;
    const RET_ERRNO: u32 = 0x0005_0000;
    const RET_ALLOW: u32 = 0x7fff_0000;
    const X32_SYSCALL_BIT: u32 = 0x4000_0000;
    // `struct seccomp_data`: the syscall number at offset 0, the architecture at 4.
    let native: u32 = if cfg!(target_arch = "x86_64") {
        0xc000_003e // AUDIT_ARCH_X86_64
    } else if cfg!(target_arch = "aarch64") {
        0xc000_00b7 // AUDIT_ARCH_AARCH64
    } else {
        return Err("unsupported architecture".into());
    };
    let op = |code, jt, jf, k| sock_filter { code, jt, jf, k };
    let eperm = nix::errno::Errno::EPERM as u32;
    Ok(vec![
        op(LD_W_ABS, 0, 0, 4),
        op(JEQ_K, 1, 0, native),
        op(RET_K, 0, 0, RET_KILL_PROCESS),
        op(LD_W_ABS, 0, 0, 0),
        op(JGE_K, 0, 1, X32_SYSCALL_BIT),
        op(RET_K, 0, 0, RET_ERRNO | eperm),
        op(RET_K, 0, 0, RET_ALLOW),
    ])
}

/// Empties the capability bounding set, so a program the tool executes starts with no
/// capability at all, even as root of the sandbox's user namespace (without this, an
/// executed program would get them all back, `CAP_SYS_PTRACE` among them, and with it the
/// worker's descriptors through `/proc/1/fd`).
#[allow(unsafe_code)]
fn drop_capability_bounding_set() -> Result<(), String> {
    let last: libc::c_ulong = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(63);
    for cap in 0..=last {
        // SAFETY: `prctl(PR_CAPBSET_DROP, cap)` takes integers only and changes only this
        // thread's credentials; no memory is read or written.
        let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            // Past the kernel's last capability: done.
            if e.raw_os_error() == Some(libc::EINVAL) && cap > 0 {
                break;
            }
            return Err(format!("capability {cap}: {e}"));
        }
    }
    Ok(())
}

/// The worker: read one call, run the tool, write the response.
///
/// The response goes back on a private copy of stdout that nothing the tool starts can
/// reach: the copy is closed on exec, stdout itself now leads to stderr (so what a child
/// prints is captured as stderr, not taken for the answer), and the worker is made
/// non-dumpable, so its descriptors in `/proc/<pid>/fd` are closed to the tool's children
/// (which hold no capability to override that).
fn run_worker(tools: Tools<'_>) -> i32 {
    use std::os::fd::AsFd;
    let Some(tools) = tools else {
        return fail("this program has no tools to run");
    };
    let reply = match std::io::stdout().as_fd().try_clone_to_owned() {
        Ok(fd) => fd,
        Err(e) => return fail(&format!("cannot set the reply channel aside: {e}")),
    };
    if let Err(e) = nix::unistd::dup2_stdout(std::io::stderr()) {
        return fail(&format!("cannot redirect the tool's stdout: {e}"));
    }
    if let Err(e) = nix::sys::prctl::set_dumpable(false) {
        return fail(&format!("cannot make the worker non-dumpable: {e}"));
    }
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        return fail(&format!("cannot read the call: {e}"));
    }
    let call: WireCall = match serde_json::from_slice(&input) {
        Ok(c) => c,
        Err(e) => return fail(&format!("unreadable call: {e}")),
    };
    let router = tools();
    let runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start a runtime: {e}")),
    };
    let response: ToolResponse = runtime.block_on(async {
        use tower::ServiceExt;
        let call = ToolCall::new(call.tool, call.arguments).with_id(call.id);
        match router.oneshot(call).await {
            Ok(r) => r,
            Err(never) => match never {},
        }
    });
    let mut out = std::io::BufWriter::new(std::fs::File::from(reply));
    if serde_json::to_writer(&mut out, &response).is_err() || out.flush().is_err() {
        return fail("cannot write the response");
    }
    0
}
