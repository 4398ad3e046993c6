//! The multi-round trip of revision 2026-07-28 at the HTTP door: a tool (or a relayed
//! server) that needs the client's input answers `InputRequiredResult`; the client calls
//! again with `inputResponses` and the `requestState` it was given.
//!
//! The door seals every state it hands out ([`StateSeal`](crate::mcp::StateSeal): bound to
//! the caller, the method, the name and the arguments, expiring) and opens it before the
//! stack sees the retry, so a tool never reads a state a client wrote. It asks only for
//! input the client declared it can give (`-32021` otherwise), and only of the three kinds
//! the revision defines.

use serde_json::{Map, Value, json};

use super::adapter::HttpAdapter;
use super::session::Requester;
use crate::mcp::{Binding, RpcError};
use crate::service::{ClientCapabilities, InputRequired, InputResponses};

/// `_meta` key of the capabilities the client declares for this request.
pub(super) const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";

/// The HTTP status of an error answered after the request was read: 400 for the client's
/// missing capability (the revision says so), 200 otherwise.
pub(super) fn status_of(error: &RpcError) -> axum::http::StatusCode {
    match error {
        RpcError::MissingCapability { .. } => axum::http::StatusCode::BAD_REQUEST,
        _ => axum::http::StatusCode::OK,
    }
}

/// The round a request is part of: what it is bound to, the client's answers to the
/// previous round (verified), and what the client can answer.
#[derive(Debug, Clone)]
pub(super) struct Round {
    binding: Binding,
    pub(super) inputs: Option<InputResponses>,
    pub(super) capabilities: ClientCapabilities,
}

/// The name a request of `method` is about: the tool's or prompt's name, the resource's URI.
pub(super) fn named<'a>(method: &str, params: &'a Map<String, Value>) -> Option<&'a str> {
    let field = match method {
        "tools/call" | "prompts/get" => "name",
        "resources/read" => "uri",
        _ => return None,
    };
    params.get(field).and_then(Value::as_str)
}

impl Round {
    /// Takes `inputResponses` and `requestState` out of `params` and checks them: the state
    /// must open for this very request and caller, the answers must be objects (a client's
    /// results). Answers to keys the state's round did not ask for are dropped.
    pub(super) fn take(
        adapter: &HttpAdapter,
        method: &str,
        params: &mut Map<String, Value>,
        requester: &Requester,
    ) -> Result<Self, RpcError> {
        let capabilities = params
            .get("_meta")
            .and_then(|m| m.get(META_CAPABILITIES))
            .cloned()
            .map(ClientCapabilities::new)
            .unwrap_or_default();
        let responses = match params.remove("inputResponses") {
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
        let state = match params.remove("requestState") {
            None => None,
            Some(Value::String(state)) => Some(state),
            Some(_) => {
                return Err(RpcError::invalid_params(
                    "requestState must be the string this server gave",
                ));
            }
        };
        let name = named(method, params).unwrap_or_default();
        let arguments = params.get("arguments").unwrap_or(&Value::Null);
        let owner = requester.owner(adapter.core.policy());
        let binding = Binding::of(method, name, arguments, owner);
        let inputs = match state {
            Some(state) => {
                let opened = adapter
                    .seal
                    .open(&binding, &state)
                    .map_err(|refused| RpcError::invalid_params(refused.to_string()))?;
                let mut responses = responses.unwrap_or_default();
                responses.retain(|key, _| opened.keys.contains(key));
                Some(InputResponses::new(responses).with_state(opened.inner))
            }
            None => responses.map(InputResponses::new),
        };
        Ok(Self {
            binding,
            inputs,
            capabilities,
        })
    }

    /// Puts the verified answers and the inner state back into `params`, for a relayed
    /// server that reads them there.
    pub(super) fn restore(&self, params: &mut Map<String, Value>) {
        if let Some(inputs) = &self.inputs {
            params.insert(
                "inputResponses".into(),
                Value::Object(inputs.responses.clone()),
            );
            if let Some(state) = &inputs.state {
                params.insert("requestState".into(), Value::String(state.clone()));
            }
        }
    }

    /// The `InputRequiredResult` asking for `input`, its state sealed to this request; a
    /// request for input the client did not declare is `-32021`, one of a kind the
    /// revision does not define is refused.
    pub(super) fn ask(
        &self,
        adapter: &HttpAdapter,
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
            if !self.capabilities.supports(method) && !missing.contains(&capability) {
                missing.push(capability);
            }
        }
        if !missing.is_empty() {
            return Err(RpcError::MissingCapability { missing });
        }
        let state = adapter.seal.seal(
            &self.binding,
            input.requests.keys().map(String::as_str),
            input.state.as_deref(),
        );
        Ok(json!({
            "resultType": "input_required",
            "inputRequests": input.requests,
            "requestState": state,
        }))
    }

    /// Whether a relayed result is an `InputRequiredResult`, and what it asks for.
    pub(super) fn relayed_input(result: &Value) -> Option<Result<InputRequired, RpcError>> {
        if result.get("resultType").and_then(Value::as_str) != Some("input_required") {
            return None;
        }
        Some(
            serde_json::from_value(result.clone())
                .map_err(|_| RpcError::internal("the server's InputRequiredResult is malformed")),
        )
    }
}
