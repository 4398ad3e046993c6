//! [`OAuthVerifier`] at work: the keys held and their refresh, a token's checks, the
//! tokens remembered. See the [module docs](super).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::fetch;
use super::introspect;
use super::keys::KeySet;
use crate::layers::policy::config::ClaimRoles;
use crate::layers::policy::error::PolicyError;
use crate::layers::policy::identity::{
    IdentityError, IdentityVerifier, MAX_AGENT_ID, VerifiedIdentity, granted_scopes,
};
use crate::service::Credential;

/// Longest token looked at; anything longer is refused unread.
const MAX_TOKEN: usize = 16 * 1024;
/// Most verified tokens remembered at once.
const MAX_REMEMBERED: usize = 4096;
/// Longest a verified token is remembered.
const REMEMBER_FOR: Duration = Duration::from_secs(300);
/// JOSE header parameters that point at keys elsewhere or ask for extensions: a token
/// carrying one is refused, and nothing it names is fetched.
const REFUSED_HEADERS: [&str; 5] = ["jku", "x5u", "jwk", "x5c", "crit"];
/// Token types (`typ`) an access token may carry (RFC 9068 names `at+jwt`).
const ACCESS_TOKEN_TYPES: [&str; 3] = ["jwt", "at+jwt", "application/at+jwt"];

/// The algorithms accepted unless configured otherwise.
pub const DEFAULT_ALGORITHMS: [Algorithm; 4] = [
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

/// Verifies OAuth access tokens (JWT) of one authorization server for one resource; see
/// the [module docs](crate::layers::policy::oauth).
///
/// ```no_run
/// use std::sync::Arc;
/// use agent_airlock::layers::policy::{OAuthVerifier, PolicyEngine};
///
/// let verifier = OAuthVerifier::builder("https://auth.example.com", "https://tools.example.com/mcp")
///     .scope_roles("tools:read", ["reader"])
///     .build()?;
/// let policy = PolicyEngine::builder().verifier(Arc::new(verifier)).require_identity(true).build()?;
/// # Ok::<(), agent_airlock::layers::policy::PolicyError>(())
/// ```
#[derive(Clone)]
pub struct OAuthVerifier {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) issuer: String,
    pub(super) resource: String,
    pub(super) jwks_uri: Option<String>,
    pub(super) algorithms: Vec<Algorithm>,
    pub(super) leeway: i64,
    pub(super) agent_claim: String,
    pub(super) roles_claim: Option<String>,
    pub(super) scope_roles: HashMap<String, Vec<String>>,
    pub(super) claim_roles: Vec<ClaimRoles>,
    pub(super) http: reqwest::Client,
    pub(super) refresh_interval: Duration,
    pub(super) max_key_age: Duration,
    pub(super) keys: ArcSwap<Loaded>,
    pub(super) refresh: tokio::sync::Mutex<Refresh>,
    pub(super) remembered: Mutex<HashMap<[u8; 32], (VerifiedIdentity, Instant)>>,
    pub(super) introspection: Option<introspect::Introspection>,
    pub(super) timeout: Duration,
}

/// The keys held, and when they were fetched (`None`: never).
#[derive(Default)]
pub(super) struct Loaded {
    pub(super) keys: KeySet,
    pub(super) fetched: Option<Instant>,
}

/// What refreshes share: when the last fetch started and ended (successful or not), and
/// the discovered JWKS URL.
#[derive(Default)]
pub(super) struct Refresh {
    pub(super) last_attempt: Option<Instant>,
    pub(super) last_done: Option<Instant>,
    pub(super) jwks_uri: Option<String>,
}

impl std::fmt::Debug for OAuthVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthVerifier")
            .field("issuer", &self.inner.issuer)
            .field("resource", &self.inner.resource)
            .field("keys", &self.inner.keys.load().keys)
            .finish()
    }
}

impl OAuthVerifier {
    /// The issuer tokens must come from.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The resource tokens must be issued for.
    pub fn resource(&self) -> &str {
        &self.inner.resource
    }

