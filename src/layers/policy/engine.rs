//! [`PolicyEngine`]: the decision engine, usable without Tower.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::BoxFuture;
use sha2::{Digest, Sha256};

use super::clock::Clock;
use super::gate::ToolGate;
use super::identity::IdentityVerifier;
use super::rate::{RateLimitStore, RateSpec};
use super::rules::{Denial, Matcher, ToolRules};
use super::schedule::Schedule;
use super::session::{BudgetExceeded, MAX_SESSION_ID, SessionBudgets};
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

pub(super) struct RateRule {
    pub(super) tools: Matcher,
    pub(super) pattern: String,
    pub(super) spec: RateSpec,
    pub(super) global: bool,
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
    pub(super) fn shared_id(&self) -> String {
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
    pub(super) rules: ToolRules,
    pub(super) verifier: Option<Arc<dyn IdentityVerifier>>,
    pub(super) require_identity: bool,
    pub(super) tool_scopes: Vec<(super::rules::Matcher, Vec<String>)>,
    pub(super) schedules: Vec<Schedule>,
    pub(super) rate_rules: Vec<RateRule>,
    pub(super) rate_ids: Vec<String>,
    pub(super) rate_store: Arc<dyn RateLimitStore>,
    pub(super) sessions: Option<SessionBudgets>,
    pub(super) shared: Option<Arc<dyn SharedStore>>,
    pub(super) gate: Option<Arc<dyn ToolGate>>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) catalog: Option<SharedCatalog>,
    #[cfg(feature = "cedar")]
    pub(super) cedar: Option<Arc<super::CedarPolicies>>,
    pub(super) approvals: Option<super::approval::Approvals>,
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

/// What `store` says of `admission`: allowed at once when there is nothing to count,
/// otherwise pending on one round trip, refused (and logged) when the store cannot answer.
fn admit_on(store: &dyn SharedStore, admission: Admission, labels: Refusals) -> Decision {
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

impl PolicyEngine {
    /// Decides a call whose counters are in this process. May rewrite `call.caller` with
    /// the verified identity. Consumes rate and budget only for calls that every earlier
    /// rule admitted. An engine with a [shared store](super::PolicyEngineBuilder::shared_store)
    /// decides asynchronously: use [`decide`](Self::decide) (here such a call is refused
    /// with `state_unavailable`).
    pub fn check(&self, call: &mut ToolCall) -> Result<(), Rejection> {
        match self.decide(call) {
            Decision::Allowed => Ok(()),
            Decision::Refused(rejection) => Err(rejection),
            // Answered at once by a store in this process (approvals in memory).
            Decision::Pending(pending) => {
                use futures_util::FutureExt as _;
                pending.future.now_or_never().unwrap_or_else(|| {
                    Err(Rejection::state_unavailable(POLICY, Duration::from_secs(1)))
                })
            }
        }
    }

    /// Decides a call: at once when everything it needs is in this process, otherwise
    /// [`Decision::Pending`] on the shared store (one round trip, whatever the number of
    /// limits). May rewrite `call.caller` with the verified identity.
    /// A call a policy holds for a person's approval is counted like any other (so an
    /// agent cannot flood approvers past its limits), then held: it goes ahead only when
    /// a person approved this exact call, and is otherwise refused with `approval_pending`.
    pub fn decide(&self, call: &mut ToolCall) -> Decision {
        let ask = match self.check_rules(call) {
            Ok(ask) => ask,
            Err(rejection) => return Decision::Refused(rejection),
        };
        if ask.is_some() && self.approvals.is_none() {
            // Refused before anything is counted, like every other refusal of the rules.
            return Decision::Refused(Rejection::policy_denied(
                POLICY,
                format!(
                    "the call to `{}` needs a person's approval, and this server takes none",
                    call.tool
                ),
                &[],
            ));
        }
        let counted = match &self.shared {
            None => match self.count_locally(call) {
                Ok(()) => Decision::Allowed,
                Err(rejection) => Decision::Refused(rejection),
            },
            Some(store) => match self.admission(call) {
                Ok((admission, labels)) => admit_on(store.as_ref(), admission, labels),
                Err(rejection) => Decision::Refused(rejection),
            },
        };
        let Some(ask) = ask else {
            return counted;
        };
        let Some(approvals) = &self.approvals else {
            return counted;
        };
        let hold = approvals.hold(call, ask, self.clock.now().as_second());
        match counted {
            Decision::Allowed => Decision::Pending(PendingDecision { future: hold }),
            Decision::Refused(rejection) => Decision::Refused(rejection),
            Decision::Pending(counting) => Decision::Pending(PendingDecision {
                future: Box::pin(async move {
                    counting.await?;
                    hold.await
                }),
            }),
        }
    }

    /// The approvers' page as a client may open it (`[policy.approvals] url`).
    pub fn approvals_url(&self) -> Option<&str> {
        self.approvals.as_ref()?.url.as_deref()
    }

    /// Where approval requests live, when `[policy.approvals]` (or
    /// [`approvals`](super::PolicyEngineBuilder::approvals)) set a store.
    pub fn approval_store(&self) -> Option<&Arc<dyn crate::approvals::ApprovalStore>> {
        self.approvals.as_ref().map(|a| &a.store)
    }

    /// The clock of this engine's decisions (approvals expire on it).
    pub fn now(&self) -> i64 {
        self.clock.now().as_second()
    }

    /// Decides a request a proxy relays to the server behind it (`mcp:resources/read`,
    /// `mcp:prompts/get`, …): the caller's identity, the Cedar policies for a resource read
    /// or a prompt got, and the rate limits whose glob matches that name (`*` does). Not the
    /// tool rules, time windows or session budgets, which are about tools. May rewrite
    /// `call.caller` with the verified identity.
    pub fn decide_relayed(&self, call: &mut ToolCall) -> Decision {
        if let Err(rejection) = self.authenticate(&mut call.caller) {
            return Decision::Refused(rejection);
        }
        // Cedar speaks of resources read and prompts got (`mcp:resources/read`, …).
        #[cfg(feature = "cedar")]
        if let Some(cedar) = &self.cedar
            && let Some(method) = call.tool.strip_prefix("mcp:")
            && let Err(rejection) = cedar.decide_relayed(
                method,
                &call.arguments,
                &call.caller,
                self.catalog.as_ref(),
                self.clock.now().as_second(),
            )
        {
            return Decision::Refused(rejection);
        }
        let Some(store) = &self.shared else {
            return match self.check_rates(&call.tool, &call.caller) {
                Ok(()) => Decision::Allowed,
                Err(rejection) => Decision::Refused(rejection),
            };
        };
        let (admission, labels) = self.rate_admission(call);
        admit_on(store.as_ref(), admission, labels)
    }

    /// Name, identity, tool rules and time windows: everything decided without counters.
    /// `Some` when the call may go ahead only with a person's approval.
    fn check_rules(&self, call: &mut ToolCall) -> Result<Option<super::approval::Ask>, Rejection> {
        if let Err(e) = check_tool_name(&call.tool) {
            return Err(e.to_rejection(POLICY));
        }
        self.authenticate(&mut call.caller)?;
        if let Some(gate) = &self.gate {
            gate.admit(&call.tool)?;
        }
        let missing = self.missing_scopes(&call.tool, &call.caller);
        if !missing.is_empty() {
            return Err(Rejection::insufficient_scope(POLICY, &call.tool, &missing));
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
        let mut ask = None;
        #[cfg(feature = "cedar")]
        if let Some(cedar) = &self.cedar
            && let super::cedar::Verdict::Ask(reason) =
                cedar.decide(call, self.catalog.as_ref(), now.as_second())?
        {
            ask = Some(super::approval::Ask {
                reason,
                version: cedar.version().to_owned(),
            });
        }
        if ask.is_none() {
            ask = self.approvals.as_ref().and_then(|a| a.ask_for(&call.tool));
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
        Ok(ask)
    }

    /// Rate limits and session budgets in this process's memory.
    /// A call refused by one spends neither: the budget is checked, then the rates, and
    /// the budget counted only when the rates admitted the call.
    fn count_locally(&self, call: &ToolCall) -> Result<(), Rejection> {
        let tool = call.tool.as_str();
        let Some(sessions) = &self.sessions else {
            return self.check_rates(tool, &call.caller);
        };
        sessions
            .check_then_count(call.session.as_deref(), tool, || {
                self.check_rates(tool, &call.caller)
            })
            .map_err(|refused| match refused {
                super::session::Refused::Budget(e) => budget_rejection(e),
                super::session::Refused::Then(rejection) => rejection,
            })
    }

    /// What the shared store must count for `call`, and how to word its refusals.
    fn admission(&self, call: &ToolCall) -> Result<(Admission, Refusals), Rejection> {
        let (mut admission, mut labels) = self.rate_admission(call);
        let tool = call.tool.as_str();
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

    /// The rate limits the shared store must count for `call`.
    fn rate_admission(&self, call: &ToolCall) -> (Admission, Refusals) {
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
        (admission, labels)
    }

    /// Whether every call must carry an identity that verifies (`require_identity`).
    pub fn requires_identity(&self) -> bool {
        self.require_identity
    }

    /// The scopes a call of `tool` needs (`tool_scopes`) that the caller's verified
    /// token does not grant; empty when it may go ahead.
    pub fn missing_scopes(&self, tool: &str, caller: &Caller) -> Vec<String> {
        let mut missing = Vec::new();
        for (tools, scopes) in &self.tool_scopes {
            if !tools.is_match(tool) {
                continue;
            }
            for scope in scopes {
                let held = caller.verified
                    && super::identity::granted_scopes(&caller.claims).any(|s| s == scope);
                if !held && !missing.contains(scope) {
                    missing.push(scope.clone());
                }
            }
        }
        missing
    }

    /// Fetches what verifying the caller's credential needs (an authorization server's
    /// new keys; see [`IdentityVerifier::prepare`]); `None` when nothing is missing, which
    /// is almost always.
    pub fn prepare(
        &self,
        caller: &Caller,
    ) -> Option<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>> {
        self.verifier.as_ref()?.prepare(caller.credential.as_ref()?)
    }

    /// Verifies the caller's credential with the configured verifier (as [`check`](Self::check)
    /// does first): the verified identity replaces the claimed one. Adapters use it before
    /// [`visible_tools`](Self::visible_tools), so `tools/list` shows what this caller may call.
    pub fn authenticate(&self, caller: &mut Caller) -> Result<(), Rejection> {
        match &self.verifier {
            // The credential stays with the call (never serialized, never printed): a proxy
            // exchanges it for the upstream's own token, and sends it nowhere.
            Some(verifier) => match caller.credential.as_ref() {
                Some(credential) => match verifier.verify(credential) {
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
        #[cfg(feature = "cedar")]
        let cedar = self
            .cedar
            .as_ref()
            .map(|c| c.lister(caller, self.catalog.as_ref()));
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
            // Cedar last: the costliest.
            .filter(|name| {
                #[cfg(feature = "cedar")]
                if let Some(cedar) = &cedar {
                    return cedar.may_list(name);
                }
                let _ = name;
                true
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
