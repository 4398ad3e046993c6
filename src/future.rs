//! The response future our layers share.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::service::{Note, ToolResponse};

pin_project! {
    /// Response future of the airlock layers: either an answer the layer gave itself (a
    /// refusal) or the inner service's future, with the notes the layer adds to its
    /// response. No allocation beyond the notes themselves.
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<F> {
        #[pin]
        source: Source<F>,
    }
}

pin_project! {
    #[project = SourceProj]
    enum Source<F> {
        Ready { response: Option<ToolResponse> },
        Inner { #[pin] future: F, notes: Vec<Note> },
    }
}

impl<F> ResponseFuture<F> {
    /// A future that resolves to `response` at once.
    pub fn ready(response: ToolResponse) -> Self {
        Self {
            source: Source::Ready {
                response: Some(response),
            },
        }
    }

    /// Waits on `future` and adds `notes` to its response.
    pub fn inner(future: F, notes: Vec<Note>) -> Self {
        Self {
            source: Source::Inner { future, notes },
        }
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<ToolResponse, E>>,
{
    type Output = Result<ToolResponse, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().source.project() {
            SourceProj::Ready { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => panic!("ResponseFuture polled after completion"),
            },
            SourceProj::Inner { future, notes } => {
                let mut response = std::task::ready!(future.poll(cx))?;
                response.notes.append(notes);
                Poll::Ready(Ok(response))
            }
        }
    }
}