    /// Fetches the keys now (at start, so the first caller does not wait); an error when
    /// they cannot be fetched. Needs a Tokio runtime.
    pub async fn load_keys(&self) -> Result<usize, PolicyError> {
        let mut refresh = self.inner.refresh.lock().await;
        refresh.last_attempt = Some(Instant::now());
        let fetched = self.inner.fetch_keys(&mut refresh).await;
        refresh.last_done = Some(Instant::now());
        let keys = fetched.map_err(PolicyError::Identity)?;
        let count = keys.len();
        self.inner.store(keys);
        Ok(count)
    }

    /// How many keys are held now.
    pub fn key_count(&self) -> usize {
        self.inner.keys.load().keys.len()
    }
}

/// A NumericDate claim (seconds, possibly with a fraction, which the leeway absorbs):
/// `None` when absent, an error when not a number.
fn numeric(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, IdentityError> {
    match claims.get(name) {
        None => Ok(None),
        Some(value) => value
            .as_i64()
            .or_else(|| value.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .map(Some)
            .ok_or(IdentityError::Claim(name)),
    }
}

/// The clock tokens' times are read against, in seconds since the epoch.
fn now_secs() -> i64 {
    i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX)
}

/// Whether a token is opaque (not a JWT: no `.` in it), which only introspection can
/// vouch for.
fn is_opaque(token: &str) -> bool {
    !token.is_empty() && !token.contains('.')
}

/// A token's JOSE header: its `alg` and `kid`, refused when it carries what this verifier
/// never follows.
fn header(token: &str) -> Result<(Algorithm, Option<String>), IdentityError> {
    let (encoded, _) = token.split_once('.').ok_or(IdentityError::Malformed)?;
    let json = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| IdentityError::Malformed)?;
    let header: Map<String, Value> =
        serde_json::from_slice(&json).map_err(|_| IdentityError::Malformed)?;
    if let Some(name) = REFUSED_HEADERS.iter().find(|h| header.contains_key(**h)) {
        return Err(IdentityError::Other(format!(
            "the token's header carries `{name}`"
        )));
    }
    if let Some(typ) = header.get("typ") {
        let typ = typ.as_str().ok_or(IdentityError::Malformed)?;
        if !ACCESS_TOKEN_TYPES
            .iter()
            .any(|t| t.eq_ignore_ascii_case(typ))
        {
            return Err(IdentityError::Other(format!(
                "a token of type {typ:?} is not an access token"
            )));
        }
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(IdentityError::Malformed)?;
    let alg = Algorithm::from_str(alg)
        .map_err(|_| IdentityError::Other(format!("the algorithm {alg:?} is not accepted")))?;
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) if kid.len() <= 256 => Some(kid.clone()),
        Some(_) => return Err(IdentityError::Malformed),
    };
    Ok((alg, kid))
}

impl Inner {
    fn store(&self, keys: KeySet) {
        self.keys.store(Arc::new(Loaded {
            keys,
            fetched: Some(Instant::now()),
        }));
        // A token verified with a key that is gone must be verified again.
        self.remembered.lock().expect("not poisoned").clear();
    }

    /// Whether the keys held can verify a token with `kid` and are young enough.
    fn ready_for(&self, kid: Option<&str>) -> bool {
        let loaded = self.keys.load();
        loaded.keys.knows(kid)
            && loaded
                .fetched
                .is_some_and(|t| t.elapsed() < self.max_key_age)
    }

    /// Fetches the keys for a token naming `kid`, which the keys held do not verify. One
    /// fetch at a time, at most one per refresh interval: a token arriving sooner waits for
    /// the next one (so a key the server has just rotated in is fetched, and tokens naming
    /// keys nobody published cannot make this server hammer the authorization server), and
    /// every token that waited while a fetch ran is answered by that fetch.
    async fn refresh(self: Arc<Self>, kid: Option<String>) {
        let asked = Instant::now();
        let refresh = self.refresh.lock().await;
        if refresh.last_done.is_some_and(|t| t >= asked) {
            // A fetch ended since this token asked: those are the newest keys there are.
            return;
        }
        if let Some(wait) = refresh
            .last_attempt
            .and_then(|t| self.refresh_interval.checked_sub(t.elapsed()))
        {
            tokio::time::sleep(wait).await;
        }
        self.refresh_locked(refresh, kid).await;
    }

