//! [`PolicyEngine`]: the decision engine, usable without Tower.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::BoxFuture;
use sha2::{Digest, Sha256};

use super::clock::{Clock, SystemClock};
use super::config::{IdentityConfig, IdentityKind, PolicyConfig, RuleConfig};
use super::error::PolicyError;
use super::gate::ToolGate;
use super::identity::{HmacTokenVerifier, IdentityVerifier};
use super::rate::{GovernorStore, RateLimitStore, RateSpec};
use super::rules::{Denial, Matcher, RuleSet, ToolRules};
use super::schedule::{Schedule, ScheduleConfig};
use super::session::{BudgetExceeded, MAX_SESSION_ID, SessionBudgets, SessionConfig};
use super::shared::{Admission, RateCharge, SharedStore, Verdict};
use crate::catalog::{SharedCatalog, check_tool_name};
use crate::preview::display_name;
use crate::service::layer_names::POLICY;
use crate::service::{Caller, Rejection, ToolCall};

/// Tools listed in a `policy_denied` hint.
const HINT_TOOLS: usize = 20;
/// Key of callers without an agent id in per-agent limits.
const ANONYMOUS: &str = "\u{0}anonymous";
/// Key of global limits.
const EVERYONE: &str = "\u{0}everyone";

struct RateRule {
    tools: Matcher,
    pattern: String,
    spec: RateSpec,
    global: bool,
}

impl RateRule {
    /// The limit as refusals name it: `5/minute for `customer_*`, per agent`.
    fn describe(&self) -> String {
        let scope = if self.global {
            "for all agents"
        } else {
            "per agent"
        };
        format!("{} for `{}`, {scope}", self.spec, self.pattern)
    }

    /// The limit's name in a shared store: the same on every replica with the same rule,
    /// different for a changed rule (whose old counters then no longer apply).
    fn shared_id(&self) -> String {
        let scope = if self.global { "global" } else { "agent" };
        let digest = Sha256::digest(format!("{}\0{}\0{scope}", self.pattern, self.spec));
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// An agent id as a key part: short ids as they are, long ones by their digest (keys stay
/// bounded whatever a caller claims).
fn agent_key(agent: Option<&str>) -> String {
    match agent {
        None => "-".to_owned(),
        Some(id) if id.len() <= 128 => format!("={id}"),
        Some(id) => {
            let digest = Sha256::digest(id.as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            format!("#{hex}")
        }
    }
}

/// The refusal for a session budget that is spent.
fn budget_rejection(exceeded: BudgetExceeded) -> Rejection {
    match exceeded {
        BudgetExceeded::Session { limit } => Rejection::budget_exceeded(
            POLICY,
            format!("this session has used all of its {limit} calls"),
        ),
        BudgetExceeded::Tool { pattern, limit } => Rejection::budget_exceeded(
            POLICY,
            format!("this session has used all of its {limit} calls of tools matching `{pattern}`"),
        ),
        BudgetExceeded::TooManySessions => {
            Rejection::budget_exceeded(POLICY, "too many sessions are active; try again later")
                .with_retry_after(Duration::from_secs(60))
        }
        BudgetExceeded::NoSession => Rejection::malformed_call(
            POLICY,
            "this server requires a session id on every call",
            "send the call within a session (e.g. the Mcp-Session-Id header)",
        ),
    }
}

/// How to word a shared store's refusal of one call.
#[derive(Debug, Default)]
struct Refusals {
    tool: String,
    rates: Vec<String>,
    session_limit: u32,
    tools: Vec<(String, u32)>,
}

impl Refusals {
    fn refusal(&self, verdict: Verdict) -> Option<Rejection> {
        match verdict {
            Verdict::Admitted => None,
            Verdict::RateLimited { index, retry_after } => {
                let limit = self.rates.get(index).map_or("a rate limit", String::as_str);
                Some(Rejection::rate_limited(
                    POLICY,
                    &self.tool,
                    limit,
                    retry_after,
                ))
            }
            Verdict::SessionSpent => Some(budget_rejection(BudgetExceeded::Session {
                limit: self.session_limit,
            })),
            Verdict::ToolSpent { index } => {
                let (pattern, limit) = self.tools.get(index).cloned().unwrap_or_default();
                Some(budget_rejection(BudgetExceeded::Tool { pattern, limit }))
            }
        }
    }
}

/// What [`PolicyEngine::decide`] found.
#[derive(Debug)]
#[must_use]
pub enum Decision {
    /// The call may go ahead (its counters were charged).
    Allowed,
    /// The call is refused; nothing after the refusing rule was charged.
    Refused(Rejection),
    /// Every local rule admitted the call; the shared store decides the rest.
    Pending(PendingDecision),
}

/// The shared store's part of a decision: resolves to `Ok` when the call may go ahead,
/// within the store's command timeout.
#[must_use = "futures do nothing unless polled"]
pub struct PendingDecision {
    future: BoxFuture<'static, Result<(), Rejection>>,
}

impl std::fmt::Debug for PendingDecision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PendingDecision")
    }
}

impl Future for PendingDecision {
    type Output = Result<(), Rejection>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.future.as_mut().poll(cx)
    }
}

