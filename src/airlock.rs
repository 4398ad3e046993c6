//! [`Airlock`]: the recommended stack, built from one [`AirlockConfig`].
//!
//! Every layer works alone and in any order; this preset is the order we recommend and the
//! one place in the codebase that assembles it (`airlock check`, the example servers and
//! the benchmarks use it):
//!
//! ```text
//! Audit            one hash-chained record per call, refusals included   (when [audit] path is set)
//!  └ Sanitize      masks what comes back, refusals of every inner layer included; output budget
//!     └ Policy     name rule, identity, allow/deny, schedules, rate limits, session budgets
//!        └ StripGhostArgs   drops (strict: refuses) undeclared arguments
//!           └ StrictSchema  JSON Schema, no coercion
//!              └ Sandbox    the tools `[sandbox]` names, in an isolated process (feature `sandbox`,
//!                 └ inner   when `[sandbox] tools` or `commands` is set)
//! ```
//!
//! `[sanitize]` is compiled once and shared by the sanitize and audit layers. The preset is
//! a [`tower::Layer`], so it also goes into a `ServiceBuilder` among layers of your own;
//! building the stack by hand from the individual layers stays fully supported (see the
//! crate docs).
//!
//! ```
//! use agent_airlock::{Airlock, AirlockConfig, RejectionCode, ToolCall, ToolRouter};
//! use serde_json::json;
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let router = ToolRouter::builder()
//!     .raw_tool("lookup", "Find a customer",
//!         json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}),
//!         |args: serde_json::Value| async move {
//!             Ok::<_, std::io::Error>(json!({"name": args["name"], "email": "jane@example.com"}))
//!         })
//!     .build()?;
//! let config = AirlockConfig::from_toml_str("[policy]\ndenied_tools = [\"delete_*\"]")?;
//! let airlock = Airlock::from_config(&config, router.catalog())?;
//! let stack = airlock.service(router);
//!
//! // A ghost argument is stripped and the e-mail address in the answer is masked.
//! let ok = stack.clone().oneshot(ToolCall::new("lookup", json!({"name": "Jane", "force": true}))).await?;
//! assert!(!ok.is_error);
//! assert!(!format!("{:?}", ok.output).contains("jane@example.com"));
//! // A type error is refused by the schema layer, a denied tool by the policy.
//! let refused = stack.clone().oneshot(ToolCall::new("lookup", json!({"name": 5}))).await?;
//! assert_eq!(refused.rejection.unwrap().code, RejectionCode::SchemaViolation);
//! let denied = stack.oneshot(ToolCall::new("delete_all", json!({}))).await?;
//! assert_eq!(denied.rejection.unwrap().code, RejectionCode::PolicyDenied);
//! # Ok(())
//! # }
//! ```

use std::fmt::Display;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower::util::{BoxCloneSyncService, Either};
use tower_layer::Layer;
use tower_service::Service;

use crate::catalog::SharedCatalog;
use crate::config::AirlockConfig;
use crate::layers::audit::{Audit, AuditError, AuditLayer};
use crate::layers::policy::{
    Policy, PolicyEngine, PolicyEngineBuilder, PolicyError, PolicyLayer, ToolGate,
};
use crate::layers::sanitize::{Sanitize, SanitizeError, SanitizeLayer, Sanitizer};
use crate::layers::strict_schema::{StrictSchema, StrictSchemaLayer};
use crate::layers::strip_ghost_args::{StripGhostArgs, StripGhostArgsLayer};
use crate::service::{ToolCall, ToolResponse};
#[cfg(feature = "redis")]
use crate::state::RedisState;
use crate::state::{Backend, StateConfig, StateError};

#[cfg(all(feature = "sandbox", target_os = "linux"))]
use crate::layers::sandbox::{Sandbox, SandboxError, SandboxLayer};

