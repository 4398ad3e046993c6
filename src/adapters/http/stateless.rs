//! MCP revision 2026-07-28 at the HTTP door: no `initialize`, no session. Each request
//! names the revision and the client's capabilities in its `_meta`, and its method (and
//! the tool, prompt or resource it is about) in the `Mcp-Method` and `Mcp-Name` headers,
//! which must agree with the body; what is decided on is the body.
//!
//! Served: `server/discover`, `tools/list` and `tools/call` through the stack as under the
//! earlier revisions, `subscriptions/listen` when the adapter has notifications to stream
//! (`listen.rs`), and what a relay offers (resources, prompts, completion). Results
//! say `resultType: "complete"`; lists and reads carry caching hints (`ttlMs`,
//! `cacheScope`: `private` when the answer may depend on who asks, as a list the policy
//! filters does). The methods this revision removed (`initialize`, `ping`,
//! `logging/setLevel`, `resources/subscribe` and `unsubscribe`) and unknown ones are 404
//! with `-32601`.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::adapter::HttpAdapter;
use super::methods::{call_tool, tools_page};
use super::reply::{json_response, rpc_result};
use super::rounds::{META_CAPABILITIES, Round, named, status_of};
use super::session::Requester;
use crate::mcp::{ALL_VERSIONS, RpcError, STATELESS_VERSION, SUPPORTED_VERSIONS};

/// `_meta` key of the revision a request is written in.
const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key under which a result identifies the server.
const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
/// Methods of the earlier revisions that 2026-07-28 removed.
const REMOVED: [&str; 5] = [
    "initialize",
    "ping",
    "logging/setLevel",
    "resources/subscribe",
    "resources/unsubscribe",
];
/// Results that carry caching hints.
const CACHEABLE: [&str; 5] = [
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
];

/// How a request is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Revision {
    /// 2025-11-25 and earlier: the handshake and sessions.
    Handshake,
    /// 2026-07-28.
    Stateless,
}

/// The revision of a request, from its `MCP-Protocol-Version` header and its `_meta`:
/// the two must agree (`-32020`), and name a revision this door speaks (`-32022`). A
/// request naming neither is served as the earlier revisions were (their first
/// `initialize` carries no header).
pub(super) fn revision(headers: &HeaderMap, message: &Value) -> Result<Revision, RpcError> {
    let header = headers
        .get("mcp-protocol-version")
        .map(|v| v.to_str().unwrap_or("\u{0}").trim());
    let meta = message
        .get("params")
        .and_then(|p| p.get("_meta"))
        .and_then(|m| m.get(META_VERSION));
    let meta = match meta {
        None => None,
        Some(Value::String(version)) => Some(version.as_str()),
        Some(_) => {
            return Err(RpcError::invalid_params(
                "_meta's protocol version must be a string",
            ));
        }
    };
    match (header, meta) {
        (Some(header), Some(meta)) if header != meta => Err(RpcError::HeaderMismatch(
            "the MCP-Protocol-Version header and the request's _meta name different revisions"
                .into(),
        )),
        (Some(STATELESS_VERSION), _) => Ok(Revision::Stateless),
        (Some(header), _) if SUPPORTED_VERSIONS.contains(&header) => Ok(Revision::Handshake),
        (Some(header), _) => Err(RpcError::UnsupportedVersion {
            requested: header.chars().take(64).collect(),
        }),
        (None, Some(_)) => Err(RpcError::HeaderMismatch(
            "a request naming its revision in _meta names it in the MCP-Protocol-Version \
             header too"
                .into(),
        )),
        (None, None) => Ok(Revision::Handshake),
    }
}

fn refuse(status: StatusCode, error: RpcError, id: Value) -> Response {
    json_response(status, error.to_response(id))
}

/// A header's value with the whitespace around it dropped (RFC 9110 section 5.5);
/// `Err` when it is not text.
fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ()> {
    match headers.get(name) {
        None => Ok(None),
        Some(value) => value.to_str().map(|v| Some(v.trim())).map_err(|_| ()),
    }
}

