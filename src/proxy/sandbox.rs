//! `[proxy.sandbox]`: a stdio upstream started under the sandbox layer's Linux backends,
//! for as long as it runs.

use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize};

use crate::layers::sandbox::{BackendKind, SandboxConfig, SandboxLimits};
#[cfg(all(feature = "proxy", target_os = "linux"))]
use crate::layers::sandbox::{LinuxSandbox, Prepared, Reach, SandboxBackend as _};

/// `[proxy.sandbox]`: the upstream server in the sandbox (`[proxy] sandbox = true` for
/// these defaults).
///
/// ```toml
/// [proxy.sandbox]
/// backend = "process"                         # or "bwrap"
/// network = false                             # the default: no network at all
/// read_only_paths = ["/opt/mcp/server-filesystem", "/srv/docs"]
/// read_write_paths = ["/srv/scratch"]
/// memory_mb = 4096
/// ```
///
/// The upstream gets new user, PID, mount, IPC, UTS and (unless `network`) network
/// namespaces, a root of its own holding only the system's programs and libraries (the
/// `[sandbox]` layer's default read-only paths), `read_only_paths` and `read_write_paths`,
/// and a private work directory (a tmpfs of `disk_mb`: its current directory, `HOME` and
/// `TMPDIR`), Landlock, seccomp, an emptied capability bounding set, a pids cgroup and
/// these resource limits. Its CPU time and wall clock are not limited: it is a server.
/// When the backend cannot isolate on this host, the proxy does not start: there is no
/// fallback to the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ProxySandbox {
    /// `process` (namespaces, Landlock, seccomp, rlimits, done by agent-airlock) or `bwrap`.
    pub backend: BackendKind,
    /// The `bwrap` program for the bubblewrap backend.
    pub bwrap_path: PathBuf,
    /// Keep the host's network (default: none; the sandbox has no interface up, not even
    /// loopback). With it, `/etc/resolv.conf`, `/etc/hosts` and `/etc/nsswitch.conf` are
    /// readable too, for name resolution.
    pub network: bool,
    /// Paths the upstream may read and execute besides the system's programs and
    /// libraries: its own code (the npm package, the virtualenv) and the data it serves.
    pub read_only_paths: Vec<PathBuf>,
    /// Host directories the upstream may write (they must exist).
    pub read_write_paths: Vec<PathBuf>,
    /// Address space in MiB (`RLIMIT_AS`; Node needs about 1 GiB of it to start).
    pub memory_mb: u64,
    /// Processes and threads (the pids cgroup; `RLIMIT_NPROC` when none can be made).
    pub max_processes: u64,
    /// Open files (`RLIMIT_NOFILE`).
    pub max_open_files: u64,
    /// Largest file it may write, in MiB (`RLIMIT_FSIZE`).
    pub max_file_mb: u64,
    /// Size of the private work directory, in MiB (a tmpfs: RAM, not the host's disk).
    pub disk_mb: u64,
    /// Most files in the work directory (the process backend).
    pub max_files: u64,
}

impl Default for ProxySandbox {
    fn default() -> Self {
        Self {
            backend: BackendKind::Process,
            bwrap_path: PathBuf::from("bwrap"),
            network: false,
            read_only_paths: Vec::new(),
            read_write_paths: Vec::new(),
            memory_mb: 4096,
            max_processes: 128,
            max_open_files: 1024,
            max_file_mb: 64,
            disk_mb: 64,
            max_files: 4096,
        }
    }
}

/// Files name resolution reads, added when the upstream may use the network.
const RESOLVER_FILES: [&str; 4] = [
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/gai.conf",
];

