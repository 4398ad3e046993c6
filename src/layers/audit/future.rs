//! [`AuditFuture`]: the call in flight, recorded when it ends however it ends.

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use pin_project_lite::pin_project;
use tokio::sync::OwnedSemaphorePermit;

use super::wire::{CallCapture, Ending, with_frame};
use super::writer::Handle;
use crate::service::{ToolResponse, VerifiedAgent};

/// What a call in flight will record.
#[derive(Debug)]
pub(super) struct Pending {
    pub(super) handle: Arc<Handle>,
    pub(super) permit: OwnedSemaphorePermit,
    pub(super) start: Instant,
    pub(super) ts: jiff::Timestamp,
    pub(super) head: CallCapture,
    pub(super) verified: bool,
    pub(super) slot: Option<VerifiedAgent>,
}

impl Pending {
    fn finish(self, ending: Ending<'_>) {
        // A verified agent (written by a policy layer inside) replaces the claimed one.
        let (agent, verified) = match self.slot.as_ref().and_then(VerifiedAgent::get) {
            Some(agent) => (Some(agent), true),
            None => (self.head.claimed_agent(), self.verified),
        };
        let shared = &self.handle.shared;
        let permit = self.permit;
        with_frame(
            self.ts,
            self.start.elapsed(),
            &self.head,
            verified,
            agent,
            ending,
            |frame| shared.push(frame, permit),
        );
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Running { #[pin] future: F },
        Refused { response: Option<ToolResponse> },
    }
}

pin_project! {
    /// Response future of [`Audit`]. Dropped before it completes, it records the call as
    /// `cancelled`.
    #[must_use = "futures do nothing unless polled"]
    pub struct AuditFuture<F> {
        #[pin]
        state: State<F>,
        pending: Option<Pending>,
    }

    impl<F> PinnedDrop for AuditFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(pending) = this.project().pending.take() {
                pending.finish(Ending::Cancelled);
            }
        }
    }
}

impl<F> AuditFuture<F> {
    pub(super) fn running(future: F, pending: Pending) -> Self {
        Self {
            state: State::Running { future },
            pending: Some(pending),
        }
    }

    pub(super) fn refused(response: ToolResponse) -> Self {
        Self {
            state: State::Refused {
                response: Some(response),
            },
            pending: None,
        }
    }
}

impl<F, E> Future for AuditFuture<F>
where
    F: Future<Output = Result<ToolResponse, E>>,
    E: Display,
{
    type Output = Result<ToolResponse, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match this.state.project() {
            StateProj::Refused { response } => {
                Poll::Ready(Ok(response.take().expect("polled after completion")))
            }
            StateProj::Running { future } => {
                let result = std::task::ready!(future.poll(cx));
                if let Some(pending) = this.pending.take() {
                    match &result {
                        Ok(response) => {
                            let keep_output = pending.handle.keep_output;
                            pending.finish(Ending::Response {
                                response,
                                keep_output,
                            })
                        }
                        Err(e) => pending.finish(Ending::Error(&e.to_string())),
                    }
                }
                Poll::Ready(result)
            }
        }
    }
}
