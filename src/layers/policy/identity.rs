//! Who is calling: verifiers that turn a presented credential into a verified identity.
//!
//! A verifier checks a credential (a bearer token) and returns the agent id,
//! roles and claims it proves. The policy layer replaces whatever the caller
//! claimed with that. Refusals say only that the identity could not be
//! verified; the reason is logged server-side (never the token) and not
//! returned, so a forger learns nothing from trying.
//!
//! Built in:
//! - [`HmacTokenVerifier`]: compact agent tokens signed with HMAC-SHA256
//!   (`base64url(claims).base64url(mac)`), compared in constant time; it can
//!   also issue them.
//! - `JwtVerifier` (feature `jwt`): JSON Web Tokens, HS256, RS256 or EdDSA, with
//!   `exp`, `nbf`, `aud` and `iss` checks and a small clock-skew leeway.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

use super::clock::{Clock, SystemClock};
use super::error::PolicyError;
use crate::service::Credential;

/// What a verified credential proves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedIdentity {
    /// The agent's id.
    pub agent_id: String,
    /// Its roles.
    pub roles: Vec<String>,
    /// Every claim of the credential.
    pub claims: Map<String, Value>,
}

impl VerifiedIdentity {
    /// An identity with an id and roles.
    pub fn new(agent_id: impl Into<String>, roles: Vec<String>) -> Self {
        Self {
            agent_id: agent_id.into(),
            roles,
            claims: Map::new(),
        }
    }
}

/// Why a credential was not accepted. Logged, never returned to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// Not in the expected format.
    #[error("malformed credential")]
    Malformed,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// Past its expiry.
    #[error("expired")]
    Expired,
    /// Not valid yet.
    #[error("not yet valid")]
    NotYetValid,
    /// Issued for another audience.
    #[error("wrong audience")]
    WrongAudience,
    /// Issued by someone else.
    #[error("wrong issuer")]
    WrongIssuer,
    /// A required claim is missing or of the wrong type.
    #[error("missing or invalid claim `{0}`")]
    Claim(&'static str),
    /// Any other reason.
    #[error("{0}")]
    Other(String),
}

/// Verifies credentials. Implement it to plug in your own identity provider.
pub trait IdentityVerifier: Send + Sync + std::fmt::Debug + 'static {
    /// Checks a credential and says whom it proves.
    fn verify(&self, credential: &Credential) -> Result<VerifiedIdentity, IdentityError>;

    /// Fetches what verifying `credential` needs and is not held yet (an authorization
    /// server's new keys): the policy layer and the doors await it before calling
    /// [`verify`](Self::verify). `None`, the default, when nothing is missing.
    fn prepare(
        &self,
        _credential: &Credential,
    ) -> Option<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>> {
        None
    }
}

/// The scopes a token's claims grant: `scope` (space-separated, RFC 8693 and 9068) or
/// `scp` (an array or a string, as some servers write it).
pub fn granted_scopes(claims: &Map<String, Value>) -> impl Iterator<Item = &str> {
    fn from(value: Option<&Value>) -> Vec<&str> {
        match value {
            Some(Value::String(s)) => s.split_whitespace().collect(),
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }
    let mut scopes = from(claims.get("scope"));
    scopes.extend(from(claims.get("scp")));
    scopes.into_iter()
}

/// Longest agent id a verifier accepts.
pub(crate) const MAX_AGENT_ID: usize = 256;
/// Longest credential looked at; anything longer is malformed.
const MAX_CREDENTIAL: usize = 16 * 1024;

/// Reads `sub`-style and `roles`-style claims into an identity.
pub(crate) fn identity_from_claims(
    claims: Map<String, Value>,
    agent_claim: &str,
    roles_claim: &str,
) -> Result<VerifiedIdentity, IdentityError> {
    let agent_id = match claims.get(agent_claim) {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_AGENT_ID => s.clone(),
        _ => return Err(IdentityError::Claim("sub")),
    };
    let roles = match claims.get(roles_claim) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or(IdentityError::Claim("roles"))
            })
            .collect::<Result<_, _>>()?,
        // OAuth-style space-separated scopes.
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        Some(_) => return Err(IdentityError::Claim("roles")),
    };
    Ok(VerifiedIdentity {
        agent_id,
        roles,
        claims,
    })
}