/// One JSON-RPC message of revision 2026-07-28.
pub(super) async fn one(
    adapter: &std::sync::Arc<HttpAdapter>,
    headers: &HeaderMap,
    requester: &Requester,
    message: Value,
) -> Response {
    let Value::Object(mut message) = message else {
        return refuse(
            StatusCode::BAD_REQUEST,
            RpcError::invalid_request("the body must be a JSON-RPC 2.0 object"),
            Value::Null,
        );
    };
    let id = message.remove("id");
    if message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return refuse(
            StatusCode::BAD_REQUEST,
            RpcError::invalid_request("jsonrpc must be \"2.0\""),
            id.unwrap_or(Value::Null),
        );
    }
    let Some(method) = message
        .get("method")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return refuse(
            StatusCode::BAD_REQUEST,
            RpcError::invalid_request("the request has no method"),
            id.unwrap_or(Value::Null),
        );
    };
    let Some(id) = id else {
        // A notification (a cancellation): nothing to answer.
        return StatusCode::ACCEPTED.into_response();
    };
    if !(id.is_string() || id.is_i64() || id.is_u64()) {
        return refuse(
            StatusCode::BAD_REQUEST,
            RpcError::invalid_request("the id must be a string or an integer"),
            Value::Null,
        );
    }
    let mut params = match message.remove("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(params)) => params,
        Some(_) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                RpcError::invalid_params("params must be an object"),
                id,
            );
        }
    };
    let meta = params.get("_meta").and_then(Value::as_object);
    let declared = meta.is_some_and(|m| {
        m.get(META_VERSION).is_some_and(Value::is_string)
            && m.get(META_CAPABILITIES).is_some_and(Value::is_object)
    });
    if !declared {
        return refuse(
            StatusCode::BAD_REQUEST,
            RpcError::invalid_params(
                "a 2026-07-28 request carries _meta with io.modelcontextprotocol/protocolVersion \
                 and io.modelcontextprotocol/clientCapabilities",
            ),
            id,
        );
    }
    // The headers mirror the body; the body is what is decided on.
    match header(headers, "mcp-method") {
        Ok(Some(header)) if header == method => {}
        _ => {
            return refuse(
                StatusCode::BAD_REQUEST,
                RpcError::HeaderMismatch(
                    "the Mcp-Method header must name the body's method".into(),
                ),
                id,
            );
        }
    }
    let name_header = header(headers, "mcp-name");
    let agrees = match (named(&method, &params), name_header) {
        (Some(body), Ok(Some(header))) => body == header,
        (Some(_), _) => false,
        (None, Ok(_)) => true,
        (None, Err(())) => false,
    };
    if !agrees {
        return refuse(
            StatusCode::BAD_REQUEST,
            RpcError::HeaderMismatch(
                "the Mcp-Name header must name the body's tool, prompt or resource".into(),
            ),
            id,
        );
    }
    // SEP-2243: parameters a tool marks `x-mcp-header` are mirrored in `Mcp-Param-*`.
    if method == "tools/call"
        && let Some(tool) = params.get("name").and_then(Value::as_str)
        && let Some(Err(error)) = adapter.core.with_input_schema(tool, |schema| {
            super::param_headers::check(
                schema,
                headers,
                params.get("arguments").and_then(Value::as_object),
            )
        })
    {
        return refuse(StatusCode::BAD_REQUEST, error, id);
    }
    if REMOVED.contains(&method.as_str()) {
        return refuse(StatusCode::NOT_FOUND, RpcError::MethodNotFound, id);
    }
    // An answer that depends on who asks is private to the asker's authorization.
    let scope = if adapter.core.policy().is_some() {
        "private"
    } else {
        "public"
    };
    let round = match method.as_str() {
        "server/discover" | "tools/list" | "subscriptions/listen" => None,
        _ => match Round::take(adapter, &method, &mut params, requester) {
            Ok(round) => Some(round),
            Err(error) => return refuse(StatusCode::OK, error, id),
        },
    };
    match method.as_str() {
        "server/discover" => json_response(StatusCode::OK, rpc_result(id, discover(adapter))),
        "tools/list" => match tools_page(adapter, &requester.caller, &params) {
            Ok(result) => json_response(
                StatusCode::OK,
                rpc_result(id, complete(result, Some(scope))),
            ),
            Err(error) => refuse(StatusCode::OK, error, id),
        },
        "tools/call" => {
            // No session at this revision: budgets count against the verified caller.
            let budget =
                crate::state::session::principal_budget(requester.owner(adapter.core.policy()));
            call_tool(
                adapter,
                headers,
                requester,
                id,
                params,
                budget,
                round.as_ref(),
            )
            .await
        }
        "subscriptions/listen" => super::listen::listen(adapter, headers, requester, id, &params),
        other => {
            if let Some(round) = &round {
                round.restore(&mut params);
            }
            let relayed = adapter.relay.as_ref().and_then(|relay| {
                relay.request(other, Value::Object(params), requester.caller.clone())
            });
            match relayed {
                Some(answer) => match answer.await {
                    Ok(result) => match (Round::relayed_input(&result), &round) {
                        (Some(input), Some(round)) => {
                            match input.and_then(|input| round.ask(adapter, &input)) {
                                Ok(result) => json_response(StatusCode::OK, rpc_result(id, result)),
                                Err(error) => refuse(status_of(&error), error, id),
                            }
                        }
                        _ => {
                            let hints = CACHEABLE.contains(&other).then_some(scope);
                            json_response(StatusCode::OK, rpc_result(id, complete(result, hints)))
                        }
                    },
                    Err(e) => refuse(StatusCode::OK, RpcError::from(e), id),
                },
                // The method is not echoed: it is the caller's text.
                None => refuse(StatusCode::NOT_FOUND, RpcError::MethodNotFound, id),
            }
        }
    }
}

