//! The upstream's questions for a 2026-07-28 client over `--listen`: an elicitation,
//! sampling or roots request the upstream makes during a call becomes the
//! `InputRequiredResult` of that very call (the multi-round trip), and the client's answer
//! on its retry goes back to the upstream, which then finishes the call.
//!
//! One upstream connection serves every caller, so a question must be tied to the call
//! that caused it, or it goes nowhere:
//! - over Streamable HTTP, rmcp records the call on whose response stream the question
//!   came (`InboundStreamOrigin`): exactly that call;
//! - over stdio the protocol says nothing, so a question is tied to a call only while that
//!   call is the one request to the upstream in flight; otherwise it is refused.
//!
//! While the client is away, the upstream call waits, parked under a random id that only
//! the door's sealed `requestState` carries (bound to the caller, the tool and its
//! arguments): at most [`MAX_PARKED`] at once, each for at most the call timeout.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::future::BoxFuture;
use rmcp::model::{CallToolResult, RequestId};
use rmcp::service::InboundStreamOrigin;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::mcp::{ClientRequests, RelayError};

/// Most upstream calls parked waiting for their client at once.
pub(crate) const MAX_PARKED: usize = 256;

/// A question of the upstream's, and where its answer goes.
pub(crate) struct Question {
    pub(crate) method: String,
    pub(crate) params: Value,
    pub(crate) answer: oneshot::Sender<Result<Value, RelayError>>,
}

/// Where a call's questions go: the call's channel, and what its client declared it can
/// answer.
#[derive(Debug, Clone)]
pub(crate) struct Asker {
    questions: mpsc::Sender<Question>,
    capabilities: Value,
}

impl Asker {
    /// What the upstream may ask during this call, as `_meta` of the call: the client's
    /// declared capabilities among those the proxy relays (the upstream of 2026-07-28
    /// reads them per request).
    pub(crate) fn meta(&self, roots: bool) -> Option<rmcp::model::RequestMetaObject> {
        let relayed: serde_json::Map<String, Value> = ["sampling", "elicitation", "roots"]
            .into_iter()
            .filter(|name| roots || *name != "roots")
            .filter_map(|name| Some((name.to_owned(), self.capabilities.get(name)?.clone())))
            .collect();
        serde_json::from_value(
            serde_json::json!({"io.modelcontextprotocol/clientCapabilities": relayed}),
        )
        .ok()
    }
}

impl ClientRequests for Asker {
    fn capabilities(&self) -> Value {
        self.capabilities.clone()
    }

    fn request(
        &self,
        method: &str,
        params: Value,
    ) -> BoxFuture<'static, Result<Value, RelayError>> {
        let (answer, answered) = oneshot::channel();
        let question = Question {
            method: method.to_owned(),
            params,
            answer,
        };
        let questions = self.questions.clone();
        Box::pin(async move {
            let gone = || RelayError::new(-32603, "the client's call ended before it answered");
            questions.send(question).await.map_err(|_| gone())?;
            answered.await.map_err(|_| gone())?
        })
    }

    fn notify(&self, _method: &str, _params: Value) {}
}

/// What the upstream answered a call: its result, or (an upstream of 2026-07-28) an
/// `InputRequiredResult`, as JSON.
#[derive(Debug)]
pub(crate) enum Answer {
    /// The call's result.
    Complete(CallToolResult),
    /// The call's result, its content blocks checked and kept as JSON (the lean path).
    Content(crate::service::McpContent, bool),
    /// The upstream's own multi-round trip: what it asks, and its state.
    InputRequired(Value),
    /// The upstream refused: answering needs these capabilities of the client's, which
    /// the client did not declare (its `-32021`).
    Missing(Vec<String>),
}

impl Answer {
    /// The upstream's JSON-RPC error for a call: the capabilities a 2026-07-28 upstream needs
    /// of the client and did not get, said as such (so the proxy's door can say it too), or
    /// its refusal, its words cut short.
    pub(crate) fn refused(error: rmcp::ErrorData) -> Result<Answer, String> {
        if error.code == rmcp::model::ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY {
            let missing = error
                .data
                .as_ref()
                .and_then(|d| d.get("requiredCapabilities"))
                .and_then(serde_json::Value::as_object)
                .map(|c| c.keys().take(8).map(super::stdio::brief).collect())
                .unwrap_or_default();
            return Ok(Answer::Missing(missing));
        }
        Err(format!(
            "the upstream server refused the call: {}",
            super::stdio::brief(&error.message)
        ))
    }
}

/// An upstream call running in its own task.
pub(crate) type Call = tokio::task::JoinHandle<Result<Answer, String>>;

