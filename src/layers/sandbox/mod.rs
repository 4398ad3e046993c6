//! Runs chosen tools in real isolation, and fails closed.
//!
//! Some tools run code an LLM wrote. [`SandboxLayer`] sends the calls of the tools its
//! `tools` globs name to a [`SandboxBackend`]; other calls pass through to the inner
//! service. Only data crosses the boundary: the call goes in as JSON on stdin, the
//! `ToolResponse` comes back as JSON, and is treated as untrusted (notes from inside are
//! dropped; the output passes the sanitizer outside like any other).
//!
//! - **Rust tools** run in the *worker*: your own program, re-executed. Call [`enter`]
//!   first thing in `main`; in a worker process it builds your tools, answers the one call
//!   and exits, and in the normal run it returns at once.
//! - **Command tools** (`[sandbox.commands]`, e.g. `python3 run.py`) are executed inside
//!   the sandbox with the same protocol.
//!
//! The Linux backends ([`LinuxSandbox`]) give each call new user, PID, network, mount, IPC
//! and UTS namespaces and a file tree of its own (`process`: set up by the worker itself,
//! `pivot_root` into a tmpfs holding only the read-only paths, bind-mounted read-only;
//! `bwrap`: bubblewrap's mount view of the same paths), with the work directory a
//! size-limited tmpfs (`disk_mb`, and `max_files` on `process`). Inside: Landlock
//! (read-only paths, read-write only the work directory; abstract sockets and signals
//! scoped), resource limits (address space, CPU seconds, open files, processes, file size,
//! no core dumps), a pids cgroup when one can be made, an emptied capability bounding set,
//! and a seccomp filter against `ptrace`, `mount`, `bpf`, `io_uring`, `keyctl`, `kexec_*`,
//! module loading, namespace creation, foreign syscall ABIs and other escape routes. A
//! Rust tool answers on a private channel nothing it starts can reach. The environment is
//! scrubbed to `allow_env`; stdout and stderr are capped; a wall-clock deadline kills the
//! whole process tree. Each response carries a [`Note::Sandboxed`](crate::Note::Sandboxed)
//! saying what was enforced on this kernel.
//!
//! **Fails closed**: with `required = true` (the default), a host where the backend cannot
//! isolate (no user namespaces, no `bwrap`, a worker that does not call [`enter`]) gets
//! `sandbox_unavailable` and the tool never runs. With `required = false` the call runs
//! in-process and the response carries [`Note::Unsandboxed`](crate::Note::Unsandboxed). A
//! worker that crashes, times out or breaks a limit gives an error response with the
//! outcome in its note, never a hung or crashed server.
//!
//! ```no_run
//! # #[cfg(all(feature = "sandbox", target_os = "linux"))]
//! # mod example {
//! use std::sync::Arc;
//! use agent_airlock::layers::sandbox::{SandboxConfig, SandboxLayer, enter};
//! use agent_airlock::{ToolCall, ToolRouter};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! fn tools() -> ToolRouter {
//!     ToolRouter::builder()
//!         .raw_tool("run_code", "Run code", serde_json::json!({"type": "object"}),
//!             |args| async move { Ok::<_, std::convert::Infallible>(args) })
//!         .build()
//!         .expect("tools")
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     enter(tools); // a sandbox worker never gets past this line
//!     let mut config = SandboxConfig::default();
//!     config.tools = vec!["run_*".into()];
//!     let svc = ServiceBuilder::new()
//!         .layer(SandboxLayer::from_config(&config)?)
//!         .service(tools());
//!     let response = svc.oneshot(ToolCall::new("run_code", serde_json::json!({}))).await?;
//!     println!("{:?}", response.notes);
//!     Ok(())
//! }
//! # }
//! # fn main() {}
//! ```

#[cfg(all(feature = "sandbox", target_os = "linux"))]
mod backend;
#[cfg(all(feature = "sandbox", target_os = "linux"))]
mod cgroup;
mod config;
#[cfg(all(feature = "sandbox", target_os = "linux"))]
mod confine;
#[cfg(all(feature = "sandbox", target_os = "linux"))]
mod error;
#[cfg(all(feature = "sandbox", target_os = "linux"))]
mod future;
#[cfg(all(feature = "sandbox", target_os = "linux"))]
mod layer;
#[cfg(all(feature = "sandbox", target_os = "linux"))]
#[cfg(all(feature = "proxy", target_os = "linux"))]
mod prepare;
#[cfg(all(feature = "sandbox", target_os = "linux"))]
mod root;
#[cfg(all(feature = "sandbox", target_os = "linux"))]
mod service;
#[cfg(all(feature = "sandbox", target_os = "linux"))]
mod spec;
#[cfg(all(feature = "sandbox", target_os = "linux"))]
mod stage;

#[cfg(all(feature = "sandbox", target_os = "linux"))]
pub use backend::{Exit, Job, JobKind, LinuxSandbox, RunOutcome, SandboxBackend};
// What the proxy uses to run its upstream in the sandbox.
#[cfg(all(feature = "proxy", target_os = "linux"))]
pub(crate) use backend::Reach;
pub use config::{BackendKind, SandboxConfig, SandboxLimits};
#[cfg(all(feature = "sandbox", target_os = "linux"))]
pub use error::SandboxError;
#[cfg(all(feature = "sandbox", target_os = "linux"))]
pub use future::SandboxFuture;
#[cfg(all(feature = "sandbox", target_os = "linux"))]
pub use layer::SandboxLayer;
#[cfg(all(feature = "proxy", target_os = "linux"))]
pub(crate) use prepare::{Lease, Prepared, Report};
#[cfg(all(feature = "sandbox", target_os = "linux"))]
pub use service::Sandbox;
#[cfg(all(feature = "sandbox", target_os = "linux"))]
pub use stage::{enter, enter_without_tools};
