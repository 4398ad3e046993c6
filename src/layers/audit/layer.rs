//! [`AuditLayer`]: the writer a stack's audit services share.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio_util::sync::PollSemaphore;
use tower_layer::Layer;

use super::config::AuditConfig;
use super::error::AuditError;
use super::record::GENESIS;
use super::record::{Chain, Encoder, LineError, check_line};
use super::service::Audit;
use super::sink::{AuditSink, FileSink};
use super::writer::{AuditStats, Handle, spawn};
use crate::layers::sanitize::Sanitizer;

/// Records every call; see the [module docs](super). Cheap to clone: clones share one
/// writer, which stops (after writing everything queued) when the last clone, service and
/// call in flight are gone.
#[derive(Debug, Clone)]
pub struct AuditLayer {
    handle: Arc<Handle>,
}

/// The longest `linger_ms` accepted: a record should not sit in memory for longer.
const MAX_LINGER_MS: u64 = 1000;

impl AuditLayer {
    /// Runs `call` through `service`, recorded in `audit` when there is one: for what is
    /// answered outside a stack (a proxy's relayed requests) yet must be in the log.
    #[cfg(feature = "axum")]
    pub(crate) async fn oneshot_through<S>(
        audit: Option<&AuditLayer>,
        service: S,
        call: crate::service::ToolCall,
    ) -> crate::service::ToolResponse
    where
        S: tower_service::Service<
                crate::service::ToolCall,
                Response = crate::service::ToolResponse,
                Error = std::convert::Infallible,
            > + Send
            + 'static,
        S::Future: Send + 'static,
    {
        use tower::ServiceExt as _;
        let answered = match audit {
            Some(audit) => audit.layer(service).oneshot(call).await,
            None => service.oneshot(call).await,
        };
        match answered {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }

    /// A [`FileSink`] at `[audit] path`, records masked with `sanitizer` (share the
    /// sanitize layer's: `[sanitize]` is then compiled once). Reads the HMAC key from the
    /// variable `hmac_key_env` names.
    pub fn from_config(
        config: &AuditConfig,
        sanitizer: Arc<Sanitizer>,
    ) -> Result<Self, AuditError> {
        Self::from_config_with_env(config, sanitizer, |name| std::env::var(name).ok())
    }

    /// Like [`from_config`](Self::from_config), with the environment given as a lookup.
    pub fn from_config_with_env(
        config: &AuditConfig,
        sanitizer: Arc<Sanitizer>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, AuditError> {
        let key = match &config.hmac_key_env {
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
        if config.path.is_none() {
            return Err(AuditError::Config(
                "audit.path is not set: say where the log goes".into(),
            ));
        }
        let sink = FileSink::open(config)?;
        Self::with_sink(config, sanitizer, sink, key)
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
                        if chain.alg() == super::record::ALG_HMAC {
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
        Audit::new(
            inner,
            self.handle.clone(),
            PollSemaphore::new(self.handle.shared.permits.clone()),
        )
    }
}
