//! Multi-round trip (MCP 2026-07-28, SEP-2322): a tool that needs the client's input
//! before it can answer says so with [`InputRequired`] (its output), and gets the
//! client's answers on the next call as [`InputResponses`] (in the call's extensions),
//! beside the [`ClientCapabilities`] the client declared.
//!
//! ```
//! use agent_airlock::service::{ClientCapabilities, InputRequired, InputResponses};
//! use agent_airlock::{ToolCall, ToolResponse};
//! use serde_json::json;
//!
//! fn greet(call: &ToolCall) -> ToolResponse {
//!     let name = call
//!         .extensions
//!         .get::<InputResponses>()
//!         .and_then(|inputs| inputs.accepted("user_name"))
//!         .and_then(|content| content.get("name")?.as_str().map(str::to_owned));
//!     match name {
//!         Some(name) => ToolResponse::text(format!("Hello, {name}!")),
//!         None => ToolResponse::input_required(InputRequired::new().request(
//!             "user_name",
//!             "elicitation/create",
//!             json!({"message": "What is your name?",
//!                    "requestedSchema": {"type": "object",
//!                        "properties": {"name": {"type": "string"}}, "required": ["name"]}}),
//!         )),
//!     }
//! }
//!
//! let first = greet(&ToolCall::new("greet", json!({})));
//! assert!(first.input_requests().is_some());
//! let mut again = ToolCall::new("greet", json!({}));
//! again.extensions.insert(InputResponses::new(
//!     [("user_name".to_owned(), json!({"action": "accept", "content": {"name": "Ada"}}))]
//!         .into_iter()
//!         .collect(),
//! ));
//! assert_eq!(greet(&again).output.to_text(), "Hello, Ada!");
//! assert!(ClientCapabilities::new(json!({"elicitation": {}})).supports("elicitation/create"));
//! assert_eq!(ClientCapabilities::request_for("roots"), Some("roots/list"));
//!
//! // What a relayed server answered: a round, or not.
//! let round = json!({"resultType": "input_required",
//!     "inputRequests": {"k": {"method": "roots/list", "params": {}}}});
//! assert_eq!(InputRequired::from_result(&round).unwrap().unwrap().methods(), ["roots/list"]);
//! assert!(InputRequired::from_result(&json!({"content": []})).is_none());
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What a tool (or a relayed request) needs from the client before it can answer: MCP's
/// `InputRequiredResult`. The client fulfils each request (asks its user, samples its
/// model, lists its roots) and calls again with the answers under the same keys.
///
/// At the HTTP door the `state` is sealed before the client sees it: authenticated, bound
/// to the caller, the method, the tool and its arguments, and expiring; a state that comes
/// back altered, late or on another request is refused before the stack sees the call.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InputRequired {
    /// The requests, by a key the tool picks: each `{"method": …, "params": {…}}`, with
    /// `method` one of `elicitation/create`, `sampling/createMessage`, `roots/list`.
    #[serde(rename = "inputRequests", default)]
    pub requests: Map<String, Value>,
    /// What the tool wants back on the next round (its progress so far).
    #[serde(
        rename = "requestState",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub state: Option<String>,
}

impl InputRequired {
    /// No requests yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a request under `key`.
    #[must_use]
    pub fn request(mut self, key: impl Into<String>, method: &str, params: Value) -> Self {
        self.requests.insert(
            key.into(),
            serde_json::json!({"method": method, "params": params}),
        );
        self
    }

    /// Sets the state the tool gets back on the next round.
    #[must_use]
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }

    /// The `InputRequiredResult` in a result a server answered (`resultType:
    /// "input_required"`), as a relay sees it: `None` for any other result, an error when
    /// it is malformed.
    pub fn from_result(result: &Value) -> Option<Result<Self, serde_json::Error>> {
        if result.get("resultType").and_then(Value::as_str) != Some("input_required") {
            return None;
        }
        Some(Self::deserialize(result))
    }

    /// Each request as its key, method and params, when a client that declared
    /// `capabilities` can be asked every one (a kind MCP defines, a capability it
    /// declared): checked before any is asked. `Err` says, for the client, why not.
    #[cfg(any(feature = "axum", feature = "rmcp"))]
    pub(crate) fn to_ask(
        &self,
        capabilities: &ClientCapabilities,
    ) -> Result<Vec<(&str, &str, Value)>, String> {
        self.requests
            .iter()
            .map(|(key, request)| {
                let method = request
                    .get("method")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let Some(capability) = ClientCapabilities::needed_for(method) else {
                    return Err("the tool asked for input of a kind MCP does not define".into());
                };
                if !capabilities.supports(method) {
                    return Err(format!(
                        "the tool needs the client's {capability}, which this client did not \
                         declare"
                    ));
                }
                let params = request
                    .get("params")
                    .cloned()
                    .unwrap_or_else(|| Value::Object(Map::new()));
                Ok((key.as_str(), method, params))
            })
            .collect()
    }

    /// The methods the requests use, each once, in key order.
    pub fn methods(&self) -> Vec<&str> {
        let mut methods: Vec<&str> = self
            .requests
            .values()
            .filter_map(|r| r.get("method").and_then(Value::as_str))
            .collect();
        methods.sort_unstable();
        methods.dedup();
        methods
    }
}

