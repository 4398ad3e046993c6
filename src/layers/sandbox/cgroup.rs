//! The per-run pids cgroup (cgroup v2, under the process's own cgroup): made for a run,
//! removed after it (retried while the kernel still holds it), and swept when stale.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Removes the pids cgroup of a finished run: at once when its processes are gone, else on
/// a thread of its own.
pub(super) fn release_cgroup(cg: PathBuf) {
    // The namespace dies with its first process, but its last processes may take a moment
    // to go: one try here, then off the caller's path. A program about to exit waits for
    // those (`wait_for_cleanup`); one that dies first leaves them to the next start's
    // sweep.
    if !try_remove_cgroup(&cg, 1) {
        CLEANUPS.begin();
        let spawned = std::thread::Builder::new()
            .name("airlock-sandbox-cleanup".into())
            .spawn(move || {
                remove_cgroup(&cg);
                CLEANUPS.end();
            });
        if spawned.is_err() {
            CLEANUPS.end();
        }
    }
}

/// A pids cgroup (v2, or v1's pids hierarchy) limited to `max` processes, when this
/// process may make one.
pub(super) fn pids_cgroup(max: u64) -> Result<PathBuf, String> {
    let candidates = [
        PathBuf::from("/sys/fs/cgroup/pids"),
        own_cgroup_v2().unwrap_or_else(|| PathBuf::from("/sys/fs/cgroup")),
    ];
    let mut last = "no pids controller found".to_owned();
    for base in candidates {
        let v2 = base.join("cgroup.controllers").exists();
        if v2 {
            let controllers =
                std::fs::read_to_string(base.join("cgroup.subtree_control")).unwrap_or_default();
            if !controllers.split_whitespace().any(|c| c == "pids") {
                last = format!("pids not delegated to {}", base.display());
                continue;
            }
        } else if !base.join("pids.max").exists() && !base.join("cgroup.procs").exists() {
            continue;
        }
        let dir = base.join(unique_name());
        match std::fs::create_dir(&dir) {
            Ok(()) => match std::fs::write(dir.join("pids.max"), max.to_string()) {
                Ok(()) => return Ok(dir),
                Err(e) => {
                    let _ = std::fs::remove_dir(&dir);
                    last = format!("cannot set pids.max: {e}");
                }
            },
            Err(e) => last = format!("cannot create a cgroup in {}: {e}", base.display()),
        }
    }
    Err(last)
}

pub(super) fn own_cgroup_v2() -> Option<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let rel = text.lines().find_map(|l| l.strip_prefix("0::"))?;
    Some(Path::new("/sys/fs/cgroup").join(rel.trim_start_matches('/')))
}

/// Cgroup removals still under way on their own threads.
pub(super) struct Cleanups {
    pub(super) pending: std::sync::Mutex<usize>,
    pub(super) done: std::sync::Condvar,
}

pub(super) static CLEANUPS: Cleanups = Cleanups {
    pending: std::sync::Mutex::new(0),
    done: std::sync::Condvar::new(),
};

impl Cleanups {
    pub(super) fn begin(&self) {
        *self.pending.lock().unwrap_or_else(|e| e.into_inner()) += 1;
    }

    pub(super) fn end(&self) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        *pending = pending.saturating_sub(1);
        self.done.notify_all();
    }
}

/// Tries to remove `dir` up to `attempts` times, a millisecond apart.
pub(super) fn try_remove_cgroup(dir: &Path, attempts: u32) -> bool {
    for attempt in 0..attempts {
        if std::fs::remove_dir(dir).is_ok() || !dir.exists() {
            return true;
        }
        if attempt + 1 < attempts {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    false
}

pub(super) fn remove_cgroup(dir: &Path) {
    // The namespace's processes die with its first process; give the kernel a moment.
    for _ in 0..100 {
        if try_remove_cgroup(dir, 1) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    tracing::warn!(cgroup = %dir.display(), "could not remove a sandbox cgroup");
}

/// Removes the cgroups that sandboxes of programs no longer running left behind
/// (`airlock-sandbox-<pid>-<n>` whose process is gone, and which are empty).
pub(crate) fn sweep_stale_cgroups() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let bases = [
            PathBuf::from("/sys/fs/cgroup/pids"),
            own_cgroup_v2().unwrap_or_else(|| PathBuf::from("/sys/fs/cgroup")),
        ];
        for base in bases {
            let Ok(entries) = std::fs::read_dir(&base) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(pid) = name
                    .to_str()
                    .and_then(|n| n.strip_prefix("airlock-sandbox-"))
                    .and_then(|rest| rest.split('-').next())
                    .and_then(|pid| pid.parse::<u32>().ok())
                else {
                    continue;
                };
                if pid != std::process::id() && !Path::new("/proc").join(pid.to_string()).exists() {
                    let _ = std::fs::remove_dir(entry.path());
                }
            }
        }
    });
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

pub(super) fn unique_name() -> String {
    format!(
        "airlock-sandbox-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
