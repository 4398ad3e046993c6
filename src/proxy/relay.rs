//! [`UpstreamRelay`]: the upstream's resources and prompts (and logging level and
//! completions) passed to the proxy's client, every text in them masked.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::{Map, Value, json};

use super::Upstream;
use crate::adapters::{Relay, RelayError};
use crate::layers::sanitize::{Counts, Sanitizer};

/// Relays what the configuration passes (`[proxy] pass`) and the upstream offers.
#[derive(Debug)]
pub struct UpstreamRelay {
    upstream: Arc<Upstream>,
    sanitizer: Arc<Sanitizer>,
    capabilities: Map<String, Value>,
}

impl UpstreamRelay {
    /// Relays to `upstream` the capabilities of `upstream_capabilities` (its `initialize`
    /// answer's) that `pass` names (`resources`, `prompts`; `logging` and `completions`
    /// come with either), masking answers with `sanitizer`.
    pub fn new(
        upstream: Arc<Upstream>,
        sanitizer: Arc<Sanitizer>,
        upstream_capabilities: &Value,
        pass: &BTreeSet<String>,
    ) -> Self {
        let mut capabilities = Map::new();
        let content = pass.contains("resources") || pass.contains("prompts");
        for (name, passed) in [
            ("resources", pass.contains("resources")),
            ("prompts", pass.contains("prompts")),
            ("logging", content),
            ("completions", content),
        ] {
            if passed && let Some(Value::Object(offered)) = upstream_capabilities.get(name) {
                let mut offered = offered.clone();
                // Notifications from the upstream are not relayed yet: nothing to promise.
                offered.remove("listChanged");
                offered.remove("subscribe");
                capabilities.insert(name.to_owned(), Value::Object(offered));
            }
        }
        Self {
            upstream,
            sanitizer,
            capabilities,
        }
    }

    fn relays(&self, method: &str) -> bool {
        let capability = match method {
            "resources/list"
            | "resources/templates/list"
            | "resources/read"
            | "resources/subscribe"
            | "resources/unsubscribe" => "resources",
            "prompts/list" | "prompts/get" => "prompts",
            "logging/setLevel" => "logging",
            "completion/complete" => "completions",
            _ => return false,
        };
        self.capabilities.contains_key(capability)
    }
}

impl Relay for UpstreamRelay {
    fn capabilities(&self) -> Value {
        Value::Object(self.capabilities.clone())
    }

    fn client_notified(&self, method: &str, _params: Value) {
        if method == "notifications/roots/list_changed" {
            self.upstream.roots_changed();
        }
    }

    fn client_connected(&self, client: Arc<dyn crate::adapters::ClientRequests>) {
        // A server that asked for roots before this client came has none yet: it may ask
        // again now.
        let offers_roots = client.capabilities().get("roots").is_some();
        self.upstream.connect_client(client);
        if offers_roots {
            self.upstream.roots_changed();
        }
    }

    fn request(
        &self,
        method: &str,
        params: Value,
    ) -> Option<BoxFuture<'static, Result<Value, RelayError>>> {
        if !self.relays(method) {
            return None;
        }
        let upstream = self.upstream.clone();
        let sanitizer = self.sanitizer.clone();
        let method = method.to_owned();
        Some(Box::pin(async move {
            let mut result = upstream
                .request(&method, params)
                .await
                .map_err(|(code, message)| RelayError { code, message })?;
            mask(&sanitizer, &method, &mut result);
            Ok(result)
        }))
    }
}

/// Masks a relayed answer: resource contents and prompt messages as content blocks (text,
/// and base64 payloads that decode to text), everything else as JSON.
fn mask(sanitizer: &Sanitizer, method: &str, result: &mut Value) {
    let mut counts = Counts::new();
    let blocks: Vec<&mut Value> = match method {
        "resources/read" => result
            .get_mut("contents")
            .and_then(Value::as_array_mut)
            .map(|c| c.iter_mut().collect())
            .unwrap_or_default(),
        "prompts/get" => result
            .get_mut("messages")
            .and_then(Value::as_array_mut)
            .map(|m| m.iter_mut().filter_map(|m| m.get_mut("content")).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    if blocks.is_empty() {
        sanitizer.sanitize_json(result, &mut counts);
        return;
    }
    for block in blocks {
        if method == "resources/read" {
            // A resource's contents are masked as an embedded resource is.
            let mut wrapped = json!({"type": "resource", "resource": block.take()});
            sanitizer.sanitize_content_block(&mut wrapped, &mut counts);
            *block = wrapped["resource"].take();
        } else {
            sanitizer.sanitize_content_block(block, &mut counts);
        }
    }
    if let Some(description) = result.get_mut("description") {
        sanitizer.sanitize_json(description, &mut counts);
    }
    if !counts.is_empty() {
        tracing::info!(method, counts = ?counts, "masked sensitive values in a relayed answer");
    }
}
