//! [`Sanitize`]: the service [`SanitizeLayer`](super::SanitizeLayer) builds.

use std::sync::Arc;
use std::task::{Context, Poll};

use tower_service::Service;

use super::Sanitizer;
use super::future::SanitizeFuture;
use crate::service::{Log, Progress, ToolCall, ToolResponse};

/// Passes every call on and sanitizes the response on its way back.
#[derive(Debug, Clone)]
pub struct Sanitize<S> {
    inner: S,
    sanitizer: Arc<Sanitizer>,
}

impl<S> Sanitize<S> {
    /// Sanitizes the responses of `inner` with `sanitizer`.
    pub fn new(inner: S, sanitizer: Arc<Sanitizer>) -> Self {
        Self { inner, sanitizer }
    }

    inner_service_accessors!();
}

impl<S> Service<ToolCall> for Sanitize<S>
where
    S: Service<ToolCall, Response = ToolResponse>,
{
    type Response = ToolResponse;
    type Error = S::Error;
    type Future = SanitizeFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut call: ToolCall) -> Self::Future {
        // What the tool reports along the way leaves like its answer: masked.
        if let Some(progress) = call.extensions.get::<Progress>() {
            let sanitizer = self.sanitizer.clone();
            let masked = progress.masked(move |message| {
                sanitizer
                    .sanitize_text(message, &mut super::Counts::new())
                    .into_owned()
            });
            call.extensions.insert(masked);
        }
        if let Some(log) = call.extensions.get::<Log>() {
            let sanitizer = self.sanitizer.clone();
            let masked = log.masked(move |message| {
                let mut counts = super::Counts::new();
                if let Some(logger) = &mut message.logger {
                    *logger = sanitizer.sanitize_text(logger, &mut counts).into_owned();
                }
                sanitizer.sanitize_json(&mut message.data, &mut counts);
            });
            call.extensions.insert(masked);
        }
        SanitizeFuture::new(self.inner.call(call), self.sanitizer.clone())
    }
}
