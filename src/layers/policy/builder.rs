//! [`PolicyEngineBuilder`], and a policy engine from `[policy]`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::clock::{Clock, SystemClock};
use super::config::{IdentityConfig, IdentityKind, PolicyConfig, RuleConfig};
use super::error::PolicyError;
use super::gate::ToolGate;
use super::identity::{HmacTokenVerifier, IdentityVerifier};
use super::rate::{GovernorStore, RateLimitStore, RateSpec};
use super::rules::{Matcher, RuleSet, ToolRules};
use super::schedule::{Schedule, ScheduleConfig};
use super::session::{SessionBudgets, SessionConfig};
use super::shared::SharedStore;
use crate::catalog::SharedCatalog;

use super::engine::{PolicyEngine, RateRule};

impl PolicyEngine {
    /// The policy `[policy]` describes, reading secrets from the environment variables it
    /// names. To add to it in code, start from [`PolicyEngineBuilder::from_config`].
    pub fn from_config(config: &PolicyConfig) -> Result<Self, PolicyError> {
        PolicyEngineBuilder::from_config(config)?.build()
    }

    /// Starts a policy that allows everything; add rules to it.
    pub fn builder() -> PolicyEngineBuilder {
        PolicyEngineBuilder::default()
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
    if config.kind != IdentityKind::Oauth {
        let oauth_only = [
            ("resource", config.resource.is_some()),
            ("jwks_uri", config.jwks_uri.is_some()),
            ("algorithms", !config.algorithms.is_empty()),
            ("scopes", !config.scopes.is_empty()),
            ("challenge_scopes", !config.challenge_scopes.is_empty()),
            ("scope_roles", !config.scope_roles.is_empty()),
            ("claim_roles", !config.claim_roles.is_empty()),
            (
                "refresh_interval_secs",
                config.refresh_interval_secs.is_some(),
            ),
            (
                "introspection_client_id",
                config.introspection_client_id.is_some(),
            ),
            (
                "introspection_secret_env",
                config.introspection_secret_env.is_some(),
            ),
            (
                "introspection_endpoint",
                config.introspection_endpoint.is_some(),
            ),
        ];
        if let Some((key, _)) = oauth_only.iter().find(|(_, set)| *set) {
            return Err(PolicyError::Identity(format!(
                "`policy.identity.{key}` applies to `kind = \"oauth\"` only"
            )));
        }
    }
    match config.kind {
        IdentityKind::Hmac => Ok(Arc::new(HmacTokenVerifier::new(secret()?)?.leeway(leeway))),
        IdentityKind::Jwt => jwt_from_config(config, secret, leeway),
        IdentityKind::Oauth => oauth_from_config(config, env, leeway),
    }
}

#[cfg(feature = "oauth")]
fn oauth_from_config(
    config: &IdentityConfig,
    env: &impl Fn(&str) -> Option<String>,
    leeway: Duration,
) -> Result<Arc<dyn IdentityVerifier>, PolicyError> {
    use std::str::FromStr;
    let (Some(issuer), Some(resource)) = (&config.issuer, &config.resource) else {
        return Err(PolicyError::Identity(
            "`policy.identity.kind = \"oauth\"` needs `issuer` (the authorization server) and \
             `resource` (this server's canonical URI, the tokens' audience)"
                .into(),
        ));
    };
    if config.audience.is_some() || config.algorithm.is_some() || config.public_key_file.is_some() {
        return Err(PolicyError::Identity(
            "`policy.identity.kind = \"oauth\"`: the audience is `resource`, the keys come from \
             the issuer and the algorithms are `algorithms`; remove `audience`, `algorithm` and \
             `public_key_file`"
                .into(),
        ));
    }
    let mut b = super::OAuthVerifier::builder(issuer, resource).leeway(leeway);
    if let Some(url) = &config.jwks_uri {
        b = b.jwks_uri(url);
    }
    if !config.algorithms.is_empty() {
        let algorithms = config
            .algorithms
            .iter()
            .map(|a| {
                jsonwebtoken::Algorithm::from_str(a).map_err(|_| {
                    PolicyError::Identity(format!("`policy.identity.algorithms`: unknown {a:?}"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        b = b.algorithms(algorithms);
    }
    if let Some(claim) = &config.agent_claim {
        b = b.agent_claim(claim);
    }
    if let Some(claim) = &config.roles_claim {
        b = b.roles_claim(claim);
    }
    for (scope, roles) in &config.scope_roles {
        b = b.scope_roles(scope, roles.iter().cloned());
    }
    for rule in &config.claim_roles {
        b = b.claim_roles(rule.clone());
    }
    if let Some(secs) = config.refresh_interval_secs {
        b = b.refresh_interval(Duration::from_secs(secs));
    }
    match (
        &config.introspection_client_id,
        &config.introspection_secret_env,
    ) {
        (None, None) if config.introspection_endpoint.is_none() => {}
        (Some(id), Some(var)) => {
            let secret = env(var).filter(|v| !v.is_empty()).ok_or_else(|| {
                PolicyError::Identity(format!(
                    "environment variable {var} (policy.identity.introspection_secret_env) is not set"
                ))
            })?;
            b = b.introspection(id, secret);
            if let Some(url) = &config.introspection_endpoint {
                b = b.introspection_endpoint(url);
            }
        }
        _ => {
            return Err(PolicyError::Identity(
                "introspection needs both `introspection_client_id` and \
                 `introspection_secret_env`"
                    .into(),
            ));
        }
    }
    Ok(Arc::new(b.build()?))
}

#[cfg(not(feature = "oauth"))]
fn oauth_from_config(
    _config: &IdentityConfig,
    _env: &impl Fn(&str) -> Option<String>,
    _leeway: Duration,
) -> Result<Arc<dyn IdentityVerifier>, PolicyError> {
    Err(PolicyError::Identity(
        "`policy.identity.kind = \"oauth\"` needs agent-airlock built with the `oauth` feature"
            .into(),
    ))
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
    tool_scopes: Vec<(String, Vec<String>)>,
    schedules: Vec<ScheduleConfig>,
    rates: Vec<(String, RateSpec, bool)>,
    rate_store: Option<Arc<dyn RateLimitStore>>,
    shared: Option<Arc<dyn SharedStore>>,
    gate: Option<Arc<dyn ToolGate>>,
    max_tracked_agents: Option<usize>,
    sessions: Option<SessionConfig>,
    clock: Option<Arc<dyn Clock>>,
    catalog: Option<SharedCatalog>,
    #[cfg(feature = "cedar")]
    cedar: Option<Arc<super::CedarPolicies>>,
    approvals: Option<(
        Arc<dyn crate::approvals::ApprovalStore>,
        super::ApprovalsConfig,
    )>,
    approval_preview: Option<super::PreviewMask>,
}

impl PolicyEngineBuilder {
    /// A builder holding the rules of `[policy]`, reading secrets from the environment
    /// variables it names.
    pub fn from_config(config: &PolicyConfig) -> Result<Self, PolicyError> {
        Self::from_config_with_env(config, |name| std::env::var(name).ok())
    }

    /// Like [`from_config`](Self::from_config), with the environment given as a lookup.
    pub fn from_config_with_env(
        config: &PolicyConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, PolicyError> {
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
            for (glob, scopes) in &identity.tool_scopes {
                b = b.tool_scopes(glob, scopes.iter().cloned());
            }
        }
        if let Some(approvals) = &config.approvals {
            let store = crate::approvals::MemoryApprovalStore::new(approvals.max_pending);
            b = b.approvals(Arc::new(store), approvals.clone());
        }
        if let Some(policies) = &config.cedar_file {
            #[cfg(feature = "cedar")]
            {
                let cedar = super::CedarPolicies::from_files(
                    policies,
                    config.cedar_entities_file.as_deref(),
                )?
                .path_arguments(config.path_arguments.iter().cloned())
                .url_arguments(config.url_arguments.iter().cloned());
                b = b.cedar(Arc::new(cedar));
            }
            #[cfg(not(feature = "cedar"))]
            return Err(PolicyError::Cedar(format!(
                "{} needs agent-airlock built with the `cedar` feature",
                policies.display()
            )));
        }
        Ok(b)
    }

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

    /// Requires the OAuth scopes `scopes` (in the verified token's `scope` or `scp`
    /// claim) of calls to tools matching `glob`: a call without them is refused with
    /// `insufficient_scope`, naming the scopes to ask for.
    pub fn tool_scopes<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        glob: &str,
        scopes: I,
    ) -> Self {
        self.tool_scopes.push((
            glob.to_owned(),
            scopes.into_iter().map(Into::into).collect(),
        ));
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

    /// Where calls held for approval wait (`store`), and which tools always ask, how long
    /// requests live (`config`). Without it, a call a policy holds for approval is refused.
    pub fn approvals(
        mut self,
        store: Arc<dyn crate::approvals::ApprovalStore>,
        config: super::ApprovalsConfig,
    ) -> Self {
        self.approvals = Some((store, config));
        self
    }

    /// Masks a held call's arguments before they are stored and shown to approvers (the
    /// sanitizer, in [`Airlock`](crate::Airlock)).
    pub fn approval_preview(mut self, mask: super::PreviewMask) -> Self {
        self.approval_preview = Some(mask);
        self
    }

    /// Cedar policies every call the other rules allow must also satisfy.
    #[cfg(feature = "cedar")]
    pub fn cedar(mut self, policies: Arc<super::CedarPolicies>) -> Self {
        self.cedar = Some(policies);
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
        let tool_scopes = self
            .tool_scopes
            .into_iter()
            .map(|(glob, scopes)| {
                Ok((
                    Matcher::new(std::slice::from_ref(&glob), false, "tool scopes")?,
                    scopes,
                ))
            })
            .collect::<Result<Vec<_>, PolicyError>>()?;
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
        let approvals = match self.approvals {
            Some((store, config)) => {
                let mut approvals = super::approval::Approvals::new(store, &config)?;
                approvals.preview = self.approval_preview;
                Some(approvals)
            }
            None => None,
        };
        #[cfg(feature = "cedar")]
        if let (Some(cedar), Some(catalog)) = (&self.cedar, &self.catalog) {
            cedar.validate(&catalog.snapshot())?;
        }
        Ok(PolicyEngine {
            rules,
            verifier: self.verifier,
            require_identity: self.require_identity,
            tool_scopes,
            schedules,
            rate_ids: rate_rules.iter().map(RateRule::shared_id).collect(),
            rate_rules,
            rate_store,
            sessions,
            shared: self.shared,
            gate: self.gate,
            clock,
            catalog: self.catalog,
            #[cfg(feature = "cedar")]
            cedar: self.cedar,
            approvals,
        })
    }
}