/// Who may call which tool, when and how often. Built once with [`PolicyEngine::builder`] or
/// [`PolicyEngine::from_config`]; shared behind an `Arc` by every clone of the layer.
pub struct PolicyEngine {
    rules: ToolRules,
    verifier: Option<Arc<dyn IdentityVerifier>>,
    require_identity: bool,
    schedules: Vec<Schedule>,
    rate_rules: Vec<RateRule>,
    rate_ids: Vec<String>,
    rate_store: Arc<dyn RateLimitStore>,
    sessions: Option<SessionBudgets>,
    shared: Option<Arc<dyn SharedStore>>,
    gate: Option<Arc<dyn ToolGate>>,
    clock: Arc<dyn Clock>,
    catalog: Option<SharedCatalog>,
}

impl std::fmt::Debug for PolicyEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyEngine")
            .field("require_identity", &self.require_identity)
            .field("verifier", &self.verifier)
            .field("schedules", &self.schedules.len())
            .field("rate_limits", &self.rate_rules.len())
            .field("sessions", &self.sessions.is_some())
            .field("shared", &self.shared)
            .finish()
    }
}

impl PolicyEngine {
    /// Starts a policy that allows everything; add rules to it.
    pub fn builder() -> PolicyEngineBuilder {
        PolicyEngineBuilder::default()
    }

    /// A policy from `[policy]`, reading secrets from the environment variables it names.
    pub fn from_config(config: &PolicyConfig) -> Result<PolicyEngineBuilder, PolicyError> {
        Self::from_config_with_env(config, |name| std::env::var(name).ok())
    }