    async fn refresh_locked(
        &self,
        mut refresh: tokio::sync::MutexGuard<'_, Refresh>,
        kid: Option<String>,
    ) {
        if self.ready_for(kid.as_deref()) {
            return;
        }
        if refresh
            .last_attempt
            .is_some_and(|t| t.elapsed() < self.refresh_interval)
        {
            return;
        }
        refresh.last_attempt = Some(Instant::now());
        let fetched = self.fetch_keys(&mut refresh).await;
        refresh.last_done = Some(Instant::now());
        match fetched {
            Ok(keys) => {
                tracing::info!(issuer = %self.issuer, keys = keys.len(), "authorization server keys fetched");
                self.store(keys);
            }
            Err(error) => {
                tracing::warn!(issuer = %self.issuer, %error, "the authorization server's keys could not be fetched; the keys held stay in use");
            }
        }
    }

    async fn fetch_keys(&self, refresh: &mut Refresh) -> Result<KeySet, String> {
        let jwks_uri = match (&self.jwks_uri, &refresh.jwks_uri) {
            (Some(url), _) | (None, Some(url)) => url.clone(),
            (None, None) => {
                let url = self.discover().await?;
                refresh.jwks_uri = Some(url.clone());
                url
            }
        };
        let body = fetch::bounded(
            self.http
                .get(&jwks_uri)
                .header(reqwest::header::ACCEPT, "application/json"),
            &jwks_uri,
        )
        .await;
        let body = match body {
            Ok(body) => body,
            Err(e) => {
                // The metadata may have moved the keys: discover again next time.
                refresh.jwks_uri = None;
                return Err(e);
            }
        };
        KeySet::parse(&body, &self.algorithms).map_err(|e| format!("{jwks_uri}: {e}"))
    }

    /// The `jwks_uri` of the issuer's metadata.
    async fn discover(&self) -> Result<String, String> {
        self.endpoint("jwks_uri").await
    }

    /// An endpoint the issuer's metadata names (`jwks_uri`, `introspection_endpoint`);
    /// the metadata must name the issuer exactly.
    async fn endpoint(&self, name: &str) -> Result<String, String> {
        let mut errors = Vec::new();
        for url in fetch::metadata_urls(&self.issuer)? {
            match fetch::json(&self.http, &url).await {
                Ok(metadata) => {
                    if metadata.get("issuer").and_then(Value::as_str) != Some(self.issuer.as_str())
                    {
                        return Err(format!(
                            "{url}: the metadata names another issuer than {}",
                            self.issuer
                        ));
                    }
                    let endpoint = metadata
                        .get(name)
                        .and_then(Value::as_str)
                        .ok_or_else(|| format!("{url}: the metadata has no {name}"))?;
                    fetch::http_url(endpoint)?;
                    return Ok(endpoint.to_owned());
                }
                Err(e) => errors.push(e),
            }
        }
        Err(errors.join("; "))
    }

    /// Asks the introspection endpoint about an opaque token and remembers what an active
    /// one for this resource proves; nothing is remembered of any other answer.
    async fn introspect(self: Arc<Self>, token: String) {
        let Some(introspection) = &self.introspection else {
            return;
        };
        let asked = introspection
            .ask(&self.http, &token, self.timeout, || {
                self.endpoint("introspection_endpoint")
            })
            .await;
        let checked = asked.and_then(|mut claims| {
            // A client's own token (client credentials) may carry no `sub`: the client is
            // the subject.
            if self.agent_claim == "sub"
                && !claims.contains_key("sub")
                && let Some(client) = claims.get("client_id").cloned()
            {
                claims.insert("sub".into(), client);
            }
            self.check_introspected(&claims)
                .map_err(|e| e.to_string())?;
            let exp = numeric(&claims, "exp").map_err(|e| e.to_string())?;
            let identity = self.identity(claims).map_err(|e| e.to_string())?;
            Ok((identity, exp))
        });
        match checked {
            Ok((identity, exp)) => {
                let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
                // Without an `exp`, a minute: the server may revoke it any time.
                let exp = exp.unwrap_or_else(|| now_secs().saturating_add(60));
                self.remember(digest, &identity, exp);
            }
            Err(reason) => tracing::info!(%reason, "an opaque token was refused"),
        }
    }

