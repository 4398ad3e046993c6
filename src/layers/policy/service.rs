//! [`Policy`]: the service [`PolicyLayer`](super::PolicyLayer) builds.

use std::sync::Arc;
use std::task::{Context, Poll};

use tower_service::Service;

use super::PolicyEngine;
use crate::future::ResponseFuture;
use crate::service::{ToolCall, ToolResponse};

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
    S: Service<ToolCall, Response = ToolResponse>,
{
    type Response = ToolResponse;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut call: ToolCall) -> Self::Future {
        match self.engine.check(&mut call) {
            Ok(()) => ResponseFuture::inner(self.inner.call(call), Vec::new()),
            Err(rejection) => ResponseFuture::ready(ToolResponse::rejected(rejection)),
        }
    }
}
