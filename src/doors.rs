//! A started [`Proxy`] behind a door: the rmcp adapter on this process's stdin and stdout,
//! or the HTTP adapter on a listener (feature `proxy`).
//!
//! This is the one place that joins the proxy to the doors: the proxy (`src/proxy/`) and
//! the adapters (`src/adapters/`) import nothing from each other, and both speak through
//! the types of [`crate::mcp`].

use crate::adapters::http::{HttpAdapter, ServeLimits};
use crate::adapters::mcp::AirlockMcp;
use crate::proxy::{Proxy, ProxyError};

impl Proxy {
    /// Serves MCP over this process's stdin and stdout until the client closes them.
    pub async fn serve_stdio(self) -> Result<(), ProxyError> {
        let _keeper = TimerKeeper::start(self.upstream.call_timeout());
        let server = AirlockMcp::new(self.stack.clone(), self.airlock.catalog().clone())
            .policy(self.airlock.policy().clone())
            .session_store(self.airlock.session_store())
            .server_info("airlock-proxy", env!("CARGO_PKG_VERSION"))
            .instructions(self.instructions.clone())
            .relay(self.relay.clone())
            .notifications(self.upstream.outbox().clone())
            .tools_list_changed(self.follows_tools);
        // Pipes (what an MCP host gives) are read and written without the blocking thread
        // tokio's stdin and stdout go through: two thread hand-offs less per message.
        match stdio_pipes() {
            Some((receiver, sender)) => server.serve_stream(receiver, sender).await,
            None => {
                server
                    .serve_stream(tokio::io::stdin(), tokio::io::stdout())
                    .await
            }
        }
        .map_err(|e| ProxyError::Serve(e.to_string()))?;
        self.flush().await;
        Ok(())
    }

    /// Serves MCP's Streamable HTTP (and plain HTTP) on `listener` through the HTTP
    /// adapter, until the listener fails.
    pub async fn serve_http(
        self,
        listener: tokio::net::TcpListener,
        limits: ServeLimits,
    ) -> Result<(), ProxyError> {
        let adapter = HttpAdapter::new(self.stack.clone(), self.airlock.catalog().clone())
            .policy(self.airlock.policy().clone())
            .session_store(self.airlock.session_store())
            .server_info("airlock-proxy", env!("CARGO_PKG_VERSION"))
            .instructions(self.instructions.clone())
            .relay(self.relay.clone());
        // `[policy.identity] kind = "oauth"`: a protected resource (RFC 9728, challenges).
        let adapter = match self.airlock.protected_resource() {
            Some(resource) => adapter.protected_resource(resource.clone()),
            None => adapter,
        };
        #[cfg(feature = "telemetry")]
        let adapter = match &self.metrics {
            Some(metrics) => adapter.metrics(metrics.clone()),
            None => adapter,
        };
        // What every session may hear of the upstream's notifications (its tools changed)
        // goes to every open event stream.
        let adapter = if self.follows_tools {
            adapter.notifications(self.upstream.outbox().clone(), 64)
        } else {
            adapter
        };
        let _keeper =
            TimerKeeper::start(self.upstream.call_timeout().min(limits.header_read_timeout));
        let served = adapter.serve(listener, limits).await;
        self.flush().await;
        served.map_err(|e| ProxyError::Serve(e.to_string()))
    }
}

/// A timer due before any call's deadline, always in the runtime's timer wheel while the
/// proxy serves. Tokio wakes its I/O driver (a write to its event fd, and one more
/// `epoll_wait` to read it) whenever a timer is set that is due before every other one;
/// without this, that is every call's own deadline (and over HTTP, every request's header
/// timeout) on a proxy with no other timer set: two system calls of the eight a call over
/// stdio needs. It ticks at half the `shortest` of those timeouts, at most every 30 s, and
/// stops when the proxy stops serving.
struct TimerKeeper(tokio::task::JoinHandle<()>);

impl TimerKeeper {
    fn start(shortest: std::time::Duration) -> Self {
        let period = (shortest / 2).clamp(
            std::time::Duration::from_millis(500),
            std::time::Duration::from_secs(30),
        );
        Self(tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
            }
        }))
    }
}

impl Drop for TimerKeeper {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// This process's stdin and stdout as non-blocking pipes, when both are pipes.
#[cfg(unix)]
fn stdio_pipes() -> Option<(
    tokio::net::unix::pipe::Receiver,
    tokio::net::unix::pipe::Sender,
)> {
    use std::os::fd::AsFd as _;
    let stdin = std::io::stdin().as_fd().try_clone_to_owned().ok()?;
    let stdout = std::io::stdout().as_fd().try_clone_to_owned().ok()?;
    let receiver = tokio::net::unix::pipe::Receiver::from_owned_fd(stdin).ok()?;
    let sender = tokio::net::unix::pipe::Sender::from_owned_fd(stdout).ok()?;
    Some((receiver, sender))
}

#[cfg(not(unix))]
fn stdio_pipes() -> Option<(tokio::io::Stdin, tokio::io::Stdout)> {
    None
}