/// Compact agent tokens signed with HMAC-SHA256.
///
/// A token is `base64url(claims) "." base64url(HMAC-SHA256(secret, base64url(claims)))`
/// with claims `{"sub": agent id, "roles": [...], "exp": unix seconds}` (`nbf` optional).
/// The MAC is compared in constant time.
///
/// ```
/// use std::time::Duration;
/// use agent_airlock::layers::policy::{HmacTokenVerifier, IdentityVerifier};
/// use agent_airlock::service::Credential;
///
/// let verifier = HmacTokenVerifier::new(b"a secret of at least thirty-two bytes!".to_vec()).unwrap();
/// let token = verifier.issue("ci-bot", &["reader"], Duration::from_secs(300));
/// let who = verifier.verify(&Credential::new(token)).unwrap();
/// assert_eq!((who.agent_id.as_str(), who.roles.as_slice()), ("ci-bot", &["reader".to_string()][..]));
/// assert!(verifier.verify(&Credential::new("forged.token")).is_err());
/// ```
#[derive(Clone)]
pub struct HmacTokenVerifier {
    mac: Hmac<Sha256>,
    leeway: Duration,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for HmacTokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HmacTokenVerifier")
            .field("secret", &"<redacted>")
            .field("leeway", &self.leeway)
            .finish()
    }
}

/// Shortest HMAC secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

impl HmacTokenVerifier {
    /// A verifier with this secret (at least 32 bytes), a 30 s leeway and the system clock.
    pub fn new(secret: Vec<u8>) -> Result<Self, PolicyError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(PolicyError::Identity(format!(
                "the HMAC secret must be at least {MIN_SECRET_BYTES} bytes"
            )));
        }
        let mac = Hmac::<Sha256>::new_from_slice(&secret)
            .map_err(|e| PolicyError::Identity(e.to_string()))?;
        Ok(Self {
            mac,
            leeway: Duration::from_secs(30),
            clock: Arc::new(SystemClock),
        })
    }

    /// Clock-skew allowance on `exp` and `nbf`.
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The clock expiry is checked against.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Issues a token for `agent_id` with `roles`, valid for `ttl`.
    pub fn issue(&self, agent_id: &str, roles: &[&str], ttl: Duration) -> String {
        let exp = self
            .clock
            .now()
            .as_second()
            .saturating_add(ttl.as_secs() as i64);
        let claims = serde_json::json!({"sub": agent_id, "roles": roles, "exp": exp});
        self.sign(&claims)
    }

    /// Signs arbitrary claims (for tests and custom issuers).
    pub fn sign(&self, claims: &Value) -> String {
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let mut mac = self.mac.clone();
        mac.update(payload.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{payload}.{tag}")
    }
}

impl IdentityVerifier for HmacTokenVerifier {
    fn verify(&self, credential: &Credential) -> Result<VerifiedIdentity, IdentityError> {
        let token = credential.expose();
        if token.len() > MAX_CREDENTIAL {
            return Err(IdentityError::Malformed);
        }
        let (payload, tag) = token.split_once('.').ok_or(IdentityError::Malformed)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| IdentityError::Malformed)?;
        let mut mac = self.mac.clone();
        mac.update(payload.as_bytes());
        // Constant-time comparison.
        mac.verify_slice(&tag)
            .map_err(|_| IdentityError::BadSignature)?;
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| IdentityError::Malformed)?;
        let claims: Map<String, Value> =
            serde_json::from_slice(&json).map_err(|_| IdentityError::Malformed)?;
        let now = self.clock.now().as_second();
        let leeway = self.leeway.as_secs() as i64;
        match claims.get("exp").and_then(Value::as_i64) {
            Some(exp) if now > exp.saturating_add(leeway) => return Err(IdentityError::Expired),
            Some(_) => {}
            None => return Err(IdentityError::Claim("exp")),
        }
        if let Some(nbf) = claims.get("nbf") {
            let nbf = nbf.as_i64().ok_or(IdentityError::Claim("nbf"))?;
            if now.saturating_add(leeway) < nbf {
                return Err(IdentityError::NotYetValid);
            }
        }
        identity_from_claims(claims, "sub", "roles")
    }
}

#[cfg(feature = "jwt")]
pub use jwt::{JwtAlgorithm, JwtVerifier};

