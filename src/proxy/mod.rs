//! The whole airlock in front of an MCP server someone else wrote (feature `proxy`;
//! `airlock proxy` on the command line).
//!
//! The proxy starts the upstream server as a command and talks to it over stdio as an MCP
//! client (rmcp), or reaches it at a Streamable HTTP URL. Its tools, listed at start-up (every page), become the catalog the
//! layers check against, so ghost stripping and strict schema apply to any server's tools;
//! the recommended stack ([`Airlock`]) sits in front of [`UpstreamService`], and the
//! proxy serves the result to its own client: over its stdin and stdout
//! ([`Proxy::serve_stdio`], for an MCP host that starts `airlock proxy -- <command>` in
//! place of the command) or over Streamable HTTP ([`Proxy::serve_http`]).
//!
//! What a proxied call goes through: audit, sanitize (every text of the upstream's
//! answer: text blocks, embedded resources, `structuredContent`, and the decoded text of
//! base64 payloads), policy (`tools/list` filtered; a denied call never reaches the
//! upstream), ghost arguments, schema. The upstream's own tool errors stay tool errors; an
//! upstream that exits, hangs past `[proxy] call_timeout_secs` or answers nonsense gives
//! an error result saying so, and an upstream that exited is started again at the next
//! call, with a pause that doubles while it keeps exiting. Only the host variables
//! `[proxy] pass_env` names (and `PATH`) reach a stdio upstream, with `[proxy.env]` over
//! them; its stderr is logged, masked. With `[proxy.pins]`, a tool whose definition
//! changed since it was approved (or that hides text aimed at the model) is held: hidden
//! and refused with `tool_changed` until `airlock pins approve` (see [`pins`]). With
//! `[proxy.sandbox]` ([`ProxySandbox`]), a stdio upstream runs under the sandbox layer's
//! isolation for as long as it lives; a host where it cannot isolate gets no upstream.

mod config;
mod error;
pub mod pins;
mod poison;
mod sandbox;

pub use config::{ProxyConfig, UpstreamAuthConfig, UpstreamAuthKind};
pub use error::ProxyError;
pub use pins::PinsConfig;
pub use sandbox::ProxySandbox;

#[cfg(feature = "proxy")]
mod calls;
#[cfg(feature = "proxy")]
mod relay;
#[cfg(feature = "proxy")]
mod service;
#[cfg(feature = "proxy")]
mod upstream;

#[cfg(feature = "proxy")]
pub(crate) use self::relay::UpstreamRelay;
#[cfg(feature = "proxy")]
pub use self::service::UpstreamService;
#[cfg(feature = "proxy")]
pub(crate) use self::service::{catalog_of, catalog_of_entries};
#[cfg(feature = "proxy")]
pub(crate) use self::upstream::ToolsObserver;
#[cfg(feature = "proxy")]
pub use self::upstream::{Launch, Target, Upstream};

#[cfg(feature = "proxy")]
use std::sync::Arc;

#[cfg(feature = "proxy")]
use crate::airlock::{Airlock, AirlockError, AirlockService};
#[cfg(feature = "proxy")]
use crate::config::AirlockConfig;
#[cfg(feature = "proxy")]
use crate::layers::sanitize::{Counts, Sanitizer};

/// A started proxy: the upstream running, the stack built over it.
#[cfg(feature = "proxy")]
#[derive(Debug)]
pub struct Proxy {
    pub(crate) airlock: Airlock,
    pub(crate) stack: AirlockService<UpstreamService>,
    pub(crate) upstream: Arc<Upstream>,
    pub(crate) instructions: Option<String>,
    pub(crate) relay: Arc<UpstreamRelay>,
    /// The served tools follow the upstream's (`[proxy] pass` has `tools`).
    pub(crate) follows_tools: bool,
    /// What `GET /metrics` serves beside `/mcp` (feature `telemetry`).
    #[cfg(feature = "telemetry")]
    pub(crate) metrics: Option<crate::telemetry::Metrics>,
}

