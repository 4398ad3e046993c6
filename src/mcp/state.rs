//! [`StateSeal`]: the `requestState` of a multi-round trip (MCP 2026-07-28), sealed before
//! the client sees it and opened only for the request it was issued to.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::RpcError;
use crate::service::{ClientCapabilities, InputRequired, InputResponses};

/// Longest sealed state accepted, in bytes.
const MAX_SEALED: usize = 64 * 1024;

/// How long a state is good for, by default: a person may take a while to answer.
const DEFAULT_TTL: Duration = Duration::from_secs(600);

/// Seals and opens the `requestState` of a multi-round trip (MCP 2026-07-28).
///
/// The spec makes request state the client's to carry and the server's to distrust: a
/// client (or whoever stands between) may send back anything. Sealed here means:
/// authenticated with HMAC-SHA-256 under a key the server holds; bound to the caller, the
/// method, the tool (or prompt) and a digest of the arguments, so state issued to one
/// caller or one call is refused on another; and expiring. What a state carries inside —
/// the tool's own state, the keys the round asked for — is readable by the client, so a
/// tool keeps secrets out of it.
///
/// Replicas that serve the same clients share the key
/// ([`StateSeal::from_key`]); a process that draws its own ([`StateSeal::random`]) refuses
/// the states of every other.
#[derive(Clone)]
pub struct StateSeal {
    key: Hmac<Sha256>,
    ttl: Duration,
}

impl std::fmt::Debug for StateSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateSeal")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// What a state is bound to: the digest of the caller, the method, the name and the
/// arguments of the request it was issued on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Binding([u8; 32]);

impl Binding {
    /// The binding of a request: `name` is the tool's or prompt's name (empty when the
    /// method has none), `arguments` what the client sent with it, `owner` who asks as
    /// sessions know it ([`owner_of`](crate::state::session::owner_of): the verified
    /// identity, else a digest of the credential, else the name claimed).
    pub(crate) fn of(method: &str, name: &str, arguments: &Value, owner: &str) -> Self {
        let mut hash = Sha256::new();
        hash.update(b"airlock request state v1\0");
        for part in [method, name, owner] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part.as_bytes());
        }
        canonical(arguments, &mut hash);
        Self(hash.finalize().into())
    }
}

/// Feeds `value` to `hash` with object keys in order, whatever order the client sent
/// them in, each string length-prefixed.
fn canonical(value: &Value, hash: &mut Sha256) {
    let text = |hash: &mut Sha256, s: &str| {
        hash.update((s.len() as u64).to_be_bytes());
        hash.update(s.as_bytes());
    };
    match value {
        Value::Null => hash.update(b"n"),
        Value::Bool(b) => hash.update(if *b { b"t" } else { b"f" }),
        Value::Number(n) => {
            hash.update(b"#");
            text(hash, &n.to_string());
        }
        Value::String(s) => {
            hash.update(b"s");
            text(hash, s);
        }
        Value::Array(items) => {
            hash.update(b"[");
            hash.update((items.len() as u64).to_be_bytes());
            for item in items {
                canonical(item, hash);
            }
        }
        Value::Object(fields) => {
            hash.update(b"{");
            hash.update((fields.len() as u64).to_be_bytes());
            let mut keys: Vec<&String> = fields.keys().collect();
            keys.sort_unstable();
            for key in keys {
                text(hash, key);
                canonical(&fields[key], hash);
            }
        }
    }
}

/// What a sealed state holds.
#[derive(Debug, Serialize, Deserialize)]
struct Sealed {
    /// Expiry, seconds since the epoch.
    e: u64,
    /// The keys of the requests the round asked for.
    k: Vec<String>,
    /// The inner state (the tool's, the relayed server's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    s: Option<String>,
}

/// A state that opened: what the round asked for and the inner state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Opened {
    /// The keys of the requests of the round that issued it.
    pub(crate) keys: Vec<String>,
    /// The inner state.
    pub(crate) inner: Option<String>,
}