/// An upstream call waiting for its client's answer; stopped if dropped before it is
/// resumed (expired, refused, or the proxy shutting down).
pub(crate) struct Parked {
    call: Option<Call>,
    questions: Option<mpsc::Receiver<Question>>,
    asked: Option<Question>,
    /// The key the question was asked under.
    pub(crate) key: String,
    since: Instant,
}

impl Parked {
    /// The call, its further questions, and the question asked, under `key`.
    pub(crate) fn new(
        call: Call,
        questions: mpsc::Receiver<Question>,
        asked: Question,
        key: String,
    ) -> Self {
        Self {
            call: Some(call),
            questions: Some(questions),
            asked: Some(asked),
            key,
            since: Instant::now(),
        }
    }

    /// The question asked.
    pub(crate) fn asked(&self) -> Option<&Question> {
        self.asked.as_ref()
    }

    /// Takes the call out, to run on: its task, its questions, the question asked.
    pub(crate) fn resume(mut self) -> Option<(Call, mpsc::Receiver<Question>, Question)> {
        Some((
            self.call.take()?,
            self.questions.take()?,
            self.asked.take()?,
        ))
    }

    fn ended(&self) -> bool {
        self.call.as_ref().is_none_or(|c| c.is_finished())
    }
}

impl Drop for Parked {
    fn drop(&mut self) {
        if let Some(call) = self.call.take() {
            call.abort();
        }
    }
}

/// The calls whose questions go to a 2026-07-28 client, and those parked waiting for it.
#[derive(Default)]
pub(crate) struct Rounds {
    /// Calls to the upstream in flight, of every client.
    in_flight: AtomicUsize,
    /// By the outbound request id of the call (or, until it is sent, a number of ours).
    askers: Mutex<HashMap<Key, Asker>>,
    /// Where the log messages of a call go, keyed as `askers`.
    logs: Mutex<HashMap<Key, crate::service::Log>>,
    /// The next number of a call not sent yet.
    next: std::sync::atomic::AtomicU64,
    parked: Mutex<HashMap<String, Parked>>,
}

/// Counts a request to the upstream as in flight while it lives.
pub(crate) struct InFlight<'a>(&'a Rounds);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Which call something registered belongs to: registered before the call is sent (an
/// upstream may ask at once, before rmcp hands back the request's id), keyed by the id
/// once it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Unsent(u64),
    Sent(RequestId),
}

/// Keeps a call's asker and log registered while it lives.
pub(crate) struct Registered {
    rounds: Arc<Rounds>,
    key: Key,
}

impl Registered {
    /// The call was sent as `id`.
    pub(crate) fn sent(&mut self, id: RequestId) {
        let key = Key::Sent(id);
        for_both(&self.rounds, |askers, logs| {
            if let Some(asker) = askers.remove(&self.key) {
                askers.insert(key.clone(), asker);
            }
            if let Some(log) = logs.remove(&self.key) {
                logs.insert(key.clone(), log);
            }
        });
        self.key = key;
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        for_both(&self.rounds, |askers, logs| {
            askers.remove(&self.key);
            logs.remove(&self.key);
        });
    }
}

