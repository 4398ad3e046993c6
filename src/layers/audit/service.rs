//! [`Audit`]: the service [`AuditLayer`](super::AuditLayer) builds.

use std::fmt::Display;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::PollSemaphore;
use tower_service::Service;

use super::config::OnFull;
use super::future::{AuditFuture, Pending};
use super::wire::CallCapture;
use super::writer::Handle;
use crate::service::layer_names::AUDIT;
use crate::service::{Rejection, ToolCall, ToolResponse, VerifiedAgent};
use crate::telemetry::span;

/// The service [`AuditLayer`](super::AuditLayer) builds.
///
/// Its `poll_ready` takes a place in the audit queue before the inner service's: in
/// `block` mode it waits for one (back-pressure); in `fail_closed` mode, with no place or
/// the log unwritable, it is ready at once and the call is refused as `audit_unavailable`
/// without reaching the inner service.
#[derive(Debug)]
pub struct Audit<S> {
    inner: S,
    handle: Arc<Handle>,
    semaphore: PollSemaphore,
    permit: Option<OwnedSemaphorePermit>,
    refuse: bool,
}

impl<S> Audit<S> {
    pub(super) fn new(inner: S, handle: Arc<Handle>, semaphore: PollSemaphore) -> Self {
        Self {
            inner,
            handle,
            semaphore,
            permit: None,
            refuse: false,
        }
    }

    // Unwrapping gives back a place the service reserved in the queue (its permit drops).
    inner_service_accessors!();
}

impl<S: Clone> Clone for Audit<S> {
    fn clone(&self) -> Self {
        // A place in the queue belongs to the service that reserved it.
        Self {
            inner: self.inner.clone(),
            handle: self.handle.clone(),
            semaphore: self.semaphore.clone(),
            permit: None,
            refuse: false,
        }
    }
}

impl<S> Service<ToolCall> for Audit<S>
where
    S: Service<ToolCall, Response = ToolResponse>,
    S::Error: Display,
{
    type Response = ToolResponse;
    type Error = S::Error;
    type Future = AuditFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.permit.is_none() && !self.refuse {
            match self.handle.on_full {
                OnFull::Block => match self.semaphore.poll_acquire(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Some(permit)) => self.permit = Some(permit),
                    Poll::Ready(None) => self.refuse = true, // never closed; refuse if it were
                },
                OnFull::FailClosed => {
                    let healthy = self.handle.shared.healthy.load(Ordering::Relaxed);
                    match self.semaphore.clone_inner().try_acquire_owned() {
                        Ok(permit) if healthy => self.permit = Some(permit),
                        _ => {
                            self.refuse = true;
                            // Refused without the inner service: it need not be ready.
                            return Poll::Ready(Ok(()));
                        }
                    }
                }
            }
        }
        if self.refuse {
            return Poll::Ready(Ok(()));
        }
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut call: ToolCall) -> Self::Future {
        let permit = match self.permit.take() {
            Some(p) if !self.refuse => Some(p),
            // Called without poll_ready (a contract breach): take a place only if one is free.
            None if !self.refuse => self.semaphore.clone_inner().try_acquire_owned().ok(),
            _ => None,
        };
        self.refuse = false;
        let Some(permit) = permit else {
            self.handle.shared.refused.fetch_add(1, Ordering::Relaxed);
            tracing::error!(
                target: "agent_airlock::audit",
                "refused a call: the audit log cannot take its record"
            );
            return AuditFuture::refused(ToolResponse::rejected(Rejection::audit_unavailable(
                AUDIT,
                "the call was not run: the audit log cannot record it",
            )));
        };
        // Only a presented credential can be verified inside; without one, no slot (and
        // no allocation for it).
        let slot = call.caller.credential.is_some().then(|| {
            let slot = VerifiedAgent::new();
            call.extensions.insert(slot.clone());
            slot
        });
        let span = span::layer(AUDIT);
        let _capturing = span.enter();
        let pending = Pending {
            handle: self.handle.clone(),
            permit,
            start: Instant::now(),
            ts: jiff::Timestamp::now(),
            head: CallCapture::new(
                &call.id,
                &call.tool,
                call.session.as_deref(),
                &call.arguments,
                self.handle.max_argument_bytes,
                call.caller.agent_id.as_deref(),
            ),
            verified: call.caller.verified,
            slot,
        };
        span::allowed(&span);
        drop(_capturing);
        AuditFuture::running(self.inner.call(call), pending)
    }
}
