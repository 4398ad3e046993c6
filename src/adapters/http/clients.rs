//! What the HTTP door remembers of each session's client under the handshake revisions:
//! the capabilities it declared at `initialize`, the log level it set, the resources it
//! subscribed to; and the requests the door made of it that wait for its answer (POSTed
//! back as JSON-RPC responses on the same session).
//!
//! Kept by the replica that served the request, in memory, bounded: at most
//! [`MAX_CLIENTS`] sessions (the least recently used is forgotten first) and
//! [`MAX_SUBSCRIPTIONS`] subscriptions each. A session another replica opened is served
//! as a client that declared nothing and set no level.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde_json::Value;
use tokio::sync::oneshot;

use crate::service::{ClientCapabilities, LogLevel};

/// Most sessions whose client the door remembers.
pub(super) const MAX_CLIENTS: usize = 16_384;
/// Most resources one session may subscribe to.
pub(super) const MAX_SUBSCRIPTIONS: usize = 64;
/// Most subscriptions of every session together.
const MAX_ALL_SUBSCRIPTIONS: usize = 65_536;
/// Largest declaration of one capability kept whole (larger: kept as declared, its
/// details dropped).
const MAX_CAPABILITY: usize = 1024;

/// One session's client.
#[derive(Debug, Default)]
struct Client {
    capabilities: ClientCapabilities,
    level: Option<LogLevel>,
    subscriptions: HashSet<String>,
    used: Option<Instant>,
}

/// The sessions' clients, and the requests waiting for their answers.
#[derive(Debug, Default)]
pub(super) struct Clients {
    known: Mutex<Known>,
    waiting: Mutex<HashMap<(String, String), oneshot::Sender<Value>>>,
    next: AtomicU64,
}

/// A request made of a session's client, waiting for its answer; forgotten when dropped.
pub(super) struct Waiting<'a> {
    clients: &'a Clients,
    key: (String, String),
    pub(super) answer: oneshot::Receiver<Value>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        lock(&self.clients.waiting).remove(&self.key);
    }
}

/// The sessions' clients, and how many subscriptions they hold together.
#[derive(Debug, Default)]
struct Known {
    clients: HashMap<String, Client>,
    subscriptions: usize,
}

impl Known {
    fn forget(&mut self, session: &str) {
        if let Some(client) = self.clients.remove(session) {
            self.subscriptions -= client.subscriptions.len();
        }
    }
}

