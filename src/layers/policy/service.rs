//! [`Policy`]: the service [`PolicyLayer`](super::PolicyLayer) builds.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tower_service::Service;

use super::{Decision, PendingDecision, PolicyEngine};
use crate::future::ResponseFuture;
use crate::service::layer_names::POLICY;
use crate::service::{ToolCall, ToolResponse};
use crate::telemetry::span;

/// Checks every call against the policy; a refused call never reaches `inner`.
#[derive(Debug, Clone)]
pub struct Policy<S> {
    inner: S,
    engine: Arc<PolicyEngine>,
}

impl<S> Policy<S> {
    /// Checks the calls to `inner` with `engine`.
    pub fn new(inner: S, engine: Arc<PolicyEngine>) -> Self {
        Self { inner, engine }
    }

    inner_service_accessors!();
}

impl<S> Service<ToolCall> for Policy<S>
where
    S: Service<ToolCall, Response = ToolResponse> + Clone,
{
    type Response = ToolResponse;
    type Error = S::Error;
    type Future = PolicyFuture<S, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut call: ToolCall) -> Self::Future {
        let span = span::layer(POLICY);
        let state = match span.in_scope(|| self.engine.decide(&mut call)) {
            Decision::Allowed => {
                span::allowed(&span);
                State::Running {
                    future: ResponseFuture::inner(self.inner.call(call), Vec::new()),
                }
            }
            Decision::Refused(rejection) => {
                span::refused(&span, &rejection);
                State::Running {
                    future: ResponseFuture::ready(ToolResponse::rejected(rejection)),
                }
            }
            Decision::Pending(decision) => {
                // The service that was made ready goes with the call; this one keeps a clone.
                let clone = self.inner.clone();
                let ready = std::mem::replace(&mut self.inner, clone);
                State::Deciding {
                    decision,
                    then: Some((ready, call)),
                }
            }
        };
        PolicyFuture { state }
    }
}

pin_project! {
    /// Response future of [`Policy`]: the refusal, the inner service's answer, or, with a
    /// shared store, the store's decision and then the inner service's answer.
    #[must_use = "futures do nothing unless polled"]
    pub struct PolicyFuture<S, F> {
        #[pin]
        state: State<S, F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, F> {
        Deciding { #[pin] decision: PendingDecision, then: Option<(S, ToolCall)> },
        Running { #[pin] future: ResponseFuture<F> },
    }
}

impl<S> Future for PolicyFuture<S, S::Future>
where
    S: Service<ToolCall, Response = ToolResponse>,
{
    type Output = Result<ToolResponse, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Deciding { decision, then } => {
                    let verdict = std::task::ready!(decision.poll(cx));
                    let (mut service, call) =
                        then.take().expect("PolicyFuture polled after completion");
                    let future = match verdict {
                        Ok(()) => ResponseFuture::inner(service.call(call), Vec::new()),
                        Err(rejection) => ResponseFuture::ready(ToolResponse::rejected(rejection)),
                    };
                    state.set(State::Running { future });
                }
                StateProj::Running { future } => return future.poll(cx),
            }
        }
    }
}
