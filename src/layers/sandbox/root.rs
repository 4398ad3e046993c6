//! The inner stage's own root: a tmpfs over the host's empty work directory, the
//! read-only paths bound read-only in it, links recreated, a few devices, `/proc`, the work
//! directory, then `pivot_root` and a lazy unmount of the host's tree.

use std::path::{Path, PathBuf};

use super::spec::{Mode, Spec};

/// Gives the process backend a root of its own, as bubblewrap does: a small tmpfs holding
/// only the read-only paths (bind-mounted read-only, symbolic links recreated), a few
/// devices, a fresh `/proc` and the work directory (a tmpfs limited to `disk_mb` and
/// `max_files`), then `pivot_root` into it and the host's tree detached. Landlock governs
/// paths but not `connect()` on socket files; here the host's sockets do not exist.
/// Returns what could only be done weaker (a bind that stayed writable).
pub(super) fn private_root(spec: &Spec) -> Result<Vec<String>, String> {
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
pub(super) fn remount_read_only(source: &Path, target: &Path) -> Result<(), String> {
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
