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
    /// Connections served at once. Default 1024, or three quarters of the process's
    /// descriptor limit when that is lower. At the limit, a new connection closes the one
    /// that has gone longest without a request, or waits for one to end when every one is
    /// in the middle of a request.
    pub max_connections: usize,
}

impl Default for ServeLimits {
    /// A 10 s header timeout; 1024 connections, or three quarters of the process's
    /// descriptor limit when that is lower (the rest is for the log, the upstream, files).
    fn default() -> Self {
        let descriptors = descriptor_limit().map_or(usize::MAX, |n| n / 4 * 3);
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024.min(descriptors).max(1),
        }
    }
}

/// The soft limit on open files, from `/proc/self/limits` (Linux; `None` elsewhere or
/// unlimited).
fn descriptor_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
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
    /// idle and half-open connections cannot take a server's descriptors. At the limit, a
    /// new connection is not left waiting in the backlog behind held ones: the connection
    /// that has gone longest without a request (half-open, idle between requests) is
    /// closed to make room, so a flood of stalled connections, renewed as fast as they
    /// time out, cannot keep a real client out. With a listener of your own, set the same
    /// with hyper's `header_read_timeout` and a semaphore around `accept`, or put a reverse
    /// proxy in front.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        limits: ServeLimits,
    ) -> std::io::Result<()> {
        let router = self.into_router();
        let open = Arc::new(Connections::default());
        let max = limits.max_connections.max(1);
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors or a reset before accept: wait a little, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            if open.count() >= max && !open.shed_one() {
                // Every connection is in the middle of a request (each bounded by the
                // request and body timeouts): this one waits for the first to end.
                while open.count() >= max {
                    let closed = open.closed.notified();
                    if open.count() < max || open.shed_one() {
                        break;
                    }
                    closed.await;
                }
            }
            // Answers are small and awaited one by one: send them at once (no Nagle delay).
            let _ = stream.set_nodelay(true);
            let (id, activity, shed) = open.add();
            let service = Tracked {
                inner: hyper_util::service::TowerToHyperService::new(router.clone()),
                activity,
            };
            let open = open.clone();
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(limits.header_read_timeout)
                    .serve_connection(io, service);
                tokio::select! {
                    served = connection => {
                        if let Err(e) = served {
                            tracing::debug!(error = %e, "connection closed");
                        }
                    }
                    () = shed.notified() => tracing::debug!("a connection without a request was closed to make room"),
                }
                open.remove(id);
            });
        }
    }
}

/// A connection's activity: requests under way (an event stream's for as long as the
/// connection lasts), and when it opened or last started or finished one.
#[derive(Debug)]
struct Activity {
    in_flight: std::sync::atomic::AtomicUsize,
    last: std::sync::Mutex<std::time::Instant>,
}

impl Activity {
    fn touch(&self) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = std::time::Instant::now();
    }

    fn last(&self) -> std::time::Instant {
        *self.last.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An open connection: its activity, and the signal that closes it.
type Open = std::collections::HashMap<u64, (Arc<Activity>, Arc<tokio::sync::Notify>)>;

/// The open connections, to pick one to close when there are too many.
#[derive(Debug, Default)]
struct Connections {
    next: std::sync::atomic::AtomicU64,
    /// Raised when a connection ends.
    closed: tokio::sync::Notify,
    open: std::sync::Mutex<Open>,
}

impl Connections {
    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn count(&self) -> usize {
        self.lock().len()
    }

    fn add(&self) -> (u64, Arc<Activity>, Arc<tokio::sync::Notify>) {
        use std::sync::atomic::Ordering;
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let activity = Arc::new(Activity {
            in_flight: std::sync::atomic::AtomicUsize::new(0),
            last: std::sync::Mutex::new(std::time::Instant::now()),
        });
        let shed = Arc::new(tokio::sync::Notify::new());
        self.lock().insert(id, (activity.clone(), shed.clone()));
        (id, activity, shed)
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
        self.closed.notify_waiters();
    }

    /// Closes the connection that has gone longest without a request, if one has none
    /// under way; false when every connection is busy.
    fn shed_one(&self) -> bool {
        use std::sync::atomic::Ordering;
        let mut open = self.lock();
        let oldest = open
            .iter()
            .filter(|(_, (a, _))| a.in_flight.load(Ordering::Relaxed) == 0)
            .min_by_key(|(_, (a, _))| a.last())
            .map(|(id, _)| *id);
        match oldest.and_then(|id| open.remove(&id)) {
            Some((_, shed)) => {
                // A permit is stored when the task is not waiting yet: it is closed anyway.
                shed.notify_one();
                true
            }
            None => false,
        }
    }
}

/// The router, counting a connection's requests for [`Connections::shed_one`].
#[derive(Clone)]
struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S, B, R> hyper::service::Service<hyper::Request<B>> for Tracked<S>
where
    S: hyper::service::Service<hyper::Request<B>, Response = hyper::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = futures_util::future::BoxFuture<'static, Result<S::Response, S::Error>>;

    fn call(&self, request: hyper::Request<B>) -> Self::Future {
        use std::sync::atomic::Ordering;
        let activity = self.activity.clone();
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        activity.touch();
        let future = self.inner.call(request);
        Box::pin(async move {
            let result = future.await;
            activity.touch();
            // An event stream goes on after its head: the connection stays busy.
            let streaming = result.as_ref().is_ok_and(|response| {
                response
                    .headers()
                    .get(hyper::header::CONTENT_TYPE)
                    .is_some_and(|t| t.as_bytes().starts_with(b"text/event-stream"))
            });
            if !streaming {
                activity.in_flight.fetch_sub(1, Ordering::Relaxed);
            }
            result
        })
    }
}
