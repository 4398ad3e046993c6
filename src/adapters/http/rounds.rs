//! The multi-round trip of revision 2026-07-28 at the HTTP door: a tool (or a relayed
//! server) that needs the client's input answers `InputRequiredResult`; the client calls
//! again with `inputResponses` and the `requestState` it was given.
//!
//! The door seals every state it hands out ([`StateSeal`](crate::mcp::StateSeal): bound to
//! the caller, the method, the name and the arguments, expiring) and opens it before the
//! stack sees the retry, so a tool never reads a state a client wrote. It asks only for
//! input the client declared it can give (`-32021` otherwise), and only of the three kinds
//! the revision defines.

use serde_json::{Map, Value};

use super::adapter::HttpAdapter;
use super::session::Requester;
use crate::mcp::{Binding, RpcError};
use crate::service::{ClientCapabilities, InputRequired, InputResponses, LogLevel};

/// `_meta` key of the capabilities the client declares for this request.
pub(super) const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key of the least severe log level the client hears for this request (none:
/// no log messages).
const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";

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
    pub(super) log_level: Option<LogLevel>,
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
    /// Takes `inputResponses` and `requestState` out of `params` and checks them
    /// ([`StateSeal::answers`](crate::mcp::StateSeal)): the state must open for this very
    /// request and caller.
    pub(super) fn take(
        adapter: &HttpAdapter,
        method: &str,
        params: &mut Map<String, Value>,
        requester: &Requester,
    ) -> Result<Self, RpcError> {
        let meta = params.get("_meta");
        let capabilities = meta
            .and_then(|m| m.get(META_CAPABILITIES))
            .cloned()
            .map(ClientCapabilities::new)
            .unwrap_or_default();
        let log_level = match meta.and_then(|m| m.get(META_LOG_LEVEL)) {
            None | Some(Value::Null) => None,
            Some(level) => Some(level.as_str().and_then(LogLevel::parse).ok_or_else(|| {
                RpcError::invalid_params(
                    "the log level must be one of debug, info, notice, warning, error, \
                     critical, alert, emergency",
                )
            })?),
        };
        let responses = params.remove("inputResponses");
        let state = params.remove("requestState");
        let name = named(method, params).unwrap_or_default();
        let arguments = params.get("arguments").unwrap_or(&Value::Null);
        let owner = requester.owner(adapter.core.policy());
        let binding = Binding::of(method, name, arguments, owner);
        let inputs = adapter.seal.answers(&binding, responses, state)?;
        Ok(Self {
            binding,
            inputs,
            capabilities,
            log_level,
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

    /// The `InputRequiredResult` asking for `input`, its state sealed to this request.
    pub(super) fn ask(
        &self,
        adapter: &HttpAdapter,
        input: &InputRequired,
    ) -> Result<Value, RpcError> {
        adapter.seal.ask(&self.binding, &self.capabilities, input)
    }

    /// A call held for approval (`approval_pending`) as a URL-mode elicitation of the
    /// approvers' page, when the policy names one and the client declared URL mode. The
    /// client's answer approves nothing: the retry goes through only once a person among
    /// the approvers approved this exact call.
    pub(super) fn approval(
        &self,
        adapter: &HttpAdapter,
        response: &crate::service::ToolResponse,
    ) -> Option<InputRequired> {
        let id = response.rejection.as_ref()?.approval()?;
        let url = adapter.core.policy()?.approvals_url()?;
        self.capabilities
            .0
            .get("elicitation")?
            .get("url")?
            .as_object()?;
        Some(InputRequired::new().request(
            "approval",
            "elicitation/create",
            serde_json::json!({
                "mode": "url",
                "url": format!("{url}#{id}"),
                "elicitationId": id,
                "message": format!(
                    "This call waits for a person's approval (request {id}). An approver \
                     decides on this page; answer once they have, and the call is made again."
                ),
            }),
        ))
    }

    /// Whether a relayed result is an `InputRequiredResult`, and what it asks for.
    pub(super) fn relayed_input(result: &Value) -> Option<Result<InputRequired, RpcError>> {
        Some(
            InputRequired::from_result(result)?
                .map_err(|_| RpcError::internal("the server's InputRequiredResult is malformed")),
        )
    }
}
