//! [`HttpAdapter::serve`]: the door's own accept loop, with [`ServeLimits`].

use std::sync::Arc;
use std::time::Duration;

use super::adapter::HttpAdapter;

/// How [`HttpAdapter::serve`] treats connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeLimits {
    /// A connection that has not sent a whole request head this long after it opened (or
    /// after its previous request) is closed: idle and half-open connections cannot pile
    /// up. Default 10 s.
    pub header_read_timeout: Duration,
    /// Connections served at once; further ones wait in the listen backlog. Default 1024:
    /// keep it under the process's file-descriptor limit.
    pub max_connections: usize,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
        }
    }
}

impl ServeLimits {
    /// Sets [`header_read_timeout`](Self::header_read_timeout).
    #[must_use]
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Sets [`max_connections`](Self::max_connections) (at least 1).
    #[must_use]
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }
}

impl HttpAdapter {
    /// Serves [`into_router`](Self::into_router) on `listener` (HTTP/1.1) with `limits`:
    /// a header-read timeout and a connection limit, which `axum::serve` does not set, so
    /// a few hundred idle connections cannot take a server's descriptors. With a listener
    /// of your own, set the same with hyper's `header_read_timeout` and a semaphore
    /// around `accept`, or put a reverse proxy in front.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        limits: ServeLimits,
    ) -> std::io::Result<()> {
        let router = self.into_router();
        let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
        loop {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return Ok(());
            };
            let (stream, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors or a reset before accept: wait a little, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            // Answers are small and awaited one by one: send them at once (no Nagle delay).
            let _ = stream.set_nodelay(true);
            let service = hyper_util::service::TowerToHyperService::new(router.clone());
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(limits.header_read_timeout)
                    .serve_connection(io, service);
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, "connection closed");
                }
                drop(slot);
            });
        }
    }
}