/// A section of the configuration that cannot be built into its layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AirlockError {
    /// `[sanitize]`.
    #[error("sanitize: {0}")]
    Sanitize(#[from] SanitizeError),
    /// `[policy]`.
    #[error("policy: {0}")]
    Policy(#[from] PolicyError),
    /// `[audit]`.
    #[error("audit: {0}")]
    Audit(#[from] AuditError),
    /// `[sandbox]`.
    #[cfg(all(feature = "sandbox", target_os = "linux"))]
    #[error("{0}")]
    Sandbox(#[from] SandboxError),
    /// A section asks for what this build does not have.
    #[error("{section} needs agent-airlock built with the `{feature}` feature{platform}")]
    FeatureOff {
        /// The section (`[sandbox]`).
        section: &'static str,
        /// The cargo feature that has it.
        feature: &'static str,
        /// Where it exists, when not everywhere (`, on Linux`).
        platform: &'static str,
    },
    /// `[state]`.
    #[error("{0}")]
    State(#[from] StateError),
}

/// The recommended stack's layers, built once from an [`AirlockConfig`]; see the
/// [module docs](self). Cheap to clone: every layer shares its compiled state.
#[derive(Debug, Clone)]
#[must_use]
pub struct Airlock {
    catalog: SharedCatalog,
    sanitizer: Arc<Sanitizer>,
    audit: Option<AuditLayer>,
    sanitize: Option<SanitizeLayer>,
    policy: PolicyLayer,
    ghost: StripGhostArgsLayer,
    schema: StrictSchemaLayer,
    #[cfg(all(feature = "sandbox", target_os = "linux"))]
    sandbox: Option<SandboxLayer>,
    #[cfg(feature = "redis")]
    shared: Option<Arc<RedisState>>,
    session_ttl: std::time::Duration,
    sessions_per_caller: usize,
    #[cfg_attr(not(feature = "axum"), allow(dead_code))] // served only with `axum`
    approvers: Vec<String>,
    #[cfg(feature = "axum")]
    protected: Option<crate::adapters::http::ProtectedResource>,
}

/// Builds an [`Airlock`] from a configuration and parts made elsewhere; from
/// [`Airlock::builder`].
#[derive(Debug)]
#[must_use]
pub struct AirlockBuilder<'a> {
    config: &'a AirlockConfig,
    catalog: SharedCatalog,
    gate: Option<Arc<dyn ToolGate>>,
    sanitizer: Option<Arc<Sanitizer>>,
}

impl AirlockBuilder<'_> {
    /// A gate the policy consults after identity on every call and for every listed tool.
    pub fn gate(mut self, gate: Arc<dyn ToolGate>) -> Self {
        self.gate = Some(gate);
        self
    }

    /// The sanitizer to mask with, instead of compiling `[sanitize]` again.
    pub fn sanitizer(mut self, sanitizer: Arc<Sanitizer>) -> Self {
        self.sanitizer = Some(sanitizer);
        self
    }

    /// Builds every layer the configuration enables; see [`Airlock::from_config`].
    pub fn build(self) -> Result<Airlock, AirlockError> {
        Airlock::build(self.config, self.catalog, self.gate, self.sanitizer)
    }
}

impl Airlock {
    /// Builds every layer `config` enables for the tools of `catalog`: audit when
    /// `[audit] path` is set, sandbox when `[sandbox]` names tools or commands, the others
    /// always. Every problem of every section is reported here, naming the key. With
    /// `[state] backend = "redis"`, rate limits and session budgets live on that server
    /// (this must then be called inside a Tokio runtime; the server is reached at the
    /// first call, so one that is down at start-up is handled like one that goes down later).
    pub fn from_config(
        config: &AirlockConfig,
        catalog: impl Into<SharedCatalog>,
    ) -> Result<Self, AirlockError> {
        Self::build(config, catalog.into(), None, None)
    }

    /// [`from_config`](Self::from_config) with more parts: a [`ToolGate`] the policy
    /// consults on every call and listing (the proxy's tool pins), or a `[sanitize]`
    /// already compiled (shared with whatever else masks with it).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// use agent_airlock::{Airlock, AirlockConfig, Sanitizer, ToolCatalog};
    ///
    /// let config = AirlockConfig::default();
    /// let sanitizer = Arc::new(Sanitizer::new(&config.sanitize)?);
    /// let airlock = Airlock::builder(&config, Arc::new(ToolCatalog::new()))
    ///     .sanitizer(sanitizer.clone())
    ///     .build()?;
    /// assert!(Arc::ptr_eq(airlock.sanitizer(), &sanitizer));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder(
        config: &AirlockConfig,
        catalog: impl Into<SharedCatalog>,
    ) -> AirlockBuilder<'_> {
        AirlockBuilder {
            config,
            catalog: catalog.into(),
            gate: None,
            sanitizer: None,
        }
    }

    fn build(
        config: &AirlockConfig,
        catalog: SharedCatalog,
        gate: Option<Arc<dyn ToolGate>>,
        sanitizer: Option<Arc<Sanitizer>>,
    ) -> Result<Self, AirlockError> {
        let sanitizer = match sanitizer {
            Some(sanitizer) => sanitizer,
            None => Arc::new(Sanitizer::new(&config.sanitize)?),
        };
        let audit = match config.audit.path {
            Some(_) => Some(AuditLayer::from_config(&config.audit, sanitizer.clone())?),
            None => None,
        };
        let isolates = !config.sandbox.tools.is_empty() || !config.sandbox.commands.is_empty();
        #[cfg(all(feature = "sandbox", target_os = "linux"))]
        let sandbox = if isolates {
            Some(SandboxLayer::from_config(&config.sandbox)?)
        } else {
            None
        };
        // A build without the sandbox reads `[sandbox]` too: tools to isolate are an error
        // (they must never run unisolated); a section that isolates nothing is ignored.
        #[cfg(not(all(feature = "sandbox", target_os = "linux")))]
        if isolates {
            return Err(AirlockError::FeatureOff {
                section: "[sandbox] (it names tools to isolate)",
                feature: "sandbox",
                platform: ", on Linux",
            });
        } else if config.sandbox != crate::config::SandboxConfig::default() {
            tracing::warn!(
                "[sandbox] is ignored: this build has no sandbox, and it isolates no tool"
            );
        }
        #[cfg(feature = "redis")]
        let shared = shared_state(&config.state)?;
        #[cfg(not(feature = "redis"))]
        shared_state(&config.state)?;
        let mut policy = PolicyEngineBuilder::from_config(&config.policy)?.catalog(catalog.clone());
        // Approvers (and the approval store) see a held call's arguments masked.
        let masker = sanitizer.clone();
        policy = policy.approval_preview(Arc::new(move |arguments: &serde_json::Value| {
            let mut shown = arguments.clone();
            masker.sanitize_json(&mut shown, &mut Default::default());
            shown
        }));
        if let Some(gate) = gate {
            policy = policy.gate(gate);
        }
        #[cfg(feature = "redis")]
        if let Some(store) = &shared {
            policy = policy.shared_store(store.clone());
            // Held calls on the same server, so any replica can resume them.
            if let Some(approvals) = &config.policy.approvals {
                let requests =
                    crate::approvals::RedisApprovalStore::new(store.clone(), approvals.max_pending);
                policy = policy.approvals(Arc::new(requests), approvals.clone());
            }
        }
        let session_ttl = std::time::Duration::from_secs(
            config
                .policy
                .sessions
                .as_ref()
                .map_or(3600, |s| s.ttl_secs.max(1)),
        );
        let sessions_per_caller = config
            .policy
            .sessions
            .as_ref()
            .map_or(64, |s| s.max_per_caller.max(1));
        #[cfg(feature = "axum")]
        let protected =
            crate::adapters::http::ProtectedResource::from_config(config.policy.identity.as_ref())
                .map_err(PolicyError::Identity)?;
        Ok(Self {
            #[cfg(feature = "axum")]
            protected,
            audit,
            sanitize: Some(SanitizeLayer::new(sanitizer.clone())),
            policy: PolicyLayer::new(Arc::new(policy.build()?)),
            ghost: StripGhostArgsLayer::from_config(&config.strip_ghost_args(), catalog.clone()),
            schema: StrictSchemaLayer::from_config(&config.strict_schema(), catalog.clone()),
            #[cfg(all(feature = "sandbox", target_os = "linux"))]
            sandbox,
            #[cfg(feature = "redis")]
            shared,
            session_ttl,
            sessions_per_caller,
            approvers: config
                .policy
                .approvals
                .as_ref()
                .map(|a| a.approvers.clone())
                .unwrap_or_default(),
            sanitizer,
            catalog,
        })
    }

    /// The protected resource an HTTP door publishes and enforces
    /// ([`HttpAdapter::protected_resource`](crate::adapters::http::HttpAdapter::protected_resource)),
    /// when `[policy.identity]` is `kind = "oauth"` (feature `axum`).
    #[cfg(feature = "axum")]
    pub fn protected_resource(&self) -> Option<&crate::adapters::http::ProtectedResource> {
        self.protected.as_ref()
    }

    /// Where approvers decide on held calls (`[policy.approvals]`): the page and API to serve
    /// (at `[policy.approvals] listen` for `airlock proxy`), recording decisions in this
    /// stack's audit log. `None` without approvals.
    #[cfg(feature = "axum")]
    pub fn approval_server(&self) -> Option<crate::approvals::ApprovalServer> {
        crate::approvals::ApprovalServer::new(
            self.policy().clone(),
            self.approvers.clone(),
            self.audit.clone(),
        )
    }

    /// Leaves the audit layer out, whatever `[audit]` says.
    pub fn without_audit(mut self) -> Self {
        self.audit = None;
        self
    }

    /// Leaves the sanitize layer out: responses come back unmasked and uncut. Only for
    /// what never reaches a model (`airlock check` shows the arguments a tool would get).
    pub fn without_sanitize(mut self) -> Self {
        self.sanitize = None;
        self
    }

    /// Leaves the sandbox layer out: every tool runs in the inner service (for an inner
    /// service that runs nothing, such as `airlock check`'s dry run).
    #[allow(unused_mut)] // mutated only with the `sandbox` feature
    pub fn without_sandbox(mut self) -> Self {
        #[cfg(all(feature = "sandbox", target_os = "linux"))]
        {
            self.sandbox = None;
        }
        self
    }

    /// The stack over `inner`.
    pub fn service<S>(&self, inner: S) -> AirlockService<S> {
        self.layer(inner)
    }

    /// The catalog every layer checks against; adapters serve it as `tools/list`. A
    /// [`replace`](SharedCatalog::replace) reaches every layer at its next call.
    pub fn catalog(&self) -> &SharedCatalog {
        &self.catalog
    }

    /// The policy engine, for adapters to filter `tools/list` by caller.
    pub fn policy(&self) -> &Arc<PolicyEngine> {
        self.policy.policy()
    }

    /// The compiled `[sanitize]`, shared by the sanitize and audit layers; adapters run the
    /// texts they build themselves through it.
    pub fn sanitizer(&self) -> &Arc<Sanitizer> {
        &self.sanitizer
    }

    /// Where the HTTP adapter keeps the MCP sessions it issues
    /// ([`HttpAdapter::session_store`](crate::adapters::http::HttpAdapter::session_store)):
    /// on the `[state]` Redis server when there is one (a session initialized on one replica
    /// is accepted on every other, for the same caller), in memory otherwise; each lives
    /// `[policy.sessions] ttl_secs` (default an hour) after its last use, and one caller
    /// holds at most `max_per_caller` (default 64) at once.
    pub fn session_store(&self) -> Arc<dyn crate::state::session::SessionStore> {
        #[cfg(feature = "redis")]
        if let Some(state) = &self.shared {
            return Arc::new(
                crate::state::RedisSessionStore::new(state.clone(), self.session_ttl)
                    .max_per_owner(self.sessions_per_caller),
            );
        }
        Arc::new(
            crate::state::session::MemorySessionStore::new(10_000, self.session_ttl)
                .max_per_owner(self.sessions_per_caller),
        )
    }

    /// The Redis server of `[state]`, when `backend = "redis"` (for metrics such as
    /// [`failed_open`](RedisState::failed_open)).
    #[cfg(feature = "redis")]
    pub fn shared_state(&self) -> Option<&Arc<RedisState>> {
        self.shared.as_ref()
    }

    /// The audit layer, when present: for [`flush`](AuditLayer::flush) at shutdown and
    /// [`stats`](AuditLayer::stats).
    pub fn audit(&self) -> Option<&AuditLayer> {
        self.audit.as_ref()
    }
}