    /// Like [`from_config`](Self::from_config), with the environment given as a lookup.
    pub fn from_config_with_env(
        config: &PolicyConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<PolicyEngineBuilder, PolicyError> {
        let mut b = PolicyEngine::builder()
            .deny(config.denied_tools.iter().cloned())
            .require_identity(config.require_identity)
            .max_tracked_agents(config.max_tracked_agents);
        if let Some(allowed) = &config.allowed_tools {
            b = b.allow(allowed.iter().cloned());
        }
        for (role, rule) in &config.roles {
            b = b.role(role, rule.clone());
        }
        for (agent, rule) in &config.agents {
            b = b.agent(agent, rule.clone());
        }
        for schedule in &config.schedules {
            b = b.schedule(schedule.clone());
        }
        for (glob, limit) in &config.rate_limits {
            b = b.rate_limit(glob, limit.spec()?);
        }
        for (glob, limit) in &config.global_rate_limits {
            b = b.global_rate_limit(glob, limit.spec()?);
        }
        if let Some(sessions) = &config.sessions {
            b = b.sessions(sessions.clone());
        }
        if let Some(identity) = &config.identity {
            b = b.verifier(verifier_from_config(identity, &env)?);
        }
        Ok(b)
    }

    /// Decides a call whose counters are in this process. May rewrite `call.caller` with
    /// the verified identity. Consumes rate and budget only for calls that every earlier
    /// rule admitted. An engine with a [shared store](PolicyEngineBuilder::shared_store)
    /// decides asynchronously: use [`decide`](Self::decide) (here such a call is refused
    /// with `state_unavailable`).
    pub fn check(&self, call: &mut ToolCall) -> Result<(), Rejection> {
        match self.decide(call) {
            Decision::Allowed => Ok(()),
            Decision::Refused(rejection) => Err(rejection),
            Decision::Pending(_) => {
                Err(Rejection::state_unavailable(POLICY, Duration::from_secs(1)))
            }
        }
    }

    /// Decides a call: at once when everything it needs is in this process, otherwise
    /// [`Decision::Pending`] on the shared store (one round trip, whatever the number of
    /// limits). May rewrite `call.caller` with the verified identity.
    pub fn decide(&self, call: &mut ToolCall) -> Decision {
        if let Err(rejection) = self.check_rules(call) {
            return Decision::Refused(rejection);
        }
        let Some(store) = &self.shared else {
            return match self.count_locally(call) {
                Ok(()) => Decision::Allowed,
                Err(rejection) => Decision::Refused(rejection),
            };
        };
        let (admission, labels) = match self.admission(call) {
            Ok(pair) => pair,
            Err(rejection) => return Decision::Refused(rejection),
        };
        if admission.is_empty() {
            return Decision::Allowed;
        }
        let verdict = store.admit(admission);
        Decision::Pending(PendingDecision {
            future: Box::pin(async move {
                match verdict.await {
                    Ok(verdict) => labels.refusal(verdict).map_or(Ok(()), Err),
                    Err(unavailable) => {
                        tracing::warn!(reason = %unavailable.reason, "shared state unavailable; call refused");
                        Err(Rejection::state_unavailable(
                            POLICY,
                            unavailable.retry_after,
                        ))
                    }
                }
            }),
        })
    }

    /// Name, identity, tool rules and time windows: everything decided without counters.
    fn check_rules(&self, call: &mut ToolCall) -> Result<(), Rejection> {
        if let Err(e) = check_tool_name(&call.tool) {
            return Err(e.to_rejection(POLICY));
        }
        self.authenticate(&mut call.caller)?;
        if let Some(gate) = &self.gate {
            gate.admit(&call.tool)?;
        }
        if call.caller.verified
            && let Some(agent) = &call.caller.agent_id
            && let Some(slot) = call.extensions.get::<crate::service::VerifiedAgent>()
        {
            slot.set(agent);
        }
        let tool = call.tool.as_str();
        let caller = &call.caller;
        if let Err(denial) = self.rules.decide(tool, caller, self.trusts_id(caller)) {
            let message = match denial {
                Denial::Denied { rule, pattern } => {
                    format!("tool `{tool}` is denied by the {rule} rule `{pattern}`")
                }
                Denial::NotAllowed => {
                    format!("tool `{tool}` is not on any allow list that applies to this caller")
                }
            };
            // Only as many as the hint shows: a denied call must stay cheap.
            let visible = self.visible_tools_up_to(caller, HINT_TOOLS + 1);
            let visible: Vec<&str> = visible.iter().map(String::as_str).collect();
            tracing::info!(tool, agent = ?caller.agent_id.as_deref().map(display_name), "policy denied a call");
            return Err(Rejection::policy_denied(POLICY, message, &visible));
        }
        let now = self.clock.now();
        for schedule in &self.schedules {
            if schedule.applies_to(tool)
                && let Err(opening) = schedule.check(now)
            {
                let wait = opening.duration_since(now).unsigned_abs();
                return Err(Rejection::outside_schedule(
                    POLICY,
                    tool,
                    schedule.label(),
                    wait,
                ));
            }
        }
        if let Some(session) = call.session.as_deref()
            && self.sessions.is_some()
            && session.len() > MAX_SESSION_ID
        {
            return Err(Rejection::malformed_call(
                POLICY,
                format!("the session id is longer than {MAX_SESSION_ID} bytes"),
                "use the session id the server gave you",
            ));
        }
        Ok(())
    }

    /// Rate limits and session budgets in this process's memory.
    fn count_locally(&self, call: &ToolCall) -> Result<(), Rejection> {
        let tool = call.tool.as_str();
        self.check_rates(tool, &call.caller)?;
        if let Some(sessions) = &self.sessions {
            sessions
                .check_and_count(call.session.as_deref(), tool)
                .map_err(budget_rejection)?;
        }
        Ok(())
    }

    /// What the shared store must count for `call`, and how to word its refusals.
    fn admission(&self, call: &ToolCall) -> Result<(Admission, Refusals), Rejection> {
        let tool = call.tool.as_str();
        let agent = agent_key(call.caller.agent_id.as_deref());
        let mut admission = Admission::default();
        let mut labels = Refusals {
            tool: tool.to_owned(),
            ..Refusals::default()
        };
        for (rule, id) in self.rate_rules.iter().zip(&self.rate_ids) {
            if !rule.tools.is_match(tool) {
                continue;
            }
            let key = if rule.global {
                format!("rate:{id}:*")
            } else {
                format!("rate:{id}:{agent}")
            };
            admission.rates.push(RateCharge {
                key,
                spec: rule.spec,
            });
            labels.rates.push(rule.describe());
        }
        if let Some(sessions) = &self.sessions {
            admission.session = sessions
                .charge(call.session.as_deref(), tool)
                .map_err(budget_rejection)?;
            if let Some(charge) = &admission.session {
                labels.session_limit = charge.max_calls.unwrap_or(0);
                labels.tools = charge
                    .tools
                    .iter()
                    .map(|t| (t.field.trim_start_matches("t:").to_owned(), t.limit))
                    .collect();
            }
        }
        Ok((admission, labels))
    }

    /// Verifies the caller's credential with the configured verifier (as [`check`](Self::check)
    /// does first): the verified identity replaces the claimed one. Adapters use it before
    /// [`visible_tools`](Self::visible_tools), so `tools/list` shows what this caller may call.
    pub fn authenticate(&self, caller: &mut Caller) -> Result<(), Rejection> {
        match &self.verifier {
            Some(verifier) => match caller.credential.take() {
                Some(credential) => match verifier.verify(&credential) {
                    Ok(identity) => {
                        caller.agent_id = Some(identity.agent_id);
                        caller.roles = identity.roles;
                        caller.claims = identity.claims;
                        caller.verified = true;
                        Ok(())
                    }
                    Err(reason) => {
                        // The reason stays here; the caller learns nothing that helps forge.
                        tracing::info!(%reason, "credential refused");
                        Err(Rejection::unauthenticated(POLICY))
                    }
                },
                None if self.require_identity => Err(Rejection::unauthenticated(POLICY)),
                None => {
                    // Claimed but unproven: roles and claims grant nothing.
                    caller.roles.clear();
                    caller.claims.clear();
                    caller.verified = false;
                    Ok(())
                }
            },
            None if self.require_identity && !caller.verified => {
                Err(Rejection::unauthenticated(POLICY))
            }
            None => Ok(()),
        }
    }

    fn check_rates(&self, tool: &str, caller: &Caller) -> Result<(), Rejection> {
        let agent = caller.agent_id.as_deref().unwrap_or(ANONYMOUS);
        for (i, rule) in self.rate_rules.iter().enumerate() {
            if !rule.tools.is_match(tool) {
                continue;
            }
            let key = if rule.global { EVERYONE } else { agent };
            if let Err(wait) = self.rate_store.try_acquire(i, key) {
                return Err(Rejection::rate_limited(
                    POLICY,
                    tool,
                    &rule.describe(),
                    wait,
                ));
            }
        }
        Ok(())
    }

    /// The catalog's tools this caller may call under the allow/deny rules (schedules and
    /// limits aside), in name order; empty without a catalog. Adapters use it to filter
    /// `tools/list`.
    pub fn visible_tools(&self, caller: &Caller) -> Vec<String> {
        self.visible_tools_up_to(caller, usize::MAX)
    }

    fn visible_tools_up_to(&self, caller: &Caller, max: usize) -> Vec<String> {
        let Some(catalog) = &self.catalog else {
            return Vec::new();
        };
        let catalog = catalog.load();
        catalog
            .tools()
            .into_iter()
            .map(|t| t.name())
            .filter(|name| {
                self.gate.as_ref().is_none_or(|g| g.admit(name).is_ok())
                    && self
                        .rules
                        .decide(name, caller, self.trusts_id(caller))
                        .is_ok()
            })
            .take(max)
            .map(str::to_owned)
            .collect()
    }

    /// Whether `caller`'s agent id may unlock `[policy.agents.<id>]` allow rules: with a
    /// verifier, only a verified id does (a claimed one still keys rate limits and is
    /// recorded as claimed); without one, the id is what the adapter vouched for.
    fn trusts_id(&self, caller: &Caller) -> bool {
        caller.verified || self.verifier.is_none()
    }

    /// Rate-limit keys tracked (for metrics).
    pub fn tracked_rate_keys(&self) -> usize {
        self.rate_store.tracked_keys()
    }

    /// Sessions tracked (for metrics).
    pub fn tracked_sessions(&self) -> usize {
        self.sessions.as_ref().map_or(0, SessionBudgets::tracked)
    }
}

fn verifier_from_config(
    config: &IdentityConfig,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Arc<dyn IdentityVerifier>, PolicyError> {
    let secret = || -> Result<Vec<u8>, PolicyError> {
        let var = config.secret_env.as_deref().ok_or_else(|| {
            PolicyError::Identity(
                "`policy.identity.secret_env` must name the variable holding the secret".into(),
            )
        })?;
        env(var)
            .filter(|v| !v.is_empty())
            .map(String::into_bytes)
            .ok_or_else(|| {
                PolicyError::Identity(format!(
                    "environment variable {var} (policy.identity.secret_env) is not set"
                ))
            })
    };
    let leeway = Duration::from_secs(config.leeway_secs);
    match config.kind {
        IdentityKind::Hmac => Ok(Arc::new(HmacTokenVerifier::new(secret()?)?.leeway(leeway))),
        IdentityKind::Jwt => jwt_from_config(config, secret, leeway),
    }
}

#[cfg(feature = "jwt")]
fn jwt_from_config(
    config: &IdentityConfig,
    secret: impl Fn() -> Result<Vec<u8>, PolicyError>,
    leeway: Duration,
) -> Result<Arc<dyn IdentityVerifier>, PolicyError> {
    use super::identity::JwtVerifier;
    let key = || -> Result<Vec<u8>, PolicyError> {
        let path = config.public_key_file.as_ref().ok_or_else(|| {
            PolicyError::Identity(
                "`policy.identity.public_key_file` is required for RS256 and EdDSA".into(),
            )
        })?;
        std::fs::read(path)
            .map_err(|e| PolicyError::Identity(format!("cannot read {}: {e}", path.display())))
    };
    let mut verifier = match config.algorithm.as_deref().unwrap_or("HS256") {
        "HS256" => JwtVerifier::hs256(&secret()?)?,
        "RS256" => JwtVerifier::rs256_pem(&key()?)?,
        "EdDSA" => JwtVerifier::eddsa_pem(&key()?)?,
        other => {
            return Err(PolicyError::Identity(format!(
                "`policy.identity.algorithm` = {other:?}: use HS256, RS256 or EdDSA"
            )));
        }
    };
    verifier = verifier.leeway(leeway);
    if let Some(aud) = &config.audience {
        verifier = verifier.audience(aud);
    }
    if let Some(iss) = &config.issuer {
        verifier = verifier.issuer(iss);
    }
    verifier = verifier.claims(
        config.agent_claim.as_deref().unwrap_or("sub"),
        config.roles_claim.as_deref().unwrap_or("roles"),
    );
    Ok(Arc::new(verifier))
}

#[cfg(not(feature = "jwt"))]
fn jwt_from_config(
    _config: &IdentityConfig,
    _secret: impl Fn() -> Result<Vec<u8>, PolicyError>,
    _leeway: Duration,
) -> Result<Arc<dyn IdentityVerifier>, PolicyError> {
    Err(PolicyError::Identity(
        "`policy.identity.kind = \"jwt\"` needs agent-airlock built with the `jwt` feature".into(),
    ))
}

/// Builds a [`PolicyEngine`]; every problem is reported by [`build`](Self::build), naming the
/// rule.
#[derive(Default)]
#[must_use]
pub struct PolicyEngineBuilder {
    allow: Option<Vec<String>>,
    deny: Vec<String>,
    roles: Vec<(String, RuleConfig)>,
    agents: Vec<(String, RuleConfig)>,
    verifier: Option<Arc<dyn IdentityVerifier>>,
    require_identity: bool,
    schedules: Vec<ScheduleConfig>,
    rates: Vec<(String, RateSpec, bool)>,
    rate_store: Option<Arc<dyn RateLimitStore>>,
    shared: Option<Arc<dyn SharedStore>>,
    gate: Option<Arc<dyn ToolGate>>,
    max_tracked_agents: Option<usize>,
    sessions: Option<SessionConfig>,
    clock: Option<Arc<dyn Clock>>,
    catalog: Option<SharedCatalog>,
}

impl PolicyEngineBuilder {
    /// Adds tool globs to the global allow list (matched exactly). Once any allow list
    /// exists, tools on none of the caller's lists are refused.
    pub fn allow<I: IntoIterator<Item = S>, S: Into<String>>(mut self, patterns: I) -> Self {
        self.allow
            .get_or_insert_with(Vec::new)
            .extend(patterns.into_iter().map(Into::into));
        self
    }

    /// Adds tool globs to the global deny list (matched case-insensitively).
    pub fn deny<I: IntoIterator<Item = S>, S: Into<String>>(mut self, patterns: I) -> Self {
        self.deny.extend(patterns.into_iter().map(Into::into));
        self
    }

    /// Grants `rule` to callers holding `role`.
    pub fn role(mut self, role: &str, rule: RuleConfig) -> Self {
        self.roles.push((role.to_owned(), rule));
        self
    }

    /// Applies `rule` to the agent `agent_id`, on top of its roles.
    pub fn agent(mut self, agent_id: &str, rule: RuleConfig) -> Self {
        self.agents.push((agent_id.to_owned(), rule));
        self
    }

    /// Verifies presented credentials with `verifier`; unverified callers keep their claimed
    /// id but lose their claimed roles.
    pub fn verifier(mut self, verifier: Arc<dyn IdentityVerifier>) -> Self {
        self.verifier = Some(verifier);
        self
    }

    /// Refuses callers without a verified identity.
    pub fn require_identity(mut self, require: bool) -> Self {
        self.require_identity = require;
        self
    }

    /// Adds a time window.
    pub fn schedule(mut self, schedule: ScheduleConfig) -> Self {
        self.schedules.push(schedule);
        self
    }

    /// Limits each agent's calls of tools matching `glob` (`"*"` for every tool).
    pub fn rate_limit(mut self, glob: &str, spec: RateSpec) -> Self {
        self.rates.push((glob.to_owned(), spec, false));
        self
    }

    /// Limits all agents' calls of tools matching `glob` together.
    pub fn global_rate_limit(mut self, glob: &str, spec: RateSpec) -> Self {
        self.rates.push((glob.to_owned(), spec, true));
        self
    }

    /// Uses another store for rate-limit state (limits are numbered in the order added).
    pub fn rate_limit_store(mut self, store: Arc<dyn RateLimitStore>) -> Self {
        self.rate_store = Some(store);
        self
    }

    /// Keeps rate limits and session budgets in `store`, shared with every replica that
    /// uses the same store, in place of this process's memory. Calls are then decided
    /// asynchronously ([`PolicyEngine::decide`]), in one round trip each.
    pub fn shared_store(mut self, store: Arc<dyn SharedStore>) -> Self {
        self.shared = Some(store);
        self
    }

    /// Consults `gate` on every call (after the name rule and identity) and for every
    /// tool of a listing: what it refuses is refused and hidden.
    pub fn gate(mut self, gate: Arc<dyn ToolGate>) -> Self {
        self.gate = Some(gate);
        self
    }

    /// Most rate-limit keys kept per limit (default 100,000).
    pub fn max_tracked_agents(mut self, max: usize) -> Self {
        self.max_tracked_agents = Some(max);
        self
    }

    /// Adds session budgets.
    pub fn sessions(mut self, config: SessionConfig) -> Self {
        self.sessions = Some(config);
        self
    }

    /// The clock for schedules, rate limits and sessions (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The catalog, so refusals can list the tools a caller may use and
    /// [`PolicyEngine::visible_tools`] works.
    pub fn catalog(mut self, catalog: impl Into<SharedCatalog>) -> Self {
        self.catalog = Some(catalog.into());
        self
    }

    /// Compiles every rule.
    pub fn build(self) -> Result<PolicyEngine, PolicyError> {
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let global = RuleSet::new(self.allow.as_deref(), &self.deny, "policy")?;
        let compile = |list: Vec<(String, RuleConfig)>,
                       what: &str|
         -> Result<HashMap<String, RuleSet>, PolicyError> {
            list.into_iter()
                .map(|(name, rule)| {
                    let set = RuleSet::new(
                        rule.allow.as_deref(),
                        &rule.deny,
                        &format!("{what} `{name}`"),
                    )?;
                    Ok((name, set))
                })
                .collect()
        };
        let rules = ToolRules::new(
            global,
            compile(self.roles, "role")?,
            compile(self.agents, "agent")?,
        );
        let schedules = self
            .schedules
            .iter()
            .map(Schedule::new)
            .collect::<Result<Vec<_>, _>>()?;
        let mut rate_rules = Vec::new();
        for (pattern, spec, global) in self.rates {
            rate_rules.push(RateRule {
                tools: Matcher::new(std::slice::from_ref(&pattern), true, "rate limit")?,
                pattern,
                spec,
                global,
            });
        }
        let specs: Vec<RateSpec> = rate_rules.iter().map(|r| r.spec).collect();
        let rate_store = self.rate_store.unwrap_or_else(|| {
            Arc::new(GovernorStore::new(
                &specs,
                clock.clone(),
                self.max_tracked_agents.unwrap_or(100_000),
            ))
        });
        let sessions = self
            .sessions
            .map(|c| SessionBudgets::new(&c, clock.clone()))
            .transpose()?;
        Ok(PolicyEngine {
            rules,
            verifier: self.verifier,
            require_identity: self.require_identity,
            schedules,
            rate_ids: rate_rules.iter().map(RateRule::shared_id).collect(),
            rate_rules,
            rate_store,
            sessions,
            shared: self.shared,
            gate: self.gate,
            clock,
            catalog: self.catalog,
        })
    }
}
