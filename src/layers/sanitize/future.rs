//! [`SanitizeFuture`]: sanitizes the inner response when it is ready.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::Sanitizer;
use crate::service::ToolResponse;
use crate::service::layer_names::SANITIZE;
use crate::telemetry::span;

pin_project! {
    /// Response future of [`Sanitize`](super::Sanitize).
    #[must_use = "futures do nothing unless polled"]
    pub struct SanitizeFuture<F> {
        #[pin]
        inner: F,
        sanitizer: Arc<Sanitizer>,
    }
}

impl<F> SanitizeFuture<F> {
    pub(super) fn new(inner: F, sanitizer: Arc<Sanitizer>) -> Self {
        Self { inner, sanitizer }
    }
}

impl<F, E> Future for SanitizeFuture<F>
where
    F: Future<Output = Result<ToolResponse, E>>,
{
    type Output = Result<ToolResponse, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = std::task::ready!(this.inner.poll(cx))?;
        let span = span::layer(SANITIZE);
        span.in_scope(|| {
            this.sanitizer.sanitize_response(&mut response);
            span::findings(&response);
        });
        span::masked(&span, &response);
        Poll::Ready(Ok(response))
    }
}