/// The shared store `[state]` asks for: none for `memory`.
#[cfg(feature = "redis")]
fn shared_state(config: &StateConfig) -> Result<Option<Arc<RedisState>>, StateError> {
    match config.backend {
        Backend::Memory => Ok(None),
        Backend::Redis => Ok(Some(Arc::new(RedisState::new(config)?))),
    }
}

/// Without the `redis` feature only `memory` can be had.
#[cfg(not(feature = "redis"))]
fn shared_state(config: &StateConfig) -> Result<(), StateError> {
    match config.backend {
        Backend::Memory => Ok(()),
        Backend::Redis => Err(StateError::Config(
            "backend = \"redis\" needs agent-airlock built with the `redis` feature".into(),
        )),
    }
}

#[cfg(all(feature = "sandbox", target_os = "linux"))]
type Isolated<S> = Either<Sandbox<S>, S>;
#[cfg(not(all(feature = "sandbox", target_os = "linux")))]
type Isolated<S> = S;
type Checked<S> = Policy<StripGhostArgs<StrictSchema<Isolated<S>>>>;
type Masked<S> = Either<Sanitize<Checked<S>>, Checked<S>>;
type Recorded<S> = Either<Audit<Masked<S>>, Masked<S>>;

impl<S> Layer<S> for Airlock {
    type Service = AirlockService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        #[cfg(all(feature = "sandbox", target_os = "linux"))]
        let inner = match &self.sandbox {
            Some(sandbox) => Either::Left(sandbox.layer(inner)),
            None => Either::Right(inner),
        };
        let checked = self
            .policy
            .layer(self.ghost.layer(self.schema.layer(inner)));
        let masked = match &self.sanitize {
            Some(sanitize) => Either::Left(sanitize.layer(checked)),
            None => Either::Right(checked),
        };
        let recorded = match &self.audit {
            Some(audit) => Either::Left(audit.layer(masked)),
            None => Either::Right(masked),
        };
        AirlockService { inner: recorded }
    }
}

