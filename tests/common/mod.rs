//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod adapters;
pub mod e2e;
#[cfg(feature = "redis")]
pub mod redis;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use agent_airlock::{ToolCall, ToolCatalog, ToolResponse, ToolSpec};
use serde_json::Value;
use tower::{Service, ServiceExt, service_fn};

/// A scratch directory under the system's temporary directory, emptied when created and
/// removed when dropped.
pub struct Scratch(std::path::PathBuf);

impl Scratch {
    /// `<tmp>/airlock-<group>-<name>-<pid>`.
    pub fn new(group: &str, name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("airlock-{group}-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl std::ops::Deref for Scratch {
    type Target = std::path::Path;

    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A catalog from `(name, schema)` pairs.
pub fn catalog(tools: &[(&str, Value)]) -> Arc<ToolCatalog> {
    let mut c = ToolCatalog::new();
    for (name, schema) in tools {
        c.insert(ToolSpec::new(*name, None, Some(schema.clone())).unwrap())
            .unwrap();
    }
    Arc::new(c)
}

/// An inner tool that echoes the arguments it received and counts its calls.
pub fn echo() -> (
    impl Service<ToolCall, Response = ToolResponse, Error = Infallible, Future: Send> + Clone,
    Arc<AtomicUsize>,
) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let svc = service_fn(move |call: ToolCall| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move { Ok::<_, Infallible>(ToolResponse::json(call.arguments)) }
    });
    (svc, calls)
}

pub fn count(calls: &AtomicUsize) -> usize {
    calls.load(Ordering::SeqCst)
}

/// Sends one call through `svc`.
pub async fn send<S>(svc: S, tool: &str, args: Value) -> ToolResponse
where
    S: Service<ToolCall, Response = ToolResponse>,
    S::Error: std::fmt::Debug,
{
    svc.oneshot(ToolCall::new(tool, args)).await.unwrap()
}

/// Nested objects `depth` levels deep, built without recursion.
pub fn nested(depth: usize) -> Value {
    let mut v = Value::from(1);
    for _ in 0..depth {
        let mut map = serde_json::Map::new();
        map.insert("n".into(), v);
        v = Value::Object(map);
    }
    v
}

/// An HTTP client for the tests. With the `proxy` feature, reqwest is built on rustls
/// without a default crypto provider (the proxy installs ring when it needs one): install
/// it here too.
#[allow(dead_code)] // not every test file talks HTTP
pub fn http_client() -> reqwest::Client {
    #[cfg(any(feature = "proxy", feature = "oauth", feature = "telemetry"))]
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    reqwest::Client::new()
}

/// A loopback port nothing listens on (now).
#[allow(dead_code)] // not every test file starts servers
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