impl ProxySandbox {
    /// The sandbox layer's configuration this describes.
    pub fn sandbox_config(&self) -> SandboxConfig {
        let mut config = SandboxConfig {
            backend: self.backend,
            bwrap_path: self.bwrap_path.clone(),
            allow_env: Vec::new(),
            ..SandboxConfig::default()
        };
        config
            .read_only_paths
            .extend(self.read_only_paths.iter().cloned());
        if self.network {
            config
                .read_only_paths
                .extend(RESOLVER_FILES.iter().map(PathBuf::from));
        }
        config.limits = SandboxLimits {
            // A server runs as long as it is used: only the lease ends it.
            wall_time_secs: u64::MAX,
            cpu_secs: u64::MAX,
            memory_mb: self.memory_mb,
            max_processes: self.max_processes,
            max_open_files: self.max_open_files,
            max_file_mb: self.max_file_mb,
            disk_mb: self.disk_mb,
            max_files: self.max_files,
            ..SandboxLimits::default()
        };
        config
    }

    /// What it may reach beyond a call's command.
    #[cfg(all(feature = "proxy", target_os = "linux"))]
    pub(crate) fn reach(&self) -> Reach {
        Reach::none()
            .network(self.network)
            .read_write(self.read_write_paths.clone())
    }

    /// Checks the paths.
    pub fn validate(&self) -> Result<(), super::error::ProxyError> {
        for (what, paths) in [
            ("read_only_paths", &self.read_only_paths),
            ("read_write_paths", &self.read_write_paths),
        ] {
            if let Some(bad) = paths.iter().find(|p| !p.is_absolute()) {
                return Err(super::error::ProxyError::Config(format!(
                    "proxy.sandbox.{what}: {} is not an absolute path",
                    bad.display()
                )));
            }
        }
        if self.memory_mb == 0 || self.max_processes == 0 || self.max_open_files == 0 {
            return Err(super::error::ProxyError::Config(
                "proxy.sandbox: memory_mb, max_processes and max_open_files must be above 0".into(),
            ));
        }
        Ok(())
    }
}

/// The backend, once it proved it can isolate on this host (a real run).
#[cfg(all(feature = "proxy", target_os = "linux"))]
pub(crate) fn backend(settings: &ProxySandbox) -> Result<UpstreamSandbox, String> {
    settings.validate().map_err(|e| e.to_string())?;
    let sandbox = LinuxSandbox::from_config(&settings.sandbox_config())
        .map_err(|e| format!("the sandbox cannot be set up: {e}"))?;
    sandbox.check_available().map_err(|why| {
        format!(
            "the sandbox ({} backend) cannot isolate on this host: {why}; the upstream was \
             not started",
            settings.backend
        )
    })?;
    Ok(UpstreamSandbox {
        sandbox,
        reach: settings.reach(),
    })
}

/// A proven backend and what the upstream may reach.
#[cfg(all(feature = "proxy", target_os = "linux"))]
#[derive(Debug)]
pub(crate) struct UpstreamSandbox {
    sandbox: LinuxSandbox,
    reach: Reach,
}

#[cfg(all(feature = "proxy", target_os = "linux"))]
impl UpstreamSandbox {
    /// `argv` with `env`, ready to spawn in the sandbox.
    pub(crate) fn prepare(
        &self,
        argv: Vec<String>,
        env: Vec<(String, String)>,
    ) -> std::io::Result<Prepared> {
        self.sandbox.prepare(argv, env, self.reach.clone())
    }
}

/// `[proxy] sandbox = true | false`, or a `[proxy.sandbox]` table.
pub(crate) fn deserialize_setting<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<ProxySandbox>, D::Error> {
    struct Setting;
    impl<'de> serde::de::Visitor<'de> for Setting {
        type Value = Option<ProxySandbox>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("true, false or a [proxy.sandbox] table")
        }

        fn visit_bool<E: serde::de::Error>(self, on: bool) -> Result<Self::Value, E> {
            Ok(on.then(ProxySandbox::default))
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(Setting)
        }

        fn visit_map<M: serde::de::MapAccess<'de>>(self, map: M) -> Result<Self::Value, M::Error> {
            ProxySandbox::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Some)
        }
    }
    deserializer.deserialize_any(Setting)
}
