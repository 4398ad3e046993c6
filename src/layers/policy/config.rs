//! `[policy]` in the TOML configuration.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::rate::RateLimitConfig;
use super::schedule::ScheduleConfig;
use super::session::SessionConfig;

/// `[policy]`: who may call which tool, when, and how often.
///
/// ```toml
/// [policy]
/// allowed_tools = ["read_*", "search", "deploy_*"]   # absent: every tool not denied
/// denied_tools = ["delete_*", "drop_*"]               # case-insensitive; deny wins
/// require_identity = true                             # refuse callers without a verified identity
/// max_tracked_agents = 100000                         # rate-limit keys kept per limit
///
/// [policy.rate_limits]            # per agent, per tool glob; "*" is every tool
/// "*" = "100/minute"
/// "search" = { rate = "5/second", burst = 10 }
///
/// [policy.global_rate_limits]     # shared by all agents together
/// "deploy_*" = "10/hour"
///
/// [policy.roles.reader]           # roles grant allow/deny sets
/// allow = ["read_*", "search"]
/// [policy.roles.operator]
/// allow = ["deploy_*"]
///
/// [policy.agents.ci-bot]          # per-agent rules on top of its roles; with an identity
/// deny = ["deploy_prod"]           # verifier, `allow` here needs a verified id (deny always applies)
///
/// [[policy.schedules]]
/// tools = ["deploy_*"]
/// days = ["mon", "tue", "wed", "thu", "fri"]
/// start = "09:00"
/// end = "17:00"
/// timezone = "Europe/Berlin"
///
/// cedar_file = "policies.cedar"      # Cedar: a permit and no forbid, over typed arguments
/// path_arguments = ["path", "move_file.destination"]   # resolved before Cedar sees them
///
/// [policy.sessions]
/// ttl_secs = 3600                 # idle time before a session's counters reset
/// max_calls = 200
/// max_calls_per_tool = { "search" = 50 }
/// require_session = false
///
/// [policy.identity]
/// kind = "jwt"                    # or "hmac" (agent tokens signed with HMAC-SHA256)
/// algorithm = "RS256"             # HS256, RS256 or EdDSA (jwt only)
/// public_key_file = "keys/agents.pub.pem"   # RS256/EdDSA
/// # secret_env = "AIRLOCK_TOKEN_SECRET"     # HS256 and hmac: the variable holding the secret
/// audience = "tools.example.com"
/// issuer = "https://auth.example.com"
/// leeway_secs = 30
/// ```
///
/// An OAuth 2.1 authorization server's access tokens instead (feature `oauth`; see
/// [`OAuthVerifier`](super::OAuthVerifier)):
///
/// ```toml
/// [policy.identity]
/// kind = "oauth"
/// issuer = "https://auth.example.com"             # its metadata and JWKS are discovered
/// resource = "https://tools.example.com/mcp"      # this server's canonical URI: the tokens' `aud`
/// scopes = ["tools:read", "tools:admin"]          # published in the protected resource metadata
/// challenge_scopes = ["tools:read"]               # what a 401 asks for first
/// scope_roles = { "tools:read" = ["reader"], "tools:admin" = ["admin"] }
/// tool_scopes = { "delete_*" = ["tools:admin"] }  # a call without them: 403 insufficient_scope
/// # algorithms = ["RS256", "ES256"]               # default RS256, PS256, ES256, EdDSA
/// # jwks_uri = "https://auth.example.com/jwks"    # instead of the one discovered
/// # introspection_client_id = "tools-server"      # opaque tokens: RFC 7662 introspection
/// # introspection_secret_env = "AIRLOCK_INTROSPECTION_SECRET"
/// # [[policy.identity.claim_roles]]
/// # claim = "groups"
/// # value = "sre"
/// # roles = ["operator"]
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct PolicyConfig {
    /// Tool globs that may be called (matched exactly); absent means every tool not denied.
    pub allowed_tools: Option<Vec<String>>,
    /// Tool globs that may never be called (matched case-insensitively); deny wins.
    pub denied_tools: Vec<String>,
    /// Refuse callers without a verified identity.
    pub require_identity: bool,
    /// How identities are verified.
    pub identity: Option<IdentityConfig>,
    /// Allow/deny sets granted by role.
    pub roles: BTreeMap<String, RuleConfig>,
    /// Allow/deny sets per agent id. With an identity verifier, an agent's `allow` applies
    /// only to a caller whose id was verified: a claimed id (no credential, with
    /// `require_identity = false`) unlocks nothing, though it still gets the agent's `deny`,
    /// keys rate limits and is recorded in the audit log as claimed. Without a verifier, the
    /// id is what the adapter put in the call.
    pub agents: BTreeMap<String, RuleConfig>,
    /// Time windows.
    pub schedules: Vec<ScheduleConfig>,
    /// Per-agent rate limits by tool glob.
    pub rate_limits: BTreeMap<String, RateLimitConfig>,
    /// Rate limits shared by all agents, by tool glob.
    pub global_rate_limits: BTreeMap<String, RateLimitConfig>,
    /// Most rate-limit keys kept per limit before callers share an overflow bucket.
    pub max_tracked_agents: usize,
    /// Session budgets.
    pub sessions: Option<SessionConfig>,
    /// Cedar policies over the caller, the tool and its arguments (feature `cedar`): with
    /// them, a call the TOML rules allow must also be permitted, and not forbidden, by a
    /// Cedar policy ([`CedarPolicies`](super::CedarPolicies)).
    pub cedar_file: Option<std::path::PathBuf>,
    /// Entities the Cedar policies name (agents' groups and attributes, tools'), in
    /// Cedar's JSON format.
    pub cedar_entities_file: Option<std::path::PathBuf>,
    /// Arguments that name files, for the Cedar policies: `"path"` (any tool's) or
    /// `"write_file.path"` (one tool's). Resolved lexically (`..`, `.`, `//`), refused when
    /// they climb above their root; the call carries the resolved path.
    pub path_arguments: Vec<String>,
    /// Arguments that hold URLs, for the Cedar policies (named as `path_arguments`): offered
    /// parsed under `context.urls`.
    pub url_arguments: Vec<String>,
    /// Calls held for a person's approval, and where approvers decide.
    pub approvals: Option<super::ApprovalsConfig>,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            allowed_tools: None,
            denied_tools: Vec::new(),
            require_identity: false,
            identity: None,
            roles: BTreeMap::new(),
            agents: BTreeMap::new(),
            schedules: Vec::new(),
            rate_limits: BTreeMap::new(),
            global_rate_limits: BTreeMap::new(),
            max_tracked_agents: 100_000,
            sessions: None,
            cedar_file: None,
            cedar_entities_file: None,
            path_arguments: Vec::new(),
            url_arguments: Vec::new(),
            approvals: None,
        }
    }
}

