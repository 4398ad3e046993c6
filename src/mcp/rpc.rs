//! [`RpcError`]: every JSON-RPC error a door answers with, each owning its code.

use std::borrow::Cow;

use serde_json::{Value, json};

/// A JSON-RPC 2.0 error. The code follows from the variant (JSON-RPC's reserved codes), so
/// no door writes a number by hand; messages built here never echo the caller's input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RpcError {
    /// `-32700`: the body is not JSON.
    #[error("parse error: {0}")]
    Parse(Cow<'static, str>),
    /// `-32600`: not a valid request (a missing field, a bad session, a refused header).
    #[error("{0}")]
    InvalidRequest(Cow<'static, str>),
    /// `-32601`: a method this server does not offer. The method is not named: it is the
    /// caller's text, built into a message no sanitizer sees.
    #[error("method not found: this server offers initialize, ping, tools/list and tools/call")]
    MethodNotFound,
    /// `-32602`: the params are not what the method takes.
    #[error("{0}")]
    InvalidParams(Cow<'static, str>),
    /// `-32603`: the server could not answer (a store down, a stack that failed).
    #[error("{0}")]
    Internal(Cow<'static, str>),
    /// `-32020` (revision 2026-07-28): an `MCP-Protocol-Version`, `Mcp-Method` or `Mcp-Name`
    /// header that is missing or does not match the body, which is what is decided on.
    #[error("{0}")]
    HeaderMismatch(Cow<'static, str>),
    /// `-32022`: a protocol revision this server does not speak; the error's data names
    /// the one asked for and those it speaks.
    #[error("unsupported protocol version: this server speaks {}", super::ALL_VERSIONS.join(", "))]
    UnsupportedVersion {
        /// The revision the request named (at most 64 characters of it).
        requested: String,
    },
    /// `-32021` (revision 2026-07-28): answering needs input the client did not declare it
    /// can give (`sampling`, `elicitation`, `roots`); the error's data names them.
    #[error("this request needs client capabilities it did not declare: {}", .missing.join(", "))]
    MissingCapability {
        /// The capabilities needed and not declared.
        missing: Vec<&'static str>,
    },
    /// An error a relayed server answered with, passed on with its own code (its message
    /// already masked by whoever relayed it).
    #[error("{message}")]
    Relayed {
        /// The server's code.
        code: i64,
        /// The server's message.
        message: String,
        /// The server's `data`, when it gave one.
        data: Option<Value>,
    },
}

impl RpcError {
    /// The JSON-RPC error code.
    pub fn code(&self) -> i64 {
        match self {
            RpcError::Parse(_) => -32700,
            RpcError::InvalidRequest(_) => -32600,
            RpcError::MethodNotFound => -32601,
            RpcError::InvalidParams(_) => -32602,
            RpcError::Internal(_) => -32603,
            RpcError::HeaderMismatch(_) => -32020,
            RpcError::UnsupportedVersion { .. } => -32022,
            RpcError::MissingCapability { .. } => -32021,
            RpcError::Relayed { code, .. } => *code,
        }
    }

    /// `-32600` with `message`.
    pub fn invalid_request(message: impl Into<Cow<'static, str>>) -> Self {
        RpcError::InvalidRequest(message.into())
    }

    /// `-32602` with `message`.
    pub fn invalid_params(message: impl Into<Cow<'static, str>>) -> Self {
        RpcError::InvalidParams(message.into())
    }

    /// `-32603` with `message`.
    pub fn internal(message: impl Into<Cow<'static, str>>) -> Self {
        RpcError::Internal(message.into())
    }

    /// The whole JSON-RPC error response for the request `id` (`null` when unknown).
    pub fn to_response(&self, id: Value) -> Value {
        let mut error = json!({"code": self.code(), "message": self.to_string()});
        match self {
            RpcError::UnsupportedVersion { requested } => {
                error["data"] = json!({"requested": requested, "supported": super::ALL_VERSIONS});
            }
            RpcError::Relayed {
                data: Some(data), ..
            } => error["data"] = data.clone(),
            RpcError::MissingCapability { missing } => {
                let required: serde_json::Map<String, Value> = missing
                    .iter()
                    .map(|name| ((*name).to_owned(), json!({})))
                    .collect();
                error["data"] = json!({"requiredCapabilities": required});
            }
            _ => {}
        }
        json!({"jsonrpc": "2.0", "id": id, "error": error})
    }
}

impl From<super::RelayError> for RpcError {
    fn from(e: super::RelayError) -> Self {
        RpcError::Relayed {
            code: e.code,
            message: e.message,
            data: e.data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_carries_its_code_and_message() {
        let cases = [
            (RpcError::Parse("x".into()), -32700),
            (RpcError::invalid_request("missing Mcp-Session-Id"), -32600),
            (RpcError::MethodNotFound, -32601),
            (RpcError::invalid_params("params must be an object"), -32602),
            (RpcError::internal("internal error"), -32603),
            (
                RpcError::MissingCapability {
                    missing: vec!["sampling"],
                },
                -32021,
            ),
            (
                RpcError::Relayed {
                    code: -32002,
                    message: "gone".into(),
                    data: None,
                },
                -32002,
            ),
        ];
        for (error, code) in cases {
            let response = error.to_response(json!(7));
            assert_eq!(response["error"]["code"], code, "{error:?}");
            assert_eq!(response["id"], 7);
            assert_eq!(response["jsonrpc"], "2.0");
            assert_eq!(response["error"]["message"], error.to_string());
        }
    }
}