#[cfg(feature = "jwt")]
mod jwt {
    use jsonwebtoken::errors::ErrorKind;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};

    use super::*;

    /// The JWT algorithms accepted; one per verifier, so a token signed with another
    /// algorithm (or `none`) is refused.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
    pub enum JwtAlgorithm {
        /// HMAC-SHA256 with a shared secret.
        HS256,
        /// RSA PKCS#1 v1.5 with SHA-256, verified with a public key.
        RS256,
        /// Ed25519, verified with a public key.
        EdDSA,
    }

    /// Verifies JSON Web Tokens with `jsonwebtoken`.
    ///
    /// `exp` is required; `aud` and `iss` are required and checked when configured, `nbf`
    /// when present; the leeway (default 30 s) absorbs clock skew. The agent id comes from `sub` and the roles from
    /// `roles` (both claim names configurable).
    ///
    /// ```
    /// use agent_airlock::layers::policy::{IdentityVerifier, JwtVerifier};
    /// use agent_airlock::service::Credential;
    ///
    /// let verifier = JwtVerifier::hs256(b"a secret of at least thirty-two bytes!").unwrap()
    ///     .audience("tools.example.com");
    /// assert!(verifier.verify(&Credential::new("not.a.jwt")).is_err());
    /// ```
    #[derive(Clone)]
    pub struct JwtVerifier {
        key: DecodingKey,
        validation: Validation,
        agent_claim: String,
        roles_claim: String,
    }

    impl std::fmt::Debug for JwtVerifier {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("JwtVerifier")
                .field("algorithms", &self.validation.algorithms)
                .field("key", &"<redacted>")
                .finish()
        }
    }

    impl JwtVerifier {
        fn with_key(key: DecodingKey, algorithm: Algorithm) -> Self {
            let mut validation = Validation::new(algorithm);
            validation.leeway = 30;
            validation.validate_nbf = true;
            validation.validate_aud = false;
            validation.set_required_spec_claims(&["exp"]);
            Self {
                key,
                validation,
                agent_claim: "sub".into(),
                roles_claim: "roles".into(),
            }
        }

        /// HS256 with a shared secret of at least 32 bytes.
        pub fn hs256(secret: &[u8]) -> Result<Self, PolicyError> {
            if secret.len() < MIN_SECRET_BYTES {
                return Err(PolicyError::Identity(format!(
                    "the JWT secret must be at least {MIN_SECRET_BYTES} bytes"
                )));
            }
            Ok(Self::with_key(
                DecodingKey::from_secret(secret),
                Algorithm::HS256,
            ))
        }

        /// RS256 with an RSA public key in PEM.
        pub fn rs256_pem(public_key: &[u8]) -> Result<Self, PolicyError> {
            let key = DecodingKey::from_rsa_pem(public_key)
                .map_err(|e| PolicyError::Identity(format!("RS256 public key: {e}")))?;
            Ok(Self::with_key(key, Algorithm::RS256))
        }

        /// EdDSA with an Ed25519 public key in PEM.
        pub fn eddsa_pem(public_key: &[u8]) -> Result<Self, PolicyError> {
            let key = DecodingKey::from_ed_pem(public_key)
                .map_err(|e| PolicyError::Identity(format!("EdDSA public key: {e}")))?;
            Ok(Self::with_key(key, Algorithm::EdDSA))
        }

        /// Requires this audience (`aud`): a token without the claim is refused, as is one
        /// for another audience.
        #[must_use]
        pub fn audience(mut self, audience: &str) -> Self {
            self.validation.set_audience(&[audience]);
            self.validation.validate_aud = true;
            self.validation
                .required_spec_claims
                .insert("aud".to_owned());
            self
        }

        /// Requires this issuer (`iss`): a token without the claim is refused, as is one
        /// from another issuer.
        #[must_use]
        pub fn issuer(mut self, issuer: &str) -> Self {
            self.validation.set_issuer(&[issuer]);
            self.validation
                .required_spec_claims
                .insert("iss".to_owned());
            self
        }

        /// Clock-skew allowance on `exp` and `nbf`.
        #[must_use]
        pub fn leeway(mut self, leeway: Duration) -> Self {
            self.validation.leeway = leeway.as_secs();
            self
        }

        /// The claims holding the agent id and the roles (default `sub` and `roles`).
        #[must_use]
        pub fn claims(mut self, agent_claim: &str, roles_claim: &str) -> Self {
            self.agent_claim = agent_claim.to_owned();
            self.roles_claim = roles_claim.to_owned();
            self
        }
    }

    impl IdentityVerifier for JwtVerifier {
        fn verify(&self, credential: &Credential) -> Result<VerifiedIdentity, IdentityError> {
            let token = credential.expose();
            if token.len() > MAX_CREDENTIAL {
                return Err(IdentityError::Malformed);
            }
            let data =
                jsonwebtoken::decode::<Map<String, Value>>(token, &self.key, &self.validation)
                    .map_err(|e| match e.kind() {
                        ErrorKind::ExpiredSignature => IdentityError::Expired,
                        ErrorKind::ImmatureSignature => IdentityError::NotYetValid,
                        ErrorKind::InvalidAudience => IdentityError::WrongAudience,
                        ErrorKind::InvalidIssuer => IdentityError::WrongIssuer,
                        ErrorKind::InvalidSignature => IdentityError::BadSignature,
                        ErrorKind::MissingRequiredClaim(claim) => {
                            IdentityError::Claim(match claim.as_str() {
                                "aud" => "aud",
                                "iss" => "iss",
                                _ => "exp",
                            })
                        }
                        ErrorKind::InvalidToken
                        | ErrorKind::Base64(_)
                        | ErrorKind::Json(_)
                        | ErrorKind::Utf8(_) => IdentityError::Malformed,
                        other => IdentityError::Other(format!("{other:?}")),
                    })?;
            identity_from_claims(data.claims, &self.agent_claim, &self.roles_claim)
        }
    }
}
