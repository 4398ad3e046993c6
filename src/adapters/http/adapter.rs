//! [`HttpAdapter`]: what the HTTP door serves and how; built with its builder methods.

use std::sync::Arc;
use std::time::Duration;

use super::front_door::Allowed;
use crate::adapters::{ServedStack, ToolStack};
use crate::catalog::SharedCatalog;
use crate::layers::policy::PolicyEngine;
use crate::state::session::{MemorySessionStore, SessionStore};

/// Builds the axum [`Router`](axum::Router); see the [module docs](super).
#[derive(Clone, Debug)]
pub struct HttpAdapter {
    pub(super) core: ServedStack,
    pub(super) body_limit: usize,
    pub(super) timeout: Duration,
    pub(super) body_timeout: Duration,
    pub(super) name: String,
    pub(super) version: String,
    pub(super) allowed: Allowed,
    pub(super) sessions: Arc<dyn SessionStore>,
    pub(super) require_session: bool,
    pub(super) page_size: usize,
    pub(super) cors: Option<tower_http::cors::CorsLayer>,
    pub(super) instructions: Option<String>,
    pub(super) relay: Option<Arc<dyn crate::mcp::Relay>>,
    pub(super) events: Option<crate::mcp::Outbox>,
    pub(super) streams: Arc<tokio::sync::Semaphore>,
    pub(super) open_streams: Arc<super::streams::OpenStreams>,
    pub(super) protected: Option<super::resource::ProtectedResource>,
    pub(super) seal: crate::mcp::StateSeal,
    pub(super) clients: Arc<super::clients::Clients>,
    #[cfg(feature = "telemetry")]
    pub(super) metrics: Option<crate::telemetry::Metrics>,
}

/// Most event streams (`GET /mcp`) open at once, by default.
pub(super) const MAX_STREAMS: usize = 64;

/// Most event streams one caller may hold open at once, by default.
pub(super) const MAX_STREAMS_PER_CALLER: usize = 4;

impl HttpAdapter {
    /// Serves `stack` (any service of tool calls: the airlock layers over a router) and
    /// lists the tools of `catalog`.
    pub fn new<S: ToolStack>(stack: S, catalog: impl Into<SharedCatalog>) -> Self {
        Self {
            core: ServedStack::new(stack, catalog.into()),
            body_limit: 1024 * 1024 + 64 * 1024,
            timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(10),
            name: "agent-airlock".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            allowed: Allowed::default(),
            sessions: Arc::new(MemorySessionStore::default()),
            require_session: true,
            page_size: 100,
            cors: None,
            instructions: None,
            relay: None,
            events: None,
            streams: Arc::new(tokio::sync::Semaphore::new(MAX_STREAMS)),
            open_streams: Arc::new(super::streams::OpenStreams::new(MAX_STREAMS_PER_CALLER)),
            protected: None,
            seal: crate::mcp::StateSeal::random(),
            clients: Arc::default(),
            #[cfg(feature = "telemetry")]
            metrics: None,
        }
    }

    /// Makes the door an OAuth 2.1 protected resource, as MCP's authorization
    /// specification asks: `resource`'s metadata (RFC 9728) served at
    /// `/.well-known/oauth-protected-resource` and at the form with the resource's path
    /// after it; a request without a token that verifies (where the policy requires an
    /// identity), or with one that does not, answered `401` with `WWW-Authenticate: Bearer
    /// resource_metadata="…"`; a call refused for lacking scopes answered `403` with
    /// `error="insufficient_scope"` and the scopes to ask for. Tokens are verified by the
    /// policy's verifier ([`OAuthVerifier`](crate::layers::policy::OAuthVerifier), feature
    /// `oauth`), so give the adapter the [`policy`](Self::policy) too.
    pub fn protected_resource(mut self, resource: super::resource::ProtectedResource) -> Self {
        self.protected = Some(resource);
        self
    }

