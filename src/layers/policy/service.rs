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

    fn call(&mut self, call: ToolCall) -> Self::Future {
        if let Some(prepare) = self.engine.prepare(&call.caller) {
            // The verifier fetches keys first (an authorization server's new key); the
            // service that was made ready waits with the call.
            let clone = self.inner.clone();
            let ready = std::mem::replace(&mut self.inner, clone);
            return PolicyFuture {
                state: State::Preparing {
                    prepare,
                    engine: self.engine.clone(),
                    then: Some((ready, call)),
                },
            };
        }
        PolicyFuture {
            state: begin(&self.engine, &mut self.inner, call),
        }
    }
}

/// Decides `call` and starts what follows: the inner service, the refusal, or the wait for
/// a shared store's decision (which takes `inner`, made ready, with it).
fn begin<S>(engine: &PolicyEngine, inner: &mut S, mut call: ToolCall) -> State<S, S::Future>
where
    S: Service<ToolCall, Response = ToolResponse> + Clone,
{
    let span = span::layer(POLICY);
    match span.in_scope(|| engine.decide(&mut call)) {
        Decision::Allowed => {
            span::allowed(&span);
            State::Running {
                future: ResponseFuture::inner(inner.call(call), Vec::new()),
            }
        }
        Decision::Refused(rejection) => {
            span::refused(&span, &rejection);
            State::Running {
                future: ResponseFuture::ready(ToolResponse::rejected(rejection)),
            }
        }
        Decision::Pending(decision) => {
            let clone = inner.clone();
            let ready = std::mem::replace(inner, clone);
            State::Deciding {
                decision,
                then: Some((ready, call)),
            }
        }
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
        Preparing {
            prepare: Pin<Box<dyn Future<Output = ()> + Send>>,
            engine: Arc<PolicyEngine>,
            then: Option<(S, ToolCall)>,
        },
        Deciding { #[pin] decision: PendingDecision, then: Option<(S, ToolCall)> },
        Running { #[pin] future: ResponseFuture<F> },
    }
}

impl<S> Future for PolicyFuture<S, S::Future>
where
    S: Service<ToolCall, Response = ToolResponse> + Clone,
{
    type Output = Result<ToolResponse, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Preparing {
                    prepare,
                    engine,
                    then,
                } => {
                    std::task::ready!(prepare.as_mut().poll(cx));
                    let (mut service, call) =
                        then.take().expect("PolicyFuture polled after completion");
                    let next = begin(engine, &mut service, call);
                    state.set(next);
                }
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
