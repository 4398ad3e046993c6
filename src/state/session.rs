//! Server-issued MCP sessions, bound to the caller that created them.
//!
//! A session id is whatever the server issued at `initialize`, never what a client makes
//! up: [`SessionStore`] keeps the issued ids with their owner (a fingerprint of the
//! caller's identity) and an expiry. A request with an unknown, expired or someone else's
//! id is answered `404 Not Found` (the client starts a new session); session budgets key
//! on these ids only, so a fresh made-up id per call escapes nothing.
//!
//! ```
//! use std::time::Duration;
//! use agent_airlock::state::session::{MemorySessionStore, SessionCheck, SessionStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let store = MemorySessionStore::new(1000, Duration::from_secs(3600));
//! let id = store.create("agent:alice").await.unwrap();
//! assert_eq!(store.check(&id, "agent:alice").await, SessionCheck::Valid);
//! assert_eq!(store.check(&id, "agent:mallory").await, SessionCheck::Unknown);
//! assert_eq!(store.check("made-up", "agent:alice").await, SessionCheck::Unknown);
//! assert!(store.end(&id, "agent:alice").await);
//! assert_eq!(store.check(&id, "agent:alice").await, SessionCheck::Unknown);
//! # }
//! ```

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::layers::policy::PolicyEngine;
use crate::service::Caller;

/// What a store says of a presented session id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionCheck {
    /// Issued to this owner and not expired.
    Valid,
    /// Never issued, expired, ended, or issued to another owner: all alike to the caller.
    Unknown,
    /// The store cannot answer (a shared store that is down or slow): the request is
    /// refused with `503`, never let through unchecked.
    Unavailable,
}

/// Why a session could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The store holds as many live sessions as it may.
    #[error("too many sessions are active")]
    Full,
    /// This caller holds as many live sessions as one caller may.
    #[error("this caller holds as many sessions as it may: end one (DELETE) or let one expire")]
    OwnerFull,
    /// The store cannot answer (a shared store that is down).
    #[error("the session store is unavailable: {0}")]
    Unavailable(String),
}

/// Where issued sessions live: in memory ([`MemorySessionStore`]), or a shared store for
/// several replicas (`RedisState`, feature `redis`). Asynchronous, so a shared store waits
/// on the network without holding a thread.
pub trait SessionStore: Send + Sync + std::fmt::Debug {
    /// Issues a new session to `owner`; the id is unguessable (128 random bits).
    fn create<'a>(&'a self, owner: &'a str) -> BoxFuture<'a, Result<String, SessionError>>;
    /// Whether `id` is a live session of `owner`; a valid check extends its life.
    fn check<'a>(&'a self, id: &'a str, owner: &'a str) -> BoxFuture<'a, SessionCheck>;
    /// Ends `id` if it is `owner`'s; false when there was no such session.
    fn end<'a>(&'a self, id: &'a str, owner: &'a str) -> BoxFuture<'a, bool>;
}

/// The future a [`SessionStore`] method returns.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

#[derive(Debug)]
struct Entry {
    owner: Box<str>,
    expires: Instant,
}

/// Sessions in this process's memory: at most `max` live ones, each expiring `ttl` after
/// its last use. Creating one past `max` first drops the expired; when none is, it fails
/// rather than evicting a live session (a flood of `initialize` calls cannot log real
/// clients out).
#[derive(Debug)]
pub struct MemorySessionStore {
    sessions: Mutex<HashMap<String, Entry>>,
    max: usize,
    max_per_owner: usize,
    ttl: Duration,
}

impl MemorySessionStore {
    /// At most `max` live sessions (at least 1), each living `ttl` after its last use.
    pub fn new(max: usize, ttl: Duration) -> Self {
        Self {
            sessions: Mutex::new(HashMap::new()),
            max: max.max(1),
            max_per_owner: usize::MAX,
            ttl,
        }
    }

    /// At most `max` live sessions per owner that presented a credential (at least 1;
    /// default: no limit but the store's). Creating one past it fails with
    /// [`SessionError::OwnerFull`]. Owners without a credential (`claimed:…`) cannot be
    /// told apart, and are held to the store's limit only.
    #[must_use]
    pub fn max_per_owner(mut self, max: usize) -> Self {
        self.max_per_owner = max.max(1);
        self
    }

    /// Live sessions (for metrics and tests).
    pub fn len(&self) -> usize {
        let now = Instant::now();
        self.lock().values().filter(|e| e.expires > now).count()
    }

    /// Whether no session is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for MemorySessionStore {
    /// 10,000 sessions of an hour.
    fn default() -> Self {
        Self::new(10_000, Duration::from_secs(3600))
    }
}

impl SessionStore for MemorySessionStore {
    fn create<'a>(&'a self, owner: &'a str) -> BoxFuture<'a, Result<String, SessionError>> {
        Box::pin(std::future::ready(self.create_now(owner)))
    }

    fn check<'a>(&'a self, id: &'a str, owner: &'a str) -> BoxFuture<'a, SessionCheck> {
        Box::pin(std::future::ready(self.check_now(id, owner)))
    }

    fn end<'a>(&'a self, id: &'a str, owner: &'a str) -> BoxFuture<'a, bool> {
        Box::pin(std::future::ready(self.end_now(id, owner)))
    }
}