/// The stack [`Airlock`] builds over `S`. Refusals are responses; errors are `S`'s own.
#[derive(Debug, Clone)]
pub struct AirlockService<S> {
    inner: Recorded<S>,
}

impl<S> AirlockService<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        let masked = match &self.inner {
            Either::Left(audit) => audit.get_ref(),
            Either::Right(masked) => masked,
        };
        let checked = match masked {
            Either::Left(sanitize) => sanitize.get_ref(),
            Either::Right(checked) => checked,
        };
        let isolated = checked.get_ref().get_ref().get_ref();
        #[cfg(all(feature = "sandbox", target_os = "linux"))]
        let isolated = match isolated {
            Either::Left(sandbox) => sandbox.get_ref(),
            Either::Right(inner) => inner,
        };
        isolated
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        let masked = match &mut self.inner {
            Either::Left(audit) => audit.get_mut(),
            Either::Right(masked) => masked,
        };
        let checked = match masked {
            Either::Left(sanitize) => sanitize.get_mut(),
            Either::Right(checked) => checked,
        };
        let isolated = checked.get_mut().get_mut().get_mut();
        #[cfg(all(feature = "sandbox", target_os = "linux"))]
        let isolated = match isolated {
            Either::Left(sandbox) => sandbox.get_mut(),
            Either::Right(inner) => inner,
        };
        isolated
    }

    /// Unwraps the service.
    pub fn into_inner(self) -> S {
        let masked = match self.inner {
            Either::Left(audit) => audit.into_inner(),
            Either::Right(masked) => masked,
        };
        let checked = match masked {
            Either::Left(sanitize) => sanitize.into_inner(),
            Either::Right(checked) => checked,
        };
        let isolated = checked.into_inner().into_inner().into_inner();
        #[cfg(all(feature = "sandbox", target_os = "linux"))]
        let isolated = match isolated {
            Either::Left(sandbox) => sandbox.into_inner(),
            Either::Right(inner) => inner,
        };
        isolated
    }

    /// The stack behind one type, whatever its layers and inner service: what adapters
    /// store.
    pub fn boxed(self) -> BoxCloneSyncService<ToolCall, ToolResponse, S::Error>
    where
        S: Service<ToolCall, Response = ToolResponse> + Clone + Send + Sync + 'static,
        S::Future: Send + 'static,
        S::Error: Display + 'static,
    {
        BoxCloneSyncService::new(self)
    }
}

