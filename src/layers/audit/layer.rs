use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;
use tokio::sync::{OwnedSemaphorePermit, oneshot};
use tokio_util::sync::PollSemaphore;
use tower_layer::Layer;
use tower_service::Service;

use super::config::{AuditConfig, OnFull};
use super::record::{Chain, Encoder, LineError, check_line};
use super::sink::{AuditSink, FileSink};
use super::wire::{Ending, Head, with_frame};
use super::writer::{AuditStats, Shared, spawn};
use super::{AuditError, GENESIS};
use crate::config::AirlockConfig;
use crate::layers::sanitize::Sanitizer;
use crate::service::layer_names::AUDIT;
use crate::service::{Rejection, ToolCall, ToolResponse, VerifiedAgent};

/// Records every call; see the [module docs](super). Cheap to clone: clones share one
/// writer, which stops (after writing everything queued) when the last clone, service and
/// call in flight are gone.
#[derive(Debug, Clone)]
pub struct AuditLayer {
    handle: Arc<Handle>,
}

#[derive(Debug)]
struct Handle {
    shared: Arc<Shared>,
    on_full: OnFull,
    keep_output: bool,
    max_argument_bytes: usize,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditWriter")
            .field("stats", &self.stats())
            .finish()
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.close();
    }
}

/// The longest `linger_ms` accepted: a record should not sit in memory for longer.
const MAX_LINGER_MS: u64 = 1000;

impl AuditLayer {
    /// From `[audit]` (a [`FileSink`] at `audit.path`) and `[sanitize]` (what is masked in
    /// records). Reads the HMAC key from the variable `audit.hmac_key_env` names.
    pub fn from_config(config: &AirlockConfig) -> Result<Self, AuditError> {
        Self::from_config_with_env(config, |name| std::env::var(name).ok())
    }

    /// Like [`from_config`](Self::from_config), with the environment given as a lookup.
    pub fn from_config_with_env(
        config: &AirlockConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, AuditError> {
        let sanitizer = Arc::new(Sanitizer::with_env(&config.sanitize, &env)?);
        let key = match &config.audit.hmac_key_env {
            Some(var) => Some(
                env(var)
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| {
                        AuditError::Config(format!(
                            "environment variable {var} (audit.hmac_key_env) is not set"
                        ))
                    })?
                    .into_bytes(),
            ),
            None => None,
        };
        if config.audit.path.is_none() {
            return Err(AuditError::Config(
                "audit.path is not set: say where the log goes".into(),
            ));
        }
        let sink = FileSink::open(&config.audit)?;
        Self::with_sink(&config.audit, sanitizer, sink, key)
    }

    /// Records into `sink`, masking with `sanitizer`, the chain keyed with `hmac_key` if
    /// given. `config.path` is not used. The chain continues from the sink's
    /// [`last_record`](AuditSink::last_record), which must verify under the same key.
    pub fn with_sink(
        config: &AuditConfig,
        sanitizer: Arc<Sanitizer>,
        mut sink: impl AuditSink,
        hmac_key: Option<Vec<u8>>,
    ) -> Result<Self, AuditError> {
        if config.linger_ms > MAX_LINGER_MS {
            return Err(AuditError::Config(format!(
                "audit.linger_ms = {}: at most {MAX_LINGER_MS} (records wait that long in memory)",
                config.linger_ms
            )));
        }
        let chain = Chain::new(hmac_key);
        let (seq, prev) = match sink.last_record()? {
            None => (0, GENESIS.to_owned()),
            Some(line) => match check_line(&line, &chain) {
                Ok((header, hash)) => (header.seq, hash),
                Err(LineError::HashMismatch) => {
                    return Err(AuditError::Resume(format!(
                        "the last record of the log does not verify with this {} chain{}; \
                         run `airlock audit verify` and move the log aside",
                        chain.alg(),
                        if chain.alg() == super::ALG_HMAC {
                            " (is it the same key?)"
                        } else {
                            ""
                        }
                    )));
                }
                Err(LineError::Malformed(why)) => {
                    return Err(AuditError::Resume(format!(
                        "the last record of the log cannot be continued: {why}"
                    )));
                }
            },
        };
        let encoder = Encoder::new(sanitizer, chain, config.max_output_chars, seq, prev);
        let shared = spawn(
            Box::new(sink),
            encoder,
            config.fsync,
            config.queue_capacity,
            Duration::from_millis(config.linger_ms),
        )?;
        Ok(Self {
            handle: Arc::new(Handle {
                shared,
                on_full: config.on_full,
                keep_output: config.keep_output,
                max_argument_bytes: config.max_argument_bytes,
            }),
        })
    }

    /// The writer's counters.
    pub fn stats(&self) -> AuditStats {
        self.handle.shared.stats()
    }

    /// Waits until every record queued before this call is written and synced.
    pub async fn flush(&self) -> std::io::Result<()> {
        let (tx, rx) = oneshot::channel();
        self.handle.shared.flush(tx);
        rx.await
            .unwrap_or_else(|_| Err(std::io::Error::other("the audit writer stopped")))
    }
}

impl<S> Layer<S> for AuditLayer {
    type Service = Audit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Audit {
            inner,
            semaphore: PollSemaphore::new(self.handle.shared.permits.clone()),
            handle: self.handle.clone(),
            permit: None,
            refuse: false,
        }
    }
}

/// The service [`AuditLayer`] builds.
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
            return AuditFuture {
                state: State::Refused {
                    response: Some(ToolResponse::rejected(Rejection::audit_unavailable(
                        AUDIT,
                        "the call was not run: the audit log cannot record it",
                    ))),
                },
                pending: None,
            };
        };
        // Only a presented credential can be verified inside; without one, no slot (and
        // no allocation for it).
        let slot = call.caller.credential.is_some().then(|| {
            let slot = VerifiedAgent::new();
            call.extensions.insert(slot.clone());
            slot
        });
        let pending = Pending {
            handle: self.handle.clone(),
            permit,
            start: Instant::now(),
            ts: jiff::Timestamp::now(),
            head: Head::new(
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
        AuditFuture {
            state: State::Running {
                future: self.inner.call(call),
            },
            pending: Some(pending),
        }
    }
}

/// What a call in flight will record.
#[derive(Debug)]
struct Pending {
    handle: Arc<Handle>,
    permit: OwnedSemaphorePermit,
    start: Instant,
    ts: jiff::Timestamp,
    head: Head,
    verified: bool,
    slot: Option<VerifiedAgent>,
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
