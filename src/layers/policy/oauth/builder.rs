//! [`OAuthVerifierBuilder`]: an [`OAuthVerifier`]'s settings, checked when it is built.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use jsonwebtoken::Algorithm;

use super::fetch;
use super::verifier::{DEFAULT_ALGORITHMS, Inner, Loaded, OAuthVerifier, Refresh};
use crate::layers::policy::config::ClaimRoles;
use crate::layers::policy::error::PolicyError;

/// Builds an [`OAuthVerifier`].
#[derive(Debug, Clone)]
#[must_use]
pub struct OAuthVerifierBuilder {
    pub(super) issuer: String,
    pub(super) resource: String,
    pub(super) jwks_uri: Option<String>,
    pub(super) algorithms: Vec<Algorithm>,
    pub(super) leeway: Duration,
    pub(super) agent_claim: String,
    pub(super) roles_claim: Option<String>,
    pub(super) scope_roles: HashMap<String, Vec<String>>,
    pub(super) claim_roles: Vec<ClaimRoles>,
    pub(super) timeout: Duration,
    pub(super) refresh_interval: Duration,
    pub(super) max_key_age: Duration,
    pub(super) introspection: Option<(Option<String>, String, String)>,
}

impl OAuthVerifier {
    /// A verifier of tokens `issuer` issues for `resource` (this server's canonical URI,
    /// such as `https://tools.example.com/mcp`).
    pub fn builder(issuer: impl Into<String>, resource: impl Into<String>) -> OAuthVerifierBuilder {
        OAuthVerifierBuilder {
            issuer: issuer.into(),
            resource: resource.into(),
            jwks_uri: None,
            algorithms: DEFAULT_ALGORITHMS.to_vec(),
            leeway: Duration::from_secs(30),
            agent_claim: "sub".into(),
            roles_claim: None,
            scope_roles: HashMap::new(),
            claim_roles: Vec::new(),
            timeout: Duration::from_secs(5),
            refresh_interval: Duration::from_secs(10),
            max_key_age: Duration::from_secs(3600),
            introspection: None,
        }
    }
}

impl OAuthVerifierBuilder {
    /// The JWKS URL, instead of the one the issuer's metadata names (no discovery then).
    pub fn jwks_uri(mut self, url: impl Into<String>) -> Self {
        self.jwks_uri = Some(url.into());
        self
    }

    /// The signature algorithms accepted (default RS256, PS256, ES256, EdDSA); HMAC and
    /// `none` are refused here.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Clock-skew allowance on `exp` and `nbf` (default 30 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The claim holding the agent id (default `sub`).
    pub fn agent_claim(mut self, claim: impl Into<String>) -> Self {
        self.agent_claim = claim.into();
        self
    }

    /// A claim listing roles outright (an array, or a space-separated string); none by
    /// default: roles come from the mappings.
    pub fn roles_claim(mut self, claim: impl Into<String>) -> Self {
        self.roles_claim = Some(claim.into());
        self
    }

    /// Grants `roles` to tokens holding `scope` (in `scope` or `scp`).
    pub fn scope_roles<R: Into<String>>(
        mut self,
        scope: impl Into<String>,
        roles: impl IntoIterator<Item = R>,
    ) -> Self {
        self.scope_roles
            .entry(scope.into())
            .or_default()
            .extend(roles.into_iter().map(Into::into));
        self
    }

    /// Grants the roles of `rule` to tokens whose claim holds its value.
    pub fn claim_roles(mut self, rule: ClaimRoles) -> Self {
        self.claim_roles.push(rule);
        self
    }

    /// Deadline of each fetch from the authorization server (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Shortest time between two fetches of the JWKS (default 10 s): tokens naming keys
    /// nobody published cannot make this server hammer the authorization server.
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = interval;
        self
    }

    /// Age after which the JWKS is fetched again (default one hour); the keys held stay
    /// in use if that fetch fails.
    pub fn max_key_age(mut self, age: Duration) -> Self {
        self.max_key_age = age;
        self
    }

    /// Opaque access tokens (those that are not JWTs) are asked about at the issuer's
    /// introspection endpoint (RFC 7662) as the client `client_id` with `secret`; the
    /// answer is remembered like a verified token. Without this, opaque tokens are refused.
    pub fn introspection(
        mut self,
        client_id: impl Into<String>,
        secret: impl Into<String>,
    ) -> Self {
        let endpoint = self
            .introspection
            .take()
            .and_then(|(endpoint, _, _)| endpoint);
        self.introspection = Some((endpoint, client_id.into(), secret.into()));
        self
    }

    /// The introspection endpoint, instead of the one the issuer's metadata names (with
    /// [`introspection`](Self::introspection)).
    pub fn introspection_endpoint(mut self, url: impl Into<String>) -> Self {
        let (_, id, secret) = self.introspection.take().unwrap_or_default();
        self.introspection = Some((Some(url.into()), id, secret));
        self
    }

    /// The verifier; an error names what is wrong.
    pub fn build(self) -> Result<OAuthVerifier, PolicyError> {
        let bad = |m: String| PolicyError::Identity(m);
        fetch::metadata_urls(&self.issuer).map_err(bad)?;
        let resource = reqwest::Url::parse(&self.resource)
            .map_err(|e| bad(format!("the resource URI: {e}")))?;
        if !matches!(resource.scheme(), "http" | "https") || resource.fragment().is_some() {
            return Err(bad(
                "the resource must be an http(s) URI without a fragment".into(),
            ));
        }
        if let Some(url) = &self.jwks_uri {
            fetch::http_url(url).map_err(bad)?;
        }
        if self.algorithms.is_empty() {
            return Err(bad(
                "at least one signature algorithm must be allowed".into()
            ));
        }
        if let Some(hmac) = self
            .algorithms
            .iter()
            .find(|a| a.family() == jsonwebtoken::AlgorithmFamily::Hmac)
        {
            return Err(bad(format!(
                "{hmac:?} is a shared-secret algorithm: an authorization server's tokens are \
                 verified with its public keys"
            )));
        }
        let introspection = match self.introspection {
            Some((endpoint, client_id, secret)) => {
                if client_id.is_empty() || secret.is_empty() {
                    return Err(bad(
                        "introspection needs this server's client id and secret".into(),
                    ));
                }
                if let Some(url) = &endpoint {
                    fetch::http_url(url).map_err(bad)?;
                }
                Some(super::introspect::Introspection::new(
                    endpoint, client_id, secret,
                ))
            }
            None => None,
        };
        Ok(OAuthVerifier {
            inner: Arc::new(Inner {
                introspection,
                timeout: self.timeout,
                http: fetch::client(self.timeout).map_err(bad)?,
                issuer: self.issuer,
                resource: self.resource,
                jwks_uri: self.jwks_uri,
                algorithms: self.algorithms,
                leeway: i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX),
                agent_claim: self.agent_claim,
                roles_claim: self.roles_claim,
                scope_roles: self.scope_roles,
                claim_roles: self.claim_roles,
                refresh_interval: self.refresh_interval,
                max_key_age: self.max_key_age,
                keys: ArcSwap::from_pointee(Loaded::default()),
                refresh: tokio::sync::Mutex::new(Refresh::default()),
                remembered: Mutex::new(HashMap::new()),
            }),
        })
    }
}