#[cfg(feature = "proxy")]
impl Proxy {
    /// Starts (or connects to) the upstream `target` describes and builds `config`'s stack
    /// over its tools
    /// (`[sandbox]` aside: the proxied tools run in the upstream, not here). Must be called
    /// inside a Tokio runtime.
    pub async fn start(
        config: &AirlockConfig,
        target: impl Into<Target>,
    ) -> Result<Self, ProxyError> {
        config.proxy.validate()?;
        deny_inspection();
        let sanitizer = Arc::new(
            Sanitizer::new(&config.sanitize)
                .map_err(|e| ProxyError::Airlock(AirlockError::Sanitize(e)))?,
        );
        let (upstream, started) =
            Upstream::start(target, config.proxy.clone(), Some(sanitizer.clone())).await?;
        let pass: std::collections::BTreeSet<String> = config.proxy.pass.iter().cloned().collect();
        let tools = if pass.contains("tools") {
            started.tools.as_slice()
        } else {
            &[]
        };
        let catalog = Arc::new(catalog_of(tools, Some(&sanitizer)));
        tracing::info!(tools = catalog.len(), "the upstream's tools are listed");
        let mut gate = None;
        let mut airlock = Airlock::builder(config, catalog).sanitizer(sanitizer.clone());
        let instructions = started
            .info
            .as_ref()
            .and_then(|info| info.instructions.clone());
        if let Some(pins) = &config.proxy.pins {
            let mut definitions: Vec<serde_json::Value> = tools
                .iter()
                .filter_map(|t| serde_json::to_value(t).ok())
                .collect();
            // The server's instructions reach the model like a tool's description: pinned
            // and scanned the same way, under a name no tool can have.
            if let Some(text) = &instructions {
                definitions.push(pins::instructions_definition(text));
            }
            let pins = Arc::new(pins::Pins::open(pins.clone(), &definitions)?);
            gate = Some(pins.clone());
            airlock = airlock.gate(pins);
        } else if let Some(text) = &instructions {
            let findings = pins::scan_text(text);
            if !findings.is_empty() {
                tracing::warn!(
                    ?findings,
                    "the upstream's instructions hold text aimed at the model; [proxy.pins] would hold them"
                );
            }
        }
        let airlock = airlock.build()?.without_sandbox();
        upstream.observe_tools(Arc::new(Follower {
            catalog: airlock.catalog().clone(),
            sanitizer: sanitizer.clone(),
            pins: gate.clone(),
            upstream: Arc::downgrade(&upstream),
            tools: pass.contains("tools"),
        }));
        upstream.audit_requests(airlock.audit().cloned());
        let stack = airlock.service(UpstreamService::new(upstream.clone()));
        let capabilities = started
            .info
            .as_ref()
            .and_then(|info| serde_json::to_value(&info.capabilities).ok())
            .unwrap_or_default();
        let relayed = Arc::new(
            UpstreamRelay::new(upstream.clone(), sanitizer.clone(), &capabilities, &pass)
                .guarded(Some(airlock.policy().clone()), airlock.audit().cloned()),
        );
        // What the upstream tells the model reaches it masked, like everything else, and
        // only as approved when pinned (held instructions are not served; an approval
        // takes effect at the proxy's next start).
        let held = |gate: &Arc<pins::Pins>| {
            use crate::layers::policy::ToolGate as _;
            gate.admit(pins::INSTRUCTIONS).is_err()
        };
        if instructions.is_some() && gate.as_ref().is_some_and(held) {
            tracing::warn!(
                "the upstream's instructions changed or hold text aimed at the model: not served until approved (`airlock pins diff`)"
            );
        }
        let instructions = instructions
            .filter(|_| !gate.as_ref().is_some_and(held))
            .map(|text| {
                sanitizer
                    .sanitize_text(&text, &mut Counts::new())
                    .into_owned()
            });
        Ok(Self {
            airlock,
            stack,
            upstream,
            instructions,
            relay: relayed,
            follows_tools: pass.contains("tools"),
            #[cfg(feature = "telemetry")]
            metrics: None,
        })
    }

    /// Serves `metrics` at `GET /metrics` beside `/mcp` over HTTP (feature `telemetry`).
    #[cfg(feature = "telemetry")]
    pub fn with_metrics(mut self, metrics: crate::telemetry::Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The stack: every layer over the upstream.
    pub fn stack(&self) -> &AirlockService<UpstreamService> {
        &self.stack
    }

    /// The layers, the catalog and the policy.
    pub fn airlock(&self) -> &Airlock {
        &self.airlock
    }

    /// The upstream.
    pub fn upstream(&self) -> &Arc<Upstream> {
        &self.upstream
    }

    /// The upstream's `instructions`, masked.
    pub fn instructions(&self) -> Option<&str> {
        self.instructions.as_deref()
    }

    /// Writes what the audit log holds.
    pub(crate) async fn flush(&self) {
        if let Some(audit) = self.airlock.audit()
            && let Err(e) = audit.flush().await
        {
            tracing::error!(error = %e, "the audit log could not be flushed");
        }
    }
}

/// Makes this process non-dumpable, before any upstream starts: a process of the same uid
/// without `CAP_SYS_PTRACE` (an unsandboxed upstream among them) can then neither read its
/// environment (`/proc/<pid>/environ`: the audit key, identity secrets, the upstream's
/// token, the Redis URL) nor its memory, nor attach to it. The upstream's own program is
/// dumpable again after its `exec`. No core dumps of the proxy follow from it either.
#[cfg(feature = "proxy")]
fn deny_inspection() {
    #[cfg(target_os = "linux")]
    if let Err(e) = nix::sys::prctl::set_dumpable(false) {
        tracing::warn!(error = %e, "the proxy could not make itself non-dumpable");
    }
}

/// Follows the upstream's tools when they may have changed (a restart, a
/// `notifications/tools/list_changed`): the pins look first, so a changed tool is held
/// before its new definition is served; then the catalog every layer checks against is
/// replaced, and the client is told when it changed.
#[cfg(feature = "proxy")]
struct Follower {
    catalog: crate::catalog::SharedCatalog,
    sanitizer: Arc<Sanitizer>,
    pins: Option<Arc<pins::Pins>>,
    upstream: std::sync::Weak<Upstream>,
    tools: bool,
}

#[cfg(feature = "proxy")]
impl ToolsObserver for Follower {
    fn observe(&self, tools: &[serde_json::Value]) {
        if let Some(pins) = &self.pins {
            pins.observe(tools);
        }
        if !self.tools {
            return;
        }
        let next = catalog_of_entries(tools, Some(&self.sanitizer));
        if next.to_mcp() == self.catalog.load().to_mcp() {
            return;
        }
        tracing::info!(tools = next.len(), "the upstream's tools changed");
        self.catalog.replace(next);
        if let Some(upstream) = self.upstream.upgrade() {
            upstream.tell_client("notifications/tools/list_changed");
        }
    }
}