/// What a client declared that the door uses (what it can be asked, and how), each
/// declaration kept whole only when small: a client's `initialize` cannot make the door
/// hold much.
fn kept(capabilities: Value) -> Value {
    let Value::Object(declared) = capabilities else {
        return Value::Object(Default::default());
    };
    let kept = declared
        .into_iter()
        .filter(|(name, _)| ["elicitation", "sampling", "roots"].contains(&name.as_str()))
        .filter(|(_, value)| value.is_object())
        .map(|(name, value)| {
            let small = serde_json::to_string(&value).map_or(0, |s| s.len()) <= MAX_CAPABILITY;
            (name, if small { value } else { serde_json::json!({}) })
        })
        .collect();
    Value::Object(kept)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Clients {
    /// The client of `session`, created (forgetting the least recently used one when full).
    fn with<R>(&self, session: &str, f: impl FnOnce(&mut Client, &mut usize) -> R) -> R {
        let mut known = lock(&self.known);
        if !known.clients.contains_key(session) && known.clients.len() >= MAX_CLIENTS {
            let oldest = known
                .clients
                .iter()
                .min_by_key(|(_, client)| client.used)
                .map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                known.forget(&oldest);
            }
        }
        let Known {
            clients,
            subscriptions,
        } = &mut *known;
        let client = clients.entry(session.to_owned()).or_default();
        client.used = Some(Instant::now());
        f(client, subscriptions)
    }

    /// `session` was opened by a client that declared `capabilities`.
    pub(super) fn opened(&self, session: &str, capabilities: Value) {
        let capabilities = ClientCapabilities::new(kept(capabilities));
        self.with(session, |client, _| client.capabilities = capabilities);
    }

    /// `session` ended.
    pub(super) fn ended(&self, session: &str) {
        lock(&self.known).forget(session);
    }

    /// What a call of `session` needs to know of its client, in one look: the log level it
    /// set (none: it hears no log messages), and what it declared it can be asked, when it
    /// can be asked anything.
    pub(super) fn for_call(&self, session: &str) -> (Option<LogLevel>, Option<ClientCapabilities>) {
        let known = lock(&self.known);
        let Some(client) = known.clients.get(session) else {
            return (None, None);
        };
        let askable = client.capabilities.can_be_asked();
        (client.level, askable.then(|| client.capabilities.clone()))
    }

    /// What `session`'s client declared it can be asked.
    #[cfg(test)]
    fn capabilities(&self, session: &str) -> ClientCapabilities {
        self.for_call(session).1.unwrap_or_default()
    }

    /// The log level `session`'s client set.
    #[cfg(test)]
    fn level(&self, session: &str) -> Option<LogLevel> {
        self.for_call(session).0
    }

    /// `session`'s client hears log messages at `level` and above.
    pub(super) fn set_level(&self, session: &str, level: LogLevel) {
        self.with(session, |client, _| client.level = Some(level));
    }

    /// `session` subscribes to `uri`; `false` when it (or every session together) holds as
    /// many as it may.
    pub(super) fn subscribe(&self, session: &str, uri: &str) -> bool {
        self.with(session, |client, all| {
            if client.subscriptions.contains(uri) {
                return true;
            }
            if client.subscriptions.len() >= MAX_SUBSCRIPTIONS || *all >= MAX_ALL_SUBSCRIPTIONS {
                return false;
            }
            client.subscriptions.insert(uri.to_owned());
            *all += 1;
            true
        })
    }

    /// `session` no longer subscribes to `uri`; whether any session still does.
    pub(super) fn unsubscribe(&self, session: &str, uri: &str) -> bool {
        let mut known = lock(&self.known);
        if let Some(client) = known.clients.get_mut(session)
            && client.subscriptions.remove(uri)
        {
            known.subscriptions -= 1;
        }
        known
            .clients
            .values()
            .any(|c| c.subscriptions.contains(uri))
    }

    /// Whether `session` subscribed to `uri`.
    pub(super) fn subscribed(&self, session: &str, uri: &str) -> bool {
        lock(&self.known)
            .clients
            .get(session)
            .is_some_and(|c| c.subscriptions.contains(uri))
    }

    /// A new request id for `session`'s client, and where its answer will arrive.
    pub(super) fn expect(&self, session: &str) -> (String, Waiting<'_>) {
        let id = format!("airlock-{}", self.next.fetch_add(1, Ordering::Relaxed));
        let (sender, answer) = oneshot::channel();
        let key = (session.to_owned(), id.clone());
        lock(&self.waiting).insert(key.clone(), sender);
        (
            id,
            Waiting {
                clients: self,
                key,
                answer,
            },
        )
    }

    /// `session`'s client answered the request `id` with `message`; `false` when no
    /// request of that session waits under that id.
    pub(super) fn answered(&self, session: &str, id: &Value, message: Value) -> bool {
        let Some(id) = id.as_str() else {
            return false;
        };
        let waiting = lock(&self.waiting).remove(&(session.to_owned(), id.to_owned()));
        waiting.is_some_and(|sender| sender.send(message).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_answer_reaches_only_the_request_of_its_session() {
        let clients = Clients::default();
        let (id, mut waiting) = clients.expect("a");
        assert!(!clients.answered("b", &json!(id), json!({"result": {}})));
        assert!(waiting.answer.try_recv().is_err());
        assert!(clients.answered("a", &json!(id), json!({"result": {"ok": true}})));
        assert_eq!(waiting.answer.try_recv().unwrap()["result"]["ok"], true);
        // Answered once.
        assert!(!clients.answered("a", &json!(id), json!({"result": {}})));
        let (id, waiting) = clients.expect("a");
        drop(waiting);
        assert!(!clients.answered("a", &json!(id), json!({"result": {}})));
    }

    #[test]
    fn a_client_declares_only_what_the_door_uses_and_never_much() {
        let clients = Clients::default();
        let huge = "x".repeat(10_000);
        clients.opened(
            "a",
            json!({"elicitation": {"form": {}, "url": {}}, "sampling": {"pad": huge},
                   "experimental": {"pad": huge}, "roots": true}),
        );
        assert_eq!(
            clients.capabilities("a").0,
            json!({"elicitation": {"form": {}, "url": {}}, "sampling": {}})
        );
    }

    #[test]
    fn what_is_remembered_is_bounded() {
        let clients = Clients::default();
        for n in 0..MAX_SUBSCRIPTIONS + 3 {
            let kept = clients.subscribe("a", &format!("test://{n}"));
            assert_eq!(kept, n < MAX_SUBSCRIPTIONS, "{n}");
        }
        assert!(clients.subscribe("a", "test://0"), "held already");
        assert!(clients.subscribe("b", "test://0"));
        assert!(clients.unsubscribe("a", "test://0"), "b still holds it");
        assert!(!clients.unsubscribe("b", "test://0"));
        for n in 0..MAX_CLIENTS + 10 {
            clients.set_level(&format!("s{n}"), LogLevel::Info);
        }
        assert_eq!(lock(&clients.known).clients.len(), MAX_CLIENTS);
        // The subscriptions of the sessions forgotten are forgotten with them.
        assert_eq!(lock(&clients.known).subscriptions, 0);
        assert_eq!(
            clients.level(&format!("s{}", MAX_CLIENTS + 9)),
            Some(LogLevel::Info)
        );
    }
}