/// In [`ToolCall::extensions`](super::ToolCall::extensions): the client's answers to the
/// requests of the previous round, as the door received them.
///
/// Answers are the client's input, untrusted like the arguments: a tool reads the fields
/// it asked for and checks them. When the client sent the sealed state back, only the keys
/// the previous round asked for are kept and `state` is what the tool returned then.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct InputResponses {
    /// The answers, by the keys of the requests.
    pub responses: Map<String, Value>,
    /// The tool's state from the previous round, verified unaltered; `None` when the
    /// client sent none back.
    pub state: Option<String>,
}

impl InputResponses {
    /// Answers without a state.
    pub fn new(responses: Map<String, Value>) -> Self {
        Self {
            responses,
            state: None,
        }
    }

    /// With the tool's state of the previous round.
    #[must_use]
    pub fn with_state(mut self, state: Option<String>) -> Self {
        self.state = state;
        self
    }

    /// The answer under `key`, if any.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.responses.get(key)
    }

    /// The `content` of an elicitation the user accepted (`{"action": "accept", "content":
    /// {…}}`); `None` when the answer is missing, declined, cancelled or malformed.
    pub fn accepted(&self, key: &str) -> Option<&Map<String, Value>> {
        let answer = self.responses.get(key)?;
        if answer.get("action").and_then(Value::as_str) != Some("accept") {
            return None;
        }
        answer.get("content")?.as_object()
    }
}

/// The requests a server may make of a client, and the capability each needs.
const KINDS: [(&str, &str); 3] = [
    ("elicitation/create", "elicitation"),
    ("sampling/createMessage", "sampling"),
    ("roots/list", "roots"),
];

/// In [`ToolCall::extensions`](super::ToolCall::extensions): the capabilities the client
/// declared for this request (revision 2026-07-28 sends them in every request's `_meta`).
/// A tool asks only for input the client can give.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClientCapabilities(pub Value);

impl ClientCapabilities {
    /// From the `clientCapabilities` object.
    pub fn new(capabilities: Value) -> Self {
        Self(capabilities)
    }

    /// The capability a server-to-client request needs: `elicitation` for
    /// `elicitation/create`, `sampling` for `sampling/createMessage`, `roots` for
    /// `roots/list`.
    pub fn needed_for(method: &str) -> Option<&'static str> {
        KINDS.iter().find(|(m, _)| *m == method).map(|(_, c)| *c)
    }

    /// The server-to-client request a capability answers (the reverse of
    /// [`needed_for`](Self::needed_for)).
    pub fn request_for(capability: &str) -> Option<&'static str> {
        KINDS
            .iter()
            .find(|(_, c)| *c == capability)
            .map(|(m, _)| *m)
    }

    /// Whether the client can answer a request of `method`.
    pub fn supports(&self, method: &str) -> bool {
        Self::needed_for(method)
            .is_some_and(|capability| self.0.get(capability).is_some_and(Value::is_object))
    }

    /// Whether the client can answer any request a server may make of it.
    ///
    /// ```
    /// use agent_airlock::service::ClientCapabilities;
    ///
    /// assert!(ClientCapabilities::new(serde_json::json!({"roots": {}})).can_be_asked());
    /// assert!(!ClientCapabilities::new(serde_json::json!({"experimental": {}})).can_be_asked());
    /// ```
    pub fn can_be_asked(&self) -> bool {
        KINDS.iter().any(|(method, _)| self.supports(method))
    }
}

#[cfg(all(test, any(feature = "axum", feature = "rmcp")))]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nothing_is_asked_unless_every_request_can_be() {
        let input = InputRequired::new()
            .request("name", "elicitation/create", json!({"message": "Name?"}))
            .request("model", "sampling/createMessage", json!({"maxTokens": 5}));
        let both = ClientCapabilities::new(json!({"elicitation": {}, "sampling": {}}));
        let asked = input.to_ask(&both).unwrap();
        assert_eq!(asked.len(), 2);
        let model = asked.iter().find(|(key, _, _)| *key == "model").unwrap();
        assert_eq!(model.1, "sampling/createMessage");
        assert_eq!(model.2["maxTokens"], 5);
        // One the client did not declare: none is asked, the refusal names it.
        let one = ClientCapabilities::new(json!({"elicitation": {}}));
        let why = input.to_ask(&one).unwrap_err();
        assert!(why.contains("sampling"), "{why}");
        // A kind MCP does not define.
        let odd = InputRequired::new().request("x", "tools/call", json!({}));
        assert!(odd.to_ask(&both).unwrap_err().contains("does not define"));
    }
}