    /// RFC 7662's answer about a token meant for this server: from this issuer when it
    /// says, naming this resource, not expired, valid already.
    fn check_introspected(&self, claims: &Map<String, Value>) -> Result<(), IdentityError> {
        let now = now_secs();
        if claims
            .get("iss")
            .is_some_and(|iss| iss.as_str() != Some(self.issuer.as_str()))
        {
            return Err(IdentityError::WrongIssuer);
        }
        if let Some(exp) = numeric(claims, "exp")?
            && now > exp.saturating_add(self.leeway)
        {
            return Err(IdentityError::Expired);
        }
        if let Some(nbf) = numeric(claims, "nbf")?
            && now.saturating_add(self.leeway) < nbf
        {
            return Err(IdentityError::NotYetValid);
        }
        self.check_audience(claims)
    }

    /// `aud` names this resource (a string, or one of an array).
    fn check_audience(&self, claims: &Map<String, Value>) -> Result<(), IdentityError> {
        let ours = |v: &Value| v.as_str() == Some(self.resource.as_str());
        match claims.get("aud") {
            None => Err(IdentityError::Claim("aud")),
            Some(Value::Array(audiences)) if audiences.iter().any(ours) => Ok(()),
            Some(aud) if ours(aud) => Ok(()),
            Some(_) => Err(IdentityError::WrongAudience),
        }
    }

    /// Remembers `identity` for the token of `digest` until `exp`, at most
    /// [`REMEMBER_FOR`]; nothing when it has expired.
    fn remember(&self, digest: [u8; 32], identity: &VerifiedIdentity, exp: i64) {
        let seconds_left = exp.saturating_sub(now_secs());
        if seconds_left <= 0 {
            return;
        }
        let now = Instant::now();
        let until = now + REMEMBER_FOR.min(Duration::from_secs(seconds_left as u64));
        let mut remembered = self.remembered.lock().expect("not poisoned");
        if remembered.len() >= MAX_REMEMBERED {
            remembered.retain(|_, (_, until)| *until > now);
            if remembered.len() >= MAX_REMEMBERED {
                remembered.clear();
            }
        }
        remembered.insert(digest, (identity.clone(), until));
    }

    fn identity(&self, claims: Map<String, Value>) -> Result<VerifiedIdentity, IdentityError> {
        let agent_id = match claims.get(&self.agent_claim) {
            Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_AGENT_ID => s.clone(),
            _ => return Err(IdentityError::Claim("sub")),
        };
        let mut roles: Vec<String> = Vec::new();
        let mut grant = |role: &str| {
            if !roles.iter().any(|r| r == role) {
                roles.push(role.to_owned());
            }
        };
        if let Some(claim) = &self.roles_claim {
            match claims.get(claim) {
                Some(Value::String(s)) => s.split_whitespace().for_each(&mut grant),
                Some(Value::Array(items)) => {
                    items.iter().filter_map(Value::as_str).for_each(&mut grant)
                }
                _ => {}
            }
        }
        for scope in granted_scopes(&claims) {
            if let Some(granted) = self.scope_roles.get(scope) {
                granted.iter().for_each(|r| grant(r));
            }
        }
        for rule in &self.claim_roles {
            let holds = match claims.get(&rule.claim) {
                Some(Value::String(s)) => *s == rule.value,
                Some(Value::Array(items)) => items.iter().any(|v| v.as_str() == Some(&rule.value)),
                _ => false,
            };
            if holds {
                rule.roles.iter().for_each(|r| grant(r));
            }
        }
        let mut identity = VerifiedIdentity::new(agent_id, roles);
        identity.claims = claims;
        Ok(identity)
    }

