//! [`Sandbox`]: the service [`SandboxLayer`](super::SandboxLayer) builds.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use tokio::sync::oneshot;
use tower_service::Service;

use super::backend::Job;
use super::backend::SandboxBackend;
use super::config::SandboxConfig;
use super::error::SandboxError;
use super::future::{SandboxFuture, failure};
use super::spec::WireCall;
use crate::future::ResponseFuture;
use crate::service::layer_names::SANDBOX;
use crate::service::{Note, Rejection, ToolCall, ToolResponse};
use crate::telemetry::span;
use globset::GlobSet;

/// Sends the calls of the sandboxed tools to the backend; passes the others to `inner`.
#[derive(Debug, Clone)]
pub struct Sandbox<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> Sandbox<S> {
    pub(super) fn new(inner: S, shared: Arc<Shared>) -> Self {
        Self { inner, shared }
    }

    inner_service_accessors!();
}

impl<S> Service<ToolCall> for Sandbox<S>
where
    S: Service<ToolCall, Response = ToolResponse>,
{
    type Response = ToolResponse;
    type Error = S::Error;
    type Future = SandboxFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, call: ToolCall) -> Self::Future {
        if !self.shared.tools.is_match(&call.tool) {
            return SandboxFuture::local(ResponseFuture::inner(self.inner.call(call), Vec::new()));
        }
        // The first sandboxed call pays for the probe; later ones read the cached answer.
        if let Err(reason) = self.shared.availability() {
            if self.shared.config.required {
                tracing::warn!(tool = %call.tool, %reason, "refused a call that requires the sandbox");
                return SandboxFuture::local(ResponseFuture::ready(ToolResponse::rejected(
                    Rejection::sandbox_unavailable(SANDBOX),
                )));
            }
            tracing::warn!(tool = %call.tool, %reason, "ran a call in-process: no sandbox available and none required");
            let note = Note::Unsandboxed {
                layer: Cow::Borrowed(SANDBOX),
                reason: reason.to_string(),
            };
            return SandboxFuture::local(ResponseFuture::inner(self.inner.call(call), vec![note]));
        }
        let (job, command) = match self.shared.config.commands.get(&call.tool) {
            Some(argv) => (Job::command(argv.clone(), wire(&call)), true),
            None => (Job::worker(wire(&call)), false),
        };
        let (tx, rx) = oneshot::channel();
        let backend = self.shared.backend.clone();
        let spawned = std::thread::Builder::new()
            .name("airlock-sandbox".into())
            .spawn(move || {
                let _ = tx.send(backend.run(job));
            });
        match spawned {
            Ok(_) => SandboxFuture::remote(
                rx,
                self.shared.backend.name().to_owned(),
                command,
                span::layer(SANDBOX),
            ),
            Err(e) => SandboxFuture::local(ResponseFuture::ready(failure(
                self.shared.backend.name(),
                "setup_failed",
                format!("the sandbox could not start: {e}"),
                Vec::new(),
                Vec::new(),
            ))),
        }
    }
}

fn wire(call: &ToolCall) -> Vec<u8> {
    serde_json::to_vec(&WireCall {
        id: call.id.clone(),
        tool: call.tool.clone(),
        arguments: call.arguments.clone(),
    })
    .expect("a call serializes")
}

/// What the services of one layer share.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) backend: Arc<dyn SandboxBackend>,
    pub(super) tools: GlobSet,
    pub(super) config: SandboxConfig,
    pub(super) available: OnceLock<Result<(), SandboxError>>,
}

impl Shared {
    pub(super) fn availability(&self) -> &Result<(), SandboxError> {
        self.available.get_or_init(|| {
            let result = self.backend.check_available();
            if let Err(why) = &result {
                tracing::error!(backend = self.backend.name(), %why, "the sandbox cannot isolate on this host");
            }
            result
        })
    }
}
