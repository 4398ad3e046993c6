use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::{SanitizeError, Sanitizer};
use crate::config::AirlockConfig;
use crate::service::{ToolCall, ToolResponse};

/// Sanitizes every response; see the [module docs](super). Cheap to clone.
#[derive(Debug, Clone)]
pub struct SanitizeLayer {
    sanitizer: Arc<Sanitizer>,
}

impl SanitizeLayer {
    /// Uses `sanitizer`.
    pub fn new(sanitizer: Arc<Sanitizer>) -> Self {
        Self { sanitizer }
    }

    /// From `[sanitize]` of the configuration.
    pub fn from_config(config: &AirlockConfig) -> Result<Self, SanitizeError> {
        Ok(Self::new(Arc::new(Sanitizer::new(&config.sanitize)?)))
    }

    /// The sanitizer.
    pub fn sanitizer(&self) -> &Arc<Sanitizer> {
        &self.sanitizer
    }
}

impl<S> Layer<S> for SanitizeLayer {
    type Service = Sanitize<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Sanitize {
            inner,
            sanitizer: self.sanitizer.clone(),
        }
    }
}

/// The service [`SanitizeLayer`] builds.
#[derive(Debug, Clone)]
pub struct Sanitize<S> {
    inner: S,
    sanitizer: Arc<Sanitizer>,
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

    fn call(&mut self, call: ToolCall) -> Self::Future {
        SanitizeFuture {
            inner: self.inner.call(call),
            sanitizer: self.sanitizer.clone(),
        }
    }
}

pin_project! {
    /// Response future of [`Sanitize`].
    #[must_use = "futures do nothing unless polled"]
    pub struct SanitizeFuture<F> {
        #[pin]
        inner: F,
        sanitizer: Arc<Sanitizer>,
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
        this.sanitizer.sanitize_response(&mut response);
        Poll::Ready(Ok(response))
    }
}