/// A result of this revision: `resultType: "complete"`, and, for a cacheable one, the
/// caching hints (`ttlMs` 0: the tools and what a relay serves may change at any time).
fn complete(mut result: Value, cache_scope: Option<&str>) -> Value {
    if let Value::Object(fields) = &mut result {
        fields.insert("resultType".into(), "complete".into());
        if let Some(scope) = cache_scope {
            fields.insert("ttlMs".into(), 0.into());
            fields.insert("cacheScope".into(), scope.into());
        }
    }
    result
}

/// `server/discover`: the revisions, the capabilities (those a relay adds that this
/// revision keeps), the instructions, and who the server is.
fn discover(adapter: &HttpAdapter) -> Value {
    let mut capabilities = Map::new();
    // With notifications to stream, a listener hears that the tools changed.
    capabilities.insert(
        "tools".into(),
        json!({"listChanged": adapter.events.is_some()}),
    );
    if let Some(relay) = &adapter.relay
        && let Value::Object(more) = relay.capabilities()
    {
        for (name, value) in more {
            // What the handshake revisions had and 2026-07-28 serves otherwise (logging by
            // `_meta`, list changes on `subscriptions/listen`; resource subscriptions not
            // offered here yet).
            let kept = match (name.as_str(), value) {
                ("resources" | "prompts", Value::Object(mut inner)) => {
                    inner.remove("subscribe");
                    if adapter.events.is_none() {
                        inner.remove("listChanged");
                    }
                    Value::Object(inner)
                }
                ("completions", value) => value,
                _ => continue,
            };
            capabilities.entry(name).or_insert(kept);
        }
    }
    let mut result = json!({
        "supportedVersions": ALL_VERSIONS,
        "capabilities": capabilities,
        "_meta": {META_SERVER_INFO: {"name": adapter.name, "version": adapter.version}},
    });
    if let Some(instructions) = &adapter.instructions {
        result["instructions"] = Value::String(instructions.clone());
    }
    complete(result, Some("public"))
}
