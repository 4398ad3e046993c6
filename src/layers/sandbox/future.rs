//! [`SandboxFuture`]: the call answered in-process or by the sandboxed run, and how a run
//! becomes the tool's response.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio::sync::oneshot;

use super::backend::{Exit, RunOutcome};
use crate::future::ResponseFuture;
use crate::service::layer_names::SANDBOX;
use crate::service::{Note, ToolResponse};
use crate::telemetry::span;

fn note(backend: &str, outcome: &str, enforced: Vec<String>, not_enforced: Vec<String>) -> Note {
    Note::Sandboxed {
        layer: Cow::Borrowed(SANDBOX),
        backend: backend.to_owned(),
        outcome: outcome.to_owned(),
        enforced,
        not_enforced,
    }
}

pub(super) fn failure(
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
                    // Everything from inside is untrusted: the output and any refusal pass
                    // the sanitizer outside like any response, and notes are what layers
                    // say, never what a sandboxed process claims.
                    r.notes.clear();
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
        execution: Execution<F>,
    }
}

pin_project! {
    #[project = ExecutionProj]
    enum Execution<F> {
        Local { #[pin] future: ResponseFuture<F> },
        Remote { rx: oneshot::Receiver<RunOutcome>, backend: String, command: bool, span: tracing::Span },
    }
}

impl<F> SandboxFuture<F> {
    pub(super) fn local(future: ResponseFuture<F>) -> Self {
        Self {
            execution: Execution::Local { future },
        }
    }

    /// The run `rx` will report, timed by `span` (the layer's span, from the start of the
    /// run to its answer).
    pub(super) fn remote(
        rx: oneshot::Receiver<RunOutcome>,
        backend: String,
        command: bool,
        span: tracing::Span,
    ) -> Self {
        Self {
            execution: Execution::Remote {
                rx,
                backend,
                command,
                span,
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
        match self.project().execution.project() {
            ExecutionProj::Local { future } => future.poll(cx),
            ExecutionProj::Remote {
                rx,
                backend,
                command,
                span,
            } => {
                let run = std::task::ready!(Pin::new(rx).poll(cx));
                let answer = match run {
                    Ok(run) => response(backend, run, *command),
                    Err(_) => failure(
                        backend,
                        "setup_failed",
                        "the sandbox supervisor stopped".into(),
                        Vec::new(),
                        Vec::new(),
                    ),
                };
                span.in_scope(|| span::sandboxed(&answer));
                span::allowed(span);
                Poll::Ready(Ok(answer))
            }
        }
    }
}
