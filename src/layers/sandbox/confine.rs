//! What the inner stage restricts before any tool code runs: Landlock rules, rlimits,
//! seccomp (and the architecture filter), an emptied capability bounding set.

use std::path::{Path, PathBuf};

use super::config::SandboxLimits;

use super::spec::{Mode, Spec};

pub(super) fn landlock_rules(spec: &Spec) -> Result<String, String> {
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

pub(super) fn rlimits(limits: &SandboxLimits) -> Result<String, String> {
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
pub(super) fn denied_syscalls() -> Vec<(&'static str, i64)> {
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
pub(super) fn seccomp() -> Result<(), String> {
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
pub(super) fn architecture_filter() -> Result<seccompiler::BpfProgram, String> {
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
pub(super) fn drop_capability_bounding_set() -> Result<(), String> {
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
