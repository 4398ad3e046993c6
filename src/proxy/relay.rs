//! [`UpstreamRelay`]: the upstream's resources and prompts (and logging level and
//! completions) passed to the proxy's client, every text in them masked.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::{Map, Value};

use super::Upstream;
use crate::layers::audit::AuditLayer;
use crate::layers::policy::{Decision, PolicyEngine};
use crate::layers::sanitize::{Counts, Sanitizer};
use crate::mcp::{ClientRequests, Relay, RelayError};
use crate::service::{Caller, ToolCall, ToolOutput, ToolResponse, VerifiedAgent};

/// What a relayed request is recorded as in the audit log: `mcp:` and its method
/// (`mcp:resources/read`). No tool can have that name: `:` breaks the MCP rule.
pub(super) const RELAYED_PREFIX: &str = "mcp:";

/// The JSON-RPC error of a relayed request refused before it reached the upstream (an
/// unverified caller, an audit log that cannot take the record).
pub(super) const REFUSED: i64 = -32001;

/// Relays what the configuration passes (`[proxy] pass`) and the upstream offers.
///
/// With [`guarded`](Self::guarded), a relayed request is held to the policy's identity
/// rules (a credential that does not verify, or none where one is required, is refused)
/// and recorded in the audit log like a call, named `mcp:<method>`.
#[derive(Debug)]
pub(crate) struct UpstreamRelay {
    upstream: Arc<Upstream>,
    sanitizer: Arc<Sanitizer>,
    capabilities: Map<String, Value>,
    policy: Option<Arc<PolicyEngine>>,
    audit: Option<AuditLayer>,
}

impl UpstreamRelay {
    /// Relays to `upstream` the capabilities of `upstream_capabilities` (its `initialize`
    /// answer's) that `pass` names (`resources`, `prompts`; `logging` and `completions`
    /// come with either), masking answers with `sanitizer`.
    pub(crate) fn new(
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
                // As offered: the doors pass on that the prompts or resources changed, and a
                // resource's updates to the sessions that subscribed to it.
                capabilities.insert(name.to_owned(), Value::Object(offered.clone()));
            }
        }
        Self {
            upstream,
            sanitizer,
            capabilities,
            policy: None,
            audit: None,
        }
    }

    /// Holds relayed requests to `policy`'s identity rules and records them in `audit`.
    pub(crate) fn guarded(
        mut self,
        policy: Option<Arc<PolicyEngine>>,
        audit: Option<AuditLayer>,
    ) -> Self {
        self.policy = policy;
        self.audit = audit;
        self
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

    fn client_connected(&self, client: Arc<dyn ClientRequests>) {
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
        caller: Caller,
    ) -> Option<BoxFuture<'static, Result<Value, RelayError>>> {
        if !self.relays(method) {
            return None;
        }
        let upstream = self.upstream.clone();
        let sanitizer = self.sanitizer.clone();
        let policy = self.policy.clone();
        let audit = self.audit.clone();
        let name = format!("{RELAYED_PREFIX}{method}");
        let method = method.to_owned();
        // The upstream's error code and data, which a response cannot carry.
        let failure: Arc<std::sync::Mutex<Option<RelayError>>> = Arc::default();
        let failed = failure.clone();
        let relayed = tower::service_fn(move |mut call: ToolCall| {
            let (upstream, sanitizer, policy, method, failed) = (
                upstream.clone(),
                sanitizer.clone(),
                policy.clone(),
                method.clone(),
                failed.clone(),
            );
            async move {
                if let Some(policy) = &policy {
                    let decision = match policy.decide_relayed(&mut call) {
                        Decision::Allowed => Ok(()),
                        Decision::Refused(rejection) => Err(rejection),
                        Decision::Pending(pending) => pending.await,
                    };
                    if let Err(rejection) = decision {
                        return Ok(ToolResponse::rejected(rejection));
                    }
                    if let (true, Some(agent), Some(slot)) = (
                        call.caller.verified,
                        call.caller.agent_id.as_deref(),
                        call.extensions.get::<VerifiedAgent>(),
                    ) {
                        slot.set(agent);
                    }
                }
                // Token exchange: marked with this caller's upstream token (see
                // `UpstreamService`); without the caller's token, not sent.
                let mut params = call.arguments;
                if let Some(exchange) = upstream.exchange() {
                    let marked = match call.caller.credential.as_ref() {
                        Some(credential) => exchange.mark(credential.expose()).await,
                        None => Err("no caller's token".to_owned()),
                    };
                    match (marked, params.as_object_mut()) {
                        (Ok(handle), Some(fields)) => {
                            let meta = fields
                                .entry("_meta")
                                .or_insert_with(|| Value::Object(Default::default()));
                            if let Some(meta) = meta.as_object_mut() {
                                meta.insert(exchange.marker().to_owned(), handle.into());
                            }
                        }
                        (Err(error), _) => {
                            tracing::warn!(%error, "no upstream token for this caller");
                            return Ok(ToolResponse::error(
                                "the upstream is called with a token exchanged for each \
                                 caller's own, and none could be had for this caller",
                            ));
                        }
                        (Ok(_), None) => {}
                    }
                }
                Ok::<_, std::convert::Infallible>(match upstream.request(&method, params).await {
                    Ok(mut result) => {
                        mask(&sanitizer, &method, &mut result);
                        ToolResponse::json(result)
                    }
                    Err(mut error) => {
                        // The upstream's words and data, masked like its answers.
                        if let Some(data) = &mut error.data {
                            mask(&sanitizer, &method, data);
                        }
                        let message = sanitizer
                            .sanitize_text(&error.message, &mut Counts::new())
                            .into_owned();
                        *failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(error);
                        ToolResponse::error(message)
                    }
                })
            }
        });
        let call = ToolCall::new(name, params).with_caller(caller);
        Some(Box::pin(async move {
            let response = AuditLayer::oneshot_through(audit.as_ref(), relayed, call).await;
            if let Some(rejection) = response.rejection {
                return Err(RelayError::new(REFUSED, rejection.message));
            }
            match response.output {
                ToolOutput::Json(result) if !response.is_error => Ok(result),
                output => {
                    let message = output.to_text().into_owned();
                    let failed = failure.lock().unwrap_or_else(|p| p.into_inner()).take();
                    Err(match failed {
                        Some(error) => RelayError { message, ..error },
                        None => RelayError::new(-32603, message),
                    })
                }
            }
        }))
    }
}

/// Masks a relayed answer, every member of it: resource contents and prompt messages
/// (their base64 payloads decoded when they are text), descriptions, `_meta`.
fn mask(sanitizer: &Sanitizer, method: &str, result: &mut Value) {
    let mut counts = Counts::new();
    sanitizer.sanitize_json(result, &mut counts);
    if !counts.is_empty() {
        tracing::info!(method, counts = ?counts, "masked sensitive values in a relayed answer");
    }
}
