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
    let flags = CloneFlags::CLONE_NEWUSER
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWNET
        | CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWUTS;
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
        report
            .enforced
            .push("namespaces: user, pid, net (no interfaces up), mount, ipc, uts".into());
        match nix::unistd::sethostname("airlock-sandbox") {
            Ok(()) => {}
            Err(e) => report.not_enforced.push(format!("hostname: {e}")),
        }
        match mount_proc() {
            Ok(()) => report
                .enforced
                .push("/proc of the new PID namespace".into()),
            Err(e) => report.not_enforced.push(format!(
                "fresh /proc: {e} (the host's is denied by Landlock)"
            )),
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
    match seccomp() {
        Ok(()) => report.enforced.push(
            "seccomp: ptrace, mount, bpf, keyctl, kexec, modules, namespaces, reboot, … denied"
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

fn mount_proc() -> Result<(), String> {
    use nix::mount::{MsFlags, mount};
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| e.to_string())?;
    mount(
        Some("proc"),
        "/proc",
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(|e| e.to_string())
}

fn landlock_rules(spec: &Spec) -> Result<String, String> {
    use landlock::{
        ABI, Access, AccessFs, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus,
        path_beneath_rules,
    };
    let abi = ABI::V5;
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
        .restrict_self()
        .map_err(|e| e.to_string())?;
    match status.ruleset {
        RulesetStatus::FullyEnforced => Ok(format!(
            "landlock: read-only {} path(s), read-write only the work directory",
            read_paths.len()
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
    Ok(format!(
        "rlimits: address space {} MiB, cpu {} s, {} open files, {} processes (per uid), files up to {} MiB, no core dumps",
        limits.memory_mb,
        limits.cpu_secs,
        limits.max_open_files,
        limits.max_processes,
        limits.max_file_mb
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
    seccompiler::apply_filter(&clone3).map_err(|e| err(&e))?;
    seccompiler::apply_filter(&deny).map_err(|e| err(&e))
}

/// The worker: read one call, run the tool, write the response.
fn run_worker(tools: Tools<'_>) -> i32 {
    let Some(tools) = tools else {
        return fail("this program has no tools to run");
    };
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
    let mut out = std::io::stdout().lock();
    if serde_json::to_writer(&mut out, &response).is_err() || out.flush().is_err() {
        return fail("cannot write the response");
    }
    0
}