fn for_both(
    rounds: &Rounds,
    f: impl FnOnce(&mut HashMap<Key, Asker>, &mut HashMap<Key, crate::service::Log>),
) {
    f(&mut rounds.lock_askers(), &mut lock(&rounds.logs));
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Rounds {
    fn lock_askers(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Asker>> {
        self.askers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_parked(&self) -> std::sync::MutexGuard<'_, HashMap<String, Parked>> {
        self.parked.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A request to the upstream starts.
    pub(crate) fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self)
    }

    /// A new asker for a call of a client that declared `capabilities`, and where its
    /// questions arrive.
    pub(crate) fn asker(capabilities: Value) -> (Asker, mpsc::Receiver<Question>) {
        let (questions, arrived) = mpsc::channel(4);
        (
            Asker {
                questions,
                capabilities,
            },
            arrived,
        )
    }

    /// Registers what a call about to be sent hears: its `asker`, its `log`; say
    /// [`sent`](Registered::sent) once it is.
    pub(crate) fn register(
        self: &Arc<Self>,
        asker: Option<Asker>,
        log: Option<crate::service::Log>,
    ) -> Registered {
        let key = Key::Unsent(self.next.fetch_add(1, Ordering::Relaxed));
        for_both(self, |askers, logs| {
            if let Some(asker) = asker {
                askers.insert(key.clone(), asker);
            }
            if let Some(log) = log {
                logs.insert(key.clone(), log);
            }
        });
        Registered {
            rounds: self.clone(),
            key,
        }
    }

    /// The asker of the call a question of the upstream's belongs to, when it can be told.
    pub(crate) fn asker_for(&self, extensions: &rmcp::model::Extensions) -> Option<Asker> {
        self.of_call(&self.lock_askers(), extensions)
    }

    /// Where the log messages of the call a message belongs to go, when it can be told.
    pub(crate) fn log_for(
        &self,
        extensions: &rmcp::model::Extensions,
    ) -> Option<crate::service::Log> {
        self.of_call(&lock(&self.logs), extensions)
    }

    /// What `calls` holds for the call a message of the upstream's belongs to: the call on
    /// whose response stream it came, or, over a transport that cannot tell (stdio), the
    /// one call in flight.
    fn of_call<T: Clone>(
        &self,
        calls: &HashMap<Key, T>,
        extensions: &rmcp::model::Extensions,
    ) -> Option<T> {
        match extensions.get::<InboundStreamOrigin>() {
            Some(InboundStreamOrigin::OutboundRequest(id)) => {
                calls.get(&Key::Sent(id.clone())).cloned()
            }
            Some(InboundStreamOrigin::Unassociated) => None,
            None => {
                if self.in_flight.load(Ordering::SeqCst) == 1 && calls.len() == 1 {
                    calls.values().next().cloned()
                } else {
                    None
                }
            }
        }
    }

    /// Parks `parked` under a fresh id, dropping calls that ended or outlived `limit`;
    /// `None` (and `parked` dropped, its question refused) when too many wait already.
    pub(crate) fn park(&self, parked: Parked, limit: std::time::Duration) -> Option<String> {
        let mut all = self.lock_parked();
        all.retain(|_, p| !p.ended() && p.since.elapsed() <= limit);
        if all.len() >= MAX_PARKED {
            return None;
        }
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).ok()?;
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        all.insert(id.clone(), parked);
        Some(id)
    }

    /// Takes the call parked under `id`, once.
    pub(crate) fn take(&self, id: &str) -> Option<Parked> {
        self.lock_parked().remove(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(id: Option<InboundStreamOrigin>) -> rmcp::model::Extensions {
        let mut extensions = rmcp::model::Extensions::new();
        if let Some(id) = id {
            extensions.insert(id);
        }
        extensions
    }

    #[test]
    fn a_question_goes_to_its_own_call_or_nowhere() {
        let rounds = Arc::new(Rounds::default());
        let (asker, _questions) = Rounds::asker(serde_json::json!({"elicitation": {}}));
        let _flight = rounds.start();
        let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = heard.clone();
        let log = crate::service::Log::new(crate::service::LogLevel::Info, move |m| {
            sink.lock().unwrap().push(m)
        });
        let mut registered = rounds.register(Some(asker), Some(log));
        // Before rmcp hands back the id, a question over stdio already finds its call.
        assert!(rounds.asker_for(&origin(None)).is_some());
        registered.sent(RequestId::Number(7));
        rounds
            .log_for(&origin(None))
            .unwrap()
            .log(crate::service::LogLevel::Info, None, "x");
        assert_eq!(heard.lock().unwrap().len(), 1);
        let on = |id| {
            origin(Some(InboundStreamOrigin::OutboundRequest(
                RequestId::Number(id),
            )))
        };
        assert!(rounds.asker_for(&on(7)).is_some());
        assert!(rounds.asker_for(&on(8)).is_none(), "another call's stream");
        assert!(
            rounds
                .asker_for(&origin(Some(InboundStreamOrigin::Unassociated)))
                .is_none()
        );
        // Stdio: the one call in flight, and only while it is the one.
        assert!(rounds.asker_for(&origin(None)).is_some());
        let other = rounds.start();
        assert!(rounds.asker_for(&origin(None)).is_none(), "two in flight");
        drop(other);
        assert!(rounds.asker_for(&origin(None)).is_some());
        drop(registered);
        assert!(
            rounds.asker_for(&on(7)).is_none(),
            "forgotten with its call"
        );
        assert!(rounds.log_for(&origin(None)).is_none());
    }

    #[tokio::test]
    async fn parked_calls_are_taken_once_and_bounded() {
        let rounds = Rounds::default();
        let park = |rounds: &Rounds| {
            let (_asker, questions) = Rounds::asker(Value::Null);
            let call = tokio::spawn(std::future::pending());
            let (answer, _) = oneshot::channel();
            let asked = Question {
                method: "roots/list".into(),
                params: Value::Null,
                answer,
            };
            rounds.park(
                Parked::new(call, questions, asked, "k".into()),
                std::time::Duration::from_secs(60),
            )
        };
        let id = park(&rounds).unwrap();
        assert!(rounds.take(&id).is_some());
        assert!(rounds.take(&id).is_none(), "a replayed round");
        for _ in 1..MAX_PARKED {
            assert!(park(&rounds).is_some());
        }
        assert!(park(&rounds).is_some());
        assert!(park(&rounds).is_none(), "the bound");
    }
}