/// Why a state was refused. One message for every cause: which check failed is not the
/// client's to learn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "requestState does not verify: it was altered, has expired, or was issued for another \
     request or caller; call again without it"
)]
pub(crate) struct StateRefused;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl StateSeal {
    /// A seal under a key drawn at random: states it issues open only in this process.
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the system's random source");
        Self::from_key(&key)
    }

    /// A seal under `key` (at least 32 bytes of secret, shared by replicas).
    ///
    /// # Panics
    ///
    /// When `key` is shorter than 32 bytes.
    pub fn from_key(key: &[u8]) -> Self {
        assert!(key.len() >= 32, "a request-state key has at least 32 bytes");
        Self {
            key: Hmac::new_from_slice(key).expect("HMAC takes keys of any length"),
            ttl: DEFAULT_TTL,
        }
    }

    /// How long a state stays good (10 minutes by default).
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    fn mac(&self, binding: &Binding, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.key.clone();
        mac.update(&binding.0);
        mac.update(payload);
        mac
    }

    /// Seals `inner` for the request `binding` names, recording the `keys` the round asks
    /// for.
    pub(crate) fn seal<'k>(
        &self,
        binding: &Binding,
        keys: impl IntoIterator<Item = &'k str>,
        inner: Option<&str>,
    ) -> String {
        let sealed = Sealed {
            e: now().saturating_add(self.ttl.as_secs()),
            k: keys.into_iter().map(str::to_owned).collect(),
            s: inner.map(str::to_owned),
        };
        let payload = serde_json::to_vec(&sealed).unwrap_or_default();
        let tag = self.mac(binding, &payload).finalize().into_bytes();
        format!("v1.{}.{}", B64.encode(&payload), B64.encode(tag))
    }

    /// The `InputRequiredResult` asking for `input` on the request `binding` names, its
    /// state sealed; a request for input the client did not declare it can give
    /// (`capabilities`) is `-32021`, one of a kind the revision does not define is refused
    /// (and not passed on).
    pub(crate) fn ask(
        &self,
        binding: &Binding,
        capabilities: &ClientCapabilities,
        input: &InputRequired,
    ) -> Result<Value, RpcError> {
        if input.requests.is_empty() {
            return Err(RpcError::internal(
                "the server asked for input and named none",
            ));
        }
        let mut missing = Vec::new();
        for request in input.requests.values() {
            let method = request
                .get("method")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let Some(capability) = ClientCapabilities::needed_for(method) else {
                return Err(RpcError::internal(
                    "the server asked the client for input of a kind MCP does not define",
                ));
            };
            if !capabilities.supports(method) && !missing.contains(&capability) {
                missing.push(capability);
            }
        }
        if !missing.is_empty() {
            return Err(RpcError::MissingCapability { missing });
        }
        let state = self.seal(
            binding,
            input.requests.keys().map(String::as_str),
            input.state.as_deref(),
        );
        Ok(serde_json::json!({
            "resultType": "input_required",
            "inputRequests": input.requests,
            "requestState": state,
        }))
    }

    /// The client's `inputResponses` and `requestState` of a retry of the request
    /// `binding` names, checked: the state must open for this very request, the answers
    /// must be objects (a client's results). With a state, answers to keys its round did
    /// not ask for are dropped; without one, they reach the tool as they are.
    pub(crate) fn answers(
        &self,
        binding: &Binding,
        responses: Option<Value>,
        state: Option<Value>,
    ) -> Result<Option<InputResponses>, RpcError> {
        let responses = match responses {
            None => None,
            Some(Value::Object(responses)) => {
                if !responses.values().all(Value::is_object) {
                    return Err(RpcError::invalid_params(
                        "each entry of inputResponses is the client's result for that request: \
                         an object",
                    ));
                }
                Some(responses)
            }
            Some(_) => {
                return Err(RpcError::invalid_params(
                    "inputResponses must be an object of the client's results, by request key",
                ));
            }
        };
        let state = match state {
            None => return Ok(responses.map(InputResponses::new)),
            Some(Value::String(state)) => state,
            Some(_) => {
                return Err(RpcError::invalid_params(
                    "requestState must be the string this server gave",
                ));
            }
        };
        let opened = self
            .open(binding, &state)
            .map_err(|refused| RpcError::invalid_params(refused.to_string()))?;
        let mut responses = responses.unwrap_or_default();
        responses.retain(|key, _| opened.keys.contains(key));
        Ok(Some(
            InputResponses::new(responses).with_state(opened.inner),
        ))
    }

    /// Opens a state the client sent back on the request `binding` names.
    pub(crate) fn open(&self, binding: &Binding, sealed: &str) -> Result<Opened, StateRefused> {
        if sealed.len() > MAX_SEALED {
            return Err(StateRefused);
        }
        let mut parts = sealed.split('.');
        let (Some("v1"), Some(payload), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(StateRefused);
        };
        let payload = B64.decode(payload).map_err(|_| StateRefused)?;
        let tag = B64.decode(tag).map_err(|_| StateRefused)?;
        self.mac(binding, &payload)
            .verify_slice(&tag)
            .map_err(|_| StateRefused)?;
        let sealed: Sealed = serde_json::from_slice(&payload).map_err(|_| StateRefused)?;
        if sealed.e < now() {
            return Err(StateRefused);
        }
        Ok(Opened {
            keys: sealed.k,
            inner: sealed.s,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_state_opens_only_on_the_request_and_caller_it_was_issued_to() {
        let seal = StateSeal::random();
        let ada = "verified:ada";
        let args = json!({"path": "/tmp/a", "mode": {"x": 1, "y": [1, 2]}});
        let bound = Binding::of("tools/call", "write", &args, ada);
        let state = seal.seal(&bound, ["confirm"], Some("step-2"));
        // The same request, its object keys in another order: opens.
        let reordered = json!({"mode": {"y": [1, 2], "x": 1}, "path": "/tmp/a"});
        let opened = seal
            .open(&Binding::of("tools/call", "write", &reordered, ada), &state)
            .unwrap();
        assert_eq!(opened.keys, ["confirm"]);
        assert_eq!(opened.inner.as_deref(), Some("step-2"));
        // Another caller, tool, method or argument: refused.
        let refused = [
            Binding::of("tools/call", "write", &args, "verified:eve"),
            Binding::of("tools/call", "delete", &args, ada),
            Binding::of("prompts/get", "write", &args, ada),
            Binding::of("tools/call", "write", &json!({"path": "/etc/passwd"}), ada),
            Binding::of("tools/call", "write", &args, "claimed:ada"),
        ];
        for binding in &refused {
            assert_eq!(seal.open(binding, &state), Err(StateRefused));
        }
        // Another server's key: refused.
        assert_eq!(StateSeal::random().open(&bound, &state), Err(StateRefused));
    }

    #[test]
    fn altered_expired_or_malformed_states_are_refused() {
        let key = [7u8; 32];
        let seal = StateSeal::from_key(&key);
        let bound = Binding::of("tools/call", "t", &json!({}), "claimed:");
        let state = seal.seal(&bound, ["a"], Some("inner"));
        assert!(StateSeal::from_key(&key).open(&bound, &state).is_ok());
        // The payload rewritten to carry another inner state, the tag kept.
        let (_, tag) = state.rsplit_once('.').unwrap();
        let forged = format!(
            "v1.{}.{tag}",
            B64.encode(br#"{"e":99999999999,"k":["a"],"s":"admin"}"#)
        );
        let tampered = format!("{state}-TAMPERED");
        for bad in [
            forged.as_str(),
            tampered.as_str(),
            "",
            "v1",
            "v1..",
            "v2.e30.AAAA",
            &"v1.".repeat(30_000),
        ] {
            assert_eq!(seal.open(&bound, bad), Err(StateRefused), "{bad:.40}");
        }
        let expired = StateSeal::from_key(&key).ttl(Duration::ZERO);
        let old = expired.seal(&bound, ["a"], None);
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(seal.open(&bound, &old), Err(StateRefused));
    }
}
