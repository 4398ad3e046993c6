//! What the sandbox's stages are told ([`Spec`], carried in one environment variable) and
//! what the inner stage reports back ([`Report`]).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::config::SandboxLimits;

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

/// What the inner stage enforced, reported on the first line of stderr.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Report {
    pub enforced: Vec<String>,
    pub not_enforced: Vec<String>,
}