    /// Serves `metrics` at `GET /metrics` in Prometheus's text format, behind the same
    /// front door (`Host`, `Origin`) as `/mcp` (feature `telemetry`). The text holds
    /// counts by tool, layer, refusal code and finding kind: no caller, no argument, no
    /// output; serve it on an address of its own ([`metrics_router`](super::metrics_router))
    /// when this one faces the internet.
    #[cfg(feature = "telemetry")]
    pub fn metrics(mut self, metrics: crate::telemetry::Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Event streams one caller with a credential may hold open at once (default 4, at
    /// least 1): one caller cannot take the pool of [`notifications`](Self::notifications)
    /// from the others. Callers without a credential cannot be told apart: the pool alone
    /// bounds them.
    pub fn streams_per_caller(mut self, max: usize) -> Self {
        self.open_streams = Arc::new(super::streams::OpenStreams::new(max.max(1)));
        self
    }

    /// Opens `GET /mcp` event streams (for a valid session of the caller, at most
    /// `max_streams` at once, [`streams_per_caller`](Self::streams_per_caller) of them per
    /// caller; a stream ends with its session, and keeps it in use) and sends every
    /// notification of `events` that every session may hear ([`Notification::for_every_session`](crate::mcp::Notification::for_every_session):
    /// that the tools changed) to every open stream; `tools.listChanged` is declared at
    /// `initialize`. Without it, `GET /mcp` is 405.
    pub fn notifications(mut self, events: crate::mcp::Outbox, max_streams: usize) -> Self {
        self.events = Some(events);
        self.streams = Arc::new(tokio::sync::Semaphore::new(max_streams.max(1)));
        self
    }

    /// Answers the MCP methods this adapter does not serve itself (`resources/*`,
    /// `prompts/*`, …) with `relay`, and declares its capabilities at `initialize`.
    pub fn relay(mut self, relay: Arc<dyn crate::mcp::Relay>) -> Self {
        self.relay = Some(relay);
        self
    }

    /// How the multi-round trip's `requestState` is sealed (revision 2026-07-28): under a
    /// key drawn at random by default, so only this process opens the states it issued.
    /// Replicas behind one load balancer share a [`StateSeal::from_key`](crate::mcp::StateSeal::from_key).
    pub fn request_state(mut self, seal: crate::mcp::StateSeal) -> Self {
        self.seal = seal;
        self
    }

    /// The `instructions` of `initialize` (what the server tells the model about itself).
    /// Sent as given: mask what comes from elsewhere first (the proxy does).
    pub fn instructions(mut self, instructions: Option<String>) -> Self {
        self.instructions = instructions;
        self
    }

    /// The host names (`Host` header, and the host of an `Origin` header) requests may
    /// carry, any port; default [`LOOPBACK_HOSTS`](super::LOOPBACK_HOSTS). A server reachable under other names
    /// lists them here: anything else is refused with 403, which is what stops DNS
    /// rebinding (a web page whose name resolves to this server).
    pub fn allowed_hosts<I: IntoIterator<Item = S>, S: Into<String>>(mut self, hosts: I) -> Self {
        self.allowed.hosts = Some(
            hosts
                .into_iter()
                .map(|h| h.into().to_ascii_lowercase())
                .collect(),
        );
        self
    }

    /// Accepts any `Host` (behind a proxy that checks it, or with authentication that a
    /// browser cannot forge). A request with an `Origin` header must then come from one of
    /// [`allowed_origins`](Self::allowed_origins).
    pub fn allow_any_host(mut self) -> Self {
        self.allowed.hosts = None;
        self
    }

    /// Further origins (`scheme://host[:port]`) a browser request may come from, besides
    /// those on an allowed host.
    pub fn allowed_origins<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        origins: I,
    ) -> Self {
        self.allowed.origins = origins
            .into_iter()
            .map(|o| o.into().to_ascii_lowercase())
            .collect();
        self
    }

    /// Answers CORS (preflights included) with `cors`; without it, none is sent, so a
    /// browser page of another origin cannot read an answer. List the same origins in
    /// [`allowed_origins`](Self::allowed_origins).
    pub fn cors(mut self, cors: super::CorsLayer) -> Self {
        self.cors = Some(cors);
        self
    }

    /// Where sessions issued at `initialize` live (default: in memory, 10,000 of an hour).
    pub fn session_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.sessions = store;
        self
    }

    /// Whether MCP requests after `initialize` must carry a session id (default true:
    /// missing → 400). Off, a request without one runs outside any session (and no session
    /// budget counts it); one with an id must still present a live one of its own.
    pub fn require_session(mut self, require: bool) -> Self {
        self.require_session = require;
        self
    }

    /// Tools per `tools/list` page (default 100, at least 1); further pages by cursor.
    pub fn page_size(mut self, tools: usize) -> Self {
        self.page_size = tools.max(1);
        self
    }

    /// Filters `tools/list` for each caller with this policy (the same the stack uses).
    pub fn policy(mut self, policy: Arc<PolicyEngine>) -> Self {
        self.core.set_policy(policy);
        self
    }

    /// Largest request body in bytes.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Longest a request may take.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Longest a client may take to send a request's body once its head arrived (default
    /// 10 s): a body that trickles in is cut off with 408, its connection freed.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// The `serverInfo` of `initialize`.
    pub fn server_info(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.name = name.into();
        self.version = version.into();
        self
    }
}
