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
use std::process::Command;

use super::confine::{drop_capability_bounding_set, landlock_rules, rlimits, seccomp};
use super::root::private_root;
use super::spec::{Mode, REPORT_MARKER, Report, SETUP_FAILED, SPEC_ENV, Spec, Stage, WireCall};
use crate::router::ToolRouter;
use crate::service::{ToolCall, ToolResponse};

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
