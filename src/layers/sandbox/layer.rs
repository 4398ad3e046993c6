//! [`SandboxLayer`]: the backend, the sandboxed tools and the cached probe a stack shares.

use std::sync::{Arc, OnceLock};

use globset::{Glob, GlobSetBuilder};
use tower_layer::Layer;

use super::backend::{LinuxSandbox, SandboxBackend};
use super::config::SandboxConfig;
use super::error::SandboxError;
use super::service::{Sandbox, Shared};

/// Sends the calls of chosen tools to a [`SandboxBackend`]; see the [module docs](super).
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct SandboxLayer {
    shared: Arc<Shared>,
}

impl SandboxLayer {
    /// From `[sandbox]`, with the backend it names.
    pub fn from_config(config: &SandboxConfig) -> Result<Self, SandboxError> {
        let backend = LinuxSandbox::from_config(config)
            .map_err(|e| SandboxError::Config(format!("cannot find the worker program: {e}")))?;
        Self::with_backend(config, Arc::new(backend))
    }

    /// From `[sandbox]`, with `backend` (yours, or a configured [`LinuxSandbox`]).
    pub fn with_backend(
        config: &SandboxConfig,
        backend: Arc<dyn SandboxBackend>,
    ) -> Result<Self, SandboxError> {
        let mut set = GlobSetBuilder::new();
        for pattern in config.tools.iter().chain(config.commands.keys()) {
            set.add(Glob::new(pattern).map_err(|e| {
                SandboxError::Config(format!("sandbox.tools: bad glob `{pattern}`: {e}"))
            })?);
        }
        for (tool, argv) in &config.commands {
            if argv.is_empty() {
                return Err(SandboxError::Config(format!(
                    "sandbox.commands.{tool}: the command is empty"
                )));
            }
        }
        Ok(Self {
            shared: Arc::new(Shared {
                backend,
                tools: set
                    .build()
                    .map_err(|e| SandboxError::Config(e.to_string()))?,
                config: config.clone(),
                available: OnceLock::new(),
            }),
        })
    }

    /// Whether the backend can isolate on this host (checked once, by a real run).
    pub fn availability(&self) -> Result<(), SandboxError> {
        self.shared.availability().clone()
    }
}

impl<S> Layer<S> for SandboxLayer {
    type Service = Sandbox<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Sandbox::new(inner, self.shared.clone())
    }
}