/// An allow/deny pair for a role or an agent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuleConfig {
    /// Tool globs granted.
    pub allow: Option<Vec<String>>,
    /// Tool globs forbidden.
    pub deny: Vec<String>,
}

/// Which verifier to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    /// HMAC-SHA256 agent tokens ([`HmacTokenVerifier`](super::HmacTokenVerifier)).
    Hmac,
    /// JSON Web Tokens (feature `jwt`).
    Jwt,
    /// OAuth 2.1 access tokens of an authorization server (feature `oauth`).
    Oauth,
}

/// `[policy.identity]`. Secrets are never written in the file: `secret_env` names the
/// environment variable that holds one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityConfig {
    /// `hmac` or `jwt`.
    pub kind: IdentityKind,
    /// For `jwt`: `HS256`, `RS256` or `EdDSA` (default `HS256`).
    #[serde(default)]
    pub algorithm: Option<String>,
    /// The environment variable holding the shared secret (`hmac`, `HS256`).
    #[serde(default)]
    pub secret_env: Option<String>,
    /// PEM public key file (`RS256`, `EdDSA`).
    #[serde(default)]
    pub public_key_file: Option<PathBuf>,
    /// Required audience (`jwt`).
    #[serde(default)]
    pub audience: Option<String>,
    /// Required issuer (`jwt`).
    #[serde(default)]
    pub issuer: Option<String>,
    /// Clock-skew allowance in seconds (default 30).
    #[serde(default = "default_leeway")]
    pub leeway_secs: u64,
    /// Claim holding the agent id (default `sub`; `jwt`).
    #[serde(default)]
    pub agent_claim: Option<String>,
    /// Claim holding the roles (default `roles` for `jwt`; none for `oauth`, whose roles
    /// come from `scope_roles` and `claim_roles`).
    #[serde(default)]
    pub roles_claim: Option<String>,
    /// This server's canonical resource URI, the `aud` its tokens must name (`oauth`).
    #[serde(default)]
    pub resource: Option<String>,
    /// The JWKS URL, instead of the one the issuer's metadata names (`oauth`).
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// Signature algorithms accepted (`oauth`; default RS256, PS256, ES256, EdDSA).
    #[serde(default)]
    pub algorithms: Vec<String>,
    /// The scopes this resource knows, published in its metadata (`oauth`).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The scopes a 401 asks for (`scope="…"`): what a client should ask for first, the
    /// rest coming by step-up (`oauth`; none by default: clients ask for every one of
    /// `scopes`).
    #[serde(default)]
    pub challenge_scopes: Vec<String>,
    /// Roles granted by each scope (`oauth`).
    #[serde(default)]
    pub scope_roles: BTreeMap<String, Vec<String>>,
    /// Roles granted by a claim's value (`oauth`).
    #[serde(default)]
    pub claim_roles: Vec<ClaimRoles>,
    /// Scopes a tool glob needs: a call to it with a token lacking one is refused with
    /// `insufficient_scope` (HTTP 403 at the HTTP door, naming the scopes to ask for).
    #[serde(default)]
    pub tool_scopes: BTreeMap<String, Vec<String>>,
    /// Opaque access tokens (not JWTs) are introspected (RFC 7662) as this client of the
    /// authorization server (`oauth`; without it, opaque tokens are refused).
    #[serde(default)]
    pub introspection_client_id: Option<String>,
    /// The environment variable holding that client's secret (`oauth`).
    #[serde(default)]
    pub introspection_secret_env: Option<String>,
    /// The introspection endpoint, instead of the one the issuer's metadata names (`oauth`).
    #[serde(default)]
    pub introspection_endpoint: Option<String>,
    /// Shortest time between two fetches of the JWKS, in seconds (`oauth`; default 10).
    #[serde(default)]
    pub refresh_interval_secs: Option<u64>,
}

/// Roles granted to tokens whose claim holds a value (`[[policy.identity.claim_roles]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimRoles {
    /// The claim's name (a string, or an array of strings).
    pub claim: String,
    /// The value it must hold (equal, or one of the array's).
    pub value: String,
    /// The roles it grants.
    pub roles: Vec<String>,
}

fn default_leeway() -> u64 {
    30
}