impl MemorySessionStore {
    /// [`SessionStore::create`], without a future. Counting the owner's sessions is one
    /// pass over the store (at most `max` entries), done only when a quota is set.
    pub fn create_now(&self, owner: &str) -> Result<String, SessionError> {
        let now = Instant::now();
        let mut sessions = self.lock();
        if sessions.len() >= self.max {
            sessions.retain(|_, e| e.expires > now);
            if sessions.len() >= self.max {
                return Err(SessionError::Full);
            }
        }
        if self.max_per_owner < usize::MAX && held_to_quota(owner) {
            let held = sessions
                .values()
                .filter(|e| e.expires > now && *e.owner == *owner)
                .count();
            if held >= self.max_per_owner {
                return Err(SessionError::OwnerFull);
            }
        }
        let id = new_session_id();
        sessions.insert(
            id.clone(),
            Entry {
                owner: owner.into(),
                expires: now + self.ttl,
            },
        );
        Ok(id)
    }

    /// [`SessionStore::check`], without a future.
    pub fn check_now(&self, id: &str, owner: &str) -> SessionCheck {
        let now = Instant::now();
        let mut sessions = self.lock();
        match sessions.get_mut(id) {
            Some(e) if e.expires <= now => {
                sessions.remove(id);
                SessionCheck::Unknown
            }
            Some(e) if *e.owner == *owner => {
                e.expires = now + self.ttl;
                SessionCheck::Valid
            }
            _ => SessionCheck::Unknown,
        }
    }

    /// [`SessionStore::end`], without a future.
    pub fn end_now(&self, id: &str, owner: &str) -> bool {
        let mut sessions = self.lock();
        match sessions.get(id) {
            Some(e) if *e.owner == *owner => sessions.remove(id).is_some(),
            _ => false,
        }
    }
}

/// Whether an owner is held to the per-owner quota: one that presented a credential
/// ([`owner_of`]'s `verified:` and `credential:` owners). Callers without one cannot be told
/// apart (their claimed ids are anybody's to claim), so they are held to the store's limit
/// only; with `require_identity`, they get no session at all.
pub(crate) fn held_to_quota(owner: &str) -> bool {
    !owner.starts_with("claimed:")
}

/// A new session id: 128 bits from the operating system, hex.
pub(crate) fn new_session_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness: fall back to the per-process random state (still unguessable
        // across processes, not across a long-lived one's sessions).
        use std::hash::{BuildHasher, RandomState};
        let a = RandomState::new().hash_one(std::time::SystemTime::now());
        let b = RandomState::new().hash_one(a);
        bytes[..8].copy_from_slice(&a.to_le_bytes());
        bytes[8..].copy_from_slice(&b.to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Who a session belongs to: the verified agent when the policy verifies the caller's
/// credential, else the credential itself (hashed: a token is never kept), else the
/// claimed agent id (which binds nothing an attacker cannot claim: configure a verifier).
pub fn owner_of(caller: &Caller, policy: Option<&PolicyEngine>) -> String {
    if let Some(policy) = policy
        && caller.credential.is_some()
    {
        let mut verified = caller.clone();
        if policy.authenticate(&mut verified).is_ok() && verified.verified {
            return format!("verified:{}", verified.agent_id.unwrap_or_default());
        }
    }
    match &caller.credential {
        Some(credential) => {
            let hash = Sha256::digest(credential.expose().as_bytes());
            let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
            format!("credential:{hex}")
        }
        None => format!("claimed:{}", caller.agent_id.as_deref().unwrap_or_default()),
    }
}

/// What session budgets count a call of revision 2026-07-28 against, which has no session:
/// the verified caller (`owner`, as [`owner_of`] gives it), the one thing such a request
/// carries that a client cannot forge or borrow. `None` for a caller that is not verified:
/// its calls are not budgeted, or refused under `require_session`.
pub fn principal_budget(owner: &str) -> Option<String> {
    if !owner.starts_with("verified:") {
        return None;
    }
    let hash = Sha256::digest(owner.as_bytes());
    let hex: String = hash.iter().take(16).map(|b| format!("{b:02x}")).collect();
    Some(format!("principal:{hex}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_verified_caller_has_a_budget_of_its_own_without_a_session() {
        let ada = principal_budget("verified:ada").unwrap();
        assert_eq!(principal_budget("verified:ada").unwrap(), ada);
        assert_ne!(principal_budget("verified:eve").unwrap(), ada);
        assert!(!ada.contains("ada"));
        assert_eq!(principal_budget("credential:ab12"), None);
        assert_eq!(principal_budget("claimed:ada"), None);
    }

    #[test]
    fn a_caller_with_a_credential_holds_at_most_its_quota() {
        let store = MemorySessionStore::new(100, Duration::from_secs(60)).max_per_owner(2);
        let a = store.create_now("verified:alice").unwrap();
        store.create_now("credential:ab12").unwrap();
        store.create_now("verified:alice").unwrap();
        assert_eq!(
            store.create_now("verified:alice"),
            Err(SessionError::OwnerFull)
        );
        store.create_now("credential:ab12").unwrap();
        assert_eq!(
            store.create_now("credential:ab12"),
            Err(SessionError::OwnerFull)
        );
        for _ in 0..10 {
            store.create_now("claimed:").unwrap();
        }
        assert!(store.end_now(&a, "verified:alice"));
        assert!(store.create_now("verified:alice").is_ok());
    }

    #[test]
    fn expired_sessions_are_unknown_and_a_full_store_refuses_new_ones() {
        let store = MemorySessionStore::new(2, Duration::from_millis(30));
        let a = store.create_now("o").unwrap();
        let _b = store.create_now("o").unwrap();
        assert_eq!(store.create_now("o"), Err(SessionError::Full));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(store.check_now(&a, "o"), SessionCheck::Unknown);
        // The expired ones make room.
        assert!(store.create_now("o").is_ok());
        assert_eq!(store.len(), 1);
    }
}
