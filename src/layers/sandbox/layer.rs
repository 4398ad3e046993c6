use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use globset::{Glob, GlobSet, GlobSetBuilder};
use pin_project_lite::pin_project;
use tokio::sync::oneshot;
use tower_layer::Layer;
use tower_service::Service;

use super::SandboxError;
use super::backend::{Exit, Job, LinuxSandbox, RunOutcome, SandboxBackend};
use super::config::SandboxConfig;
use super::stage::WireCall;
use crate::future::ResponseFuture;
use crate::service::layer_names::SANDBOX;
use crate::service::{Note, Rejection, ToolCall, ToolResponse};

/// Sends the calls of chosen tools to a [`SandboxBackend`]; see the [module docs](super).
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct SandboxLayer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    backend: Arc<dyn SandboxBackend>,
    tools: GlobSet,
    config: SandboxConfig,
    available: OnceLock<Result<(), String>>,
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
    pub fn availability(&self) -> Result<(), String> {
        self.shared.availability().clone()
    }
}

impl Shared {
    fn availability(&self) -> &Result<(), String> {
        self.available.get_or_init(|| {
            let result = self.backend.check_available();
            if let Err(why) = &result {
                tracing::error!(backend = self.backend.name(), %why, "the sandbox cannot isolate on this host");
            }
            result
        })
    }
}

impl<S> Layer<S> for SandboxLayer {
    type Service = Sandbox<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Sandbox {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service [`SandboxLayer`] builds.
#[derive(Debug, Clone)]
pub struct Sandbox<S> {
    inner: S,
    shared: Arc<Shared>,
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
                reason: reason.clone(),
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
            Ok(_) => SandboxFuture::remote(rx, self.shared.backend.name().to_owned(), command),
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

fn note(backend: &str, outcome: &str, enforced: Vec<String>, not_enforced: Vec<String>) -> Note {
    Note::Sandboxed {
        layer: Cow::Borrowed(SANDBOX),
        backend: backend.to_owned(),
        outcome: outcome.to_owned(),
        enforced,
        not_enforced,
    }
}

fn failure(
    backend: &str,
    outcome: &str,
    message: String,
    enforced: Vec<String>,
    not_enforced: Vec<String>,
) -> ToolResponse {
    ToolResponse::error(message).with_note(note(backend, outcome, enforced, not_enforced))
}

/// Turns a run into the tool's response. A worker must answer with a `ToolResponse` JSON
/// object; a command may, or else its stdout is its text output.
fn response(backend: &str, run: RunOutcome, command: bool) -> ToolResponse {
    let tail = |bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes);
        let text = text.trim();
        let start = text.char_indices().rev().nth(400).map_or(0, |(i, _)| i);
        text[start..].to_owned()
    };
    let secs = run.elapsed.as_secs_f64();
    let (outcome, message) = match &run.exit {
        Exit::Code(0) => {
            return match serde_json::from_slice::<ToolResponse>(&run.stdout) {
                Ok(mut r) if !run.stdout_truncated => {
                    r.notes
                        .push(note(backend, "completed", run.enforced, run.not_enforced));
                    r
                }
                _ if command => {
                    let mut text = String::from_utf8_lossy(&run.stdout).into_owned();
                    if run.stdout_truncated {
                        text.push_str("\n[… output cut at the sandbox's stdout limit]");
                    }
                    ToolResponse::text(text).with_note(note(
                        backend,
                        "completed",
                        run.enforced,
                        run.not_enforced,
                    ))
                }
                _ => failure(
                    backend,
                    "bad_response",
                    "the sandboxed tool finished without a valid response on stdout".into(),
                    run.enforced,
                    run.not_enforced,
                ),
            };
        }
        Exit::Code(code) => (
            "exited",
            format!(
                "the sandboxed tool failed with exit status {code}: {}",
                tail(&run.stderr)
            ),
        ),
        Exit::Signal(sig) => (
            "killed",
            format!(
                "the sandboxed tool was killed by signal {sig} after {secs:.1} s (a crash, or a CPU or memory limit): {}",
                tail(&run.stderr)
            ),
        ),
        Exit::TimedOut => (
            "timed_out",
            format!(
                "the sandboxed tool ran past its time limit ({secs:.1} s) and was killed with everything it started"
            ),
        ),
        Exit::SetupFailed(why) => {
            tracing::error!(%why, "the sandbox failed to set up");
            (
                "setup_failed",
                "the sandbox could not be set up; the tool did not run".to_owned(),
            )
        }
    };
    failure(backend, outcome, message, run.enforced, run.not_enforced)
}

pin_project! {
    /// Response future of [`Sandbox`].
    #[must_use = "futures do nothing unless polled"]
    pub struct SandboxFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Local { #[pin] future: ResponseFuture<F> },
        Remote { rx: oneshot::Receiver<RunOutcome>, backend: String, command: bool },
    }
}

impl<F> SandboxFuture<F> {
    fn local(future: ResponseFuture<F>) -> Self {
        Self {
            kind: Kind::Local { future },
        }
    }

    fn remote(rx: oneshot::Receiver<RunOutcome>, backend: String, command: bool) -> Self {
        Self {
            kind: Kind::Remote {
                rx,
                backend,
                command,
            },
        }
    }
}

impl<F, E> Future for SandboxFuture<F>
where
    F: Future<Output = Result<ToolResponse, E>>,
{
    type Output = Result<ToolResponse, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Local { future } => future.poll(cx),
            KindProj::Remote {
                rx,
                backend,
                command,
            } => {
                let run = std::task::ready!(Pin::new(rx).poll(cx));
                Poll::Ready(Ok(match run {
                    Ok(run) => response(backend, run, *command),
                    Err(_) => failure(
                        backend,
                        "setup_failed",
                        "the sandbox supervisor stopped".into(),
                        Vec::new(),
                        Vec::new(),
                    ),
                }))
            }
        }
    }
}