impl<S> Service<ToolCall> for AirlockService<S>
where
    S: Service<ToolCall, Response = ToolResponse> + Clone,
    S::Error: Display,
{
    type Response = ToolResponse;
    type Error = S::Error;
    type Future = <Recorded<S> as Service<ToolCall>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, call: ToolCall) -> Self::Future {
        self.inner.call(call)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ToolCatalog;

    /// A build without the sandbox never runs a tool `[sandbox]` names: it refuses to build
    /// the stack, naming the feature; a `[sandbox]` that isolates nothing is fine.
    #[test]
    fn sandboxed_tools_on_a_build_without_the_sandbox_name_the_feature() {
        let mut config = AirlockConfig::default();
        config.sandbox.tools = vec!["run_*".into()];
        let built = Airlock::from_config(&config, Arc::new(ToolCatalog::new()));
        if cfg!(all(feature = "sandbox", target_os = "linux")) {
            assert!(!matches!(built, Err(AirlockError::FeatureOff { .. })));
        } else {
            let err = built.unwrap_err();
            assert!(err.to_string().contains("`sandbox` feature"), "{err}");
        }
        config.sandbox.tools.clear();
        config.sandbox.required = false;
        assert!(Airlock::from_config(&config, Arc::new(ToolCatalog::new())).is_ok());
    }
}