    fn verify_signed(&self, token: &str) -> Result<(VerifiedIdentity, i64), IdentityError> {
        let (alg, kid) = header(token)?;
        if !self.algorithms.contains(&alg) {
            return Err(IdentityError::Other(format!(
                "the algorithm {alg:?} is not accepted"
            )));
        }
        // header "." payload "." signature: the signature covers the first two.
        let (message, signature) = token.rsplit_once('.').ok_or(IdentityError::Malformed)?;
        let (_, payload) = message.split_once('.').ok_or(IdentityError::Malformed)?;
        if payload.contains('.') || signature.is_empty() {
            return Err(IdentityError::Malformed);
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| IdentityError::Malformed)?;
        let loaded = self.keys.load();
        let candidates = loaded.keys.candidates(kid.as_deref());
        if candidates.is_empty() {
            return Err(IdentityError::Other(
                "no key of the authorization server's has this token's kid".into(),
            ));
        }
        if !candidates
            .iter()
            .any(|key| key.verifies(alg, message.as_bytes(), &signature))
        {
            return Err(IdentityError::BadSignature);
        }
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| IdentityError::Malformed)?;
        let claims: Map<String, Value> =
            serde_json::from_slice(&json).map_err(|_| IdentityError::Malformed)?;
        let exp = self.check_claims(&claims)?;
        Ok((self.identity(claims)?, exp))
    }

    /// RFC 9068's checks of a signed token's claims: `exp` (required) and `nbf` within the
    /// leeway, `iss` exactly the issuer, `aud` naming this resource. The expiry.
    fn check_claims(&self, claims: &Map<String, Value>) -> Result<i64, IdentityError> {
        let now = now_secs();
        let exp = numeric(claims, "exp")?.ok_or(IdentityError::Claim("exp"))?;
        if now > exp.saturating_add(self.leeway) {
            return Err(IdentityError::Expired);
        }
        if let Some(nbf) = numeric(claims, "nbf")?
            && now.saturating_add(self.leeway) < nbf
        {
            return Err(IdentityError::NotYetValid);
        }
        match claims.get("iss") {
            None => return Err(IdentityError::Claim("iss")),
            Some(Value::String(iss)) if *iss == self.issuer => {}
            Some(_) => return Err(IdentityError::WrongIssuer),
        }
        self.check_audience(claims).map(|()| exp)
    }
}

impl IdentityVerifier for OAuthVerifier {
    fn verify(&self, credential: &Credential) -> Result<VerifiedIdentity, IdentityError> {
        let token = credential.expose();
        if token.len() > MAX_TOKEN {
            return Err(IdentityError::Malformed);
        }
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = Instant::now();
        if let Some((identity, until)) = self
            .inner
            .remembered
            .lock()
            .expect("not poisoned")
            .get(&digest)
            && *until > now
        {
            return Ok(identity.clone());
        }
        if is_opaque(token) {
            // Known only through introspection (`prepare`), which remembered it if active.
            return Err(IdentityError::Other(
                "an opaque token the authorization server did not vouch for".into(),
            ));
        }
        let (identity, exp) = self.inner.verify_signed(token)?;
        self.inner.remember(digest, &identity, exp);
        Ok(identity)
    }

    fn prepare(&self, credential: &Credential) -> Option<Pin<Box<dyn Future<Output = ()> + Send>>> {
        let token = credential.expose();
        if token.len() > MAX_TOKEN {
            return None;
        }
        if is_opaque(token) {
            self.inner.introspection.as_ref()?;
            let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
            let known = self
                .inner
                .remembered
                .lock()
                .expect("not poisoned")
                .get(&digest)
                .is_some_and(|(_, until)| *until > Instant::now());
            if known {
                return None;
            }
            return Some(Box::pin(self.inner.clone().introspect(token.to_owned())));
        }
        // A token whose header is refused is refused by `verify`: nothing to fetch for it.
        let (_, kid) = header(token).ok()?;
        let loaded = self.inner.keys.load();
        if !loaded.keys.knows(kid.as_deref()) {
            // A key not held: the token waits for one fetch (or is refused without one).
            return Some(Box::pin(self.inner.clone().refresh(kid)));
        }
        if loaded
            .fetched
            .is_some_and(|t| t.elapsed() >= self.inner.max_key_age)
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            // Old keys still verify: fetch in the background, nobody waits.
            let inner = self.inner.clone();
            runtime.spawn(async move {
                if let Ok(refresh) = inner.refresh.try_lock() {
                    inner.refresh_locked(refresh, None).await;
                }
            });
        }
        None
    }
}
