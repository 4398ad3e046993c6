//! The airlock stack behind the doors agents use.
//!
//! | adapter | feature | what it serves |
//! |---|---|---|
//! | [`http`] | `axum` | MCP's Streamable HTTP transport at `POST /mcp`, and `POST /tools/{name}` |
//! | [`grpc`] | `tonic` | the `ToolService` of `proto/airlock.proto` (`Call`, `List`) |
//! | [`mcp`] | `rmcp` | an `rmcp::ServerHandler`, for servers built on the official Rust MCP SDK |
//!
//! Each takes the caller from `Authorization: Bearer <credential>` (verified by the
//! policy's identity verifier when there is one) and an optional claimed `X-Agent-Id`, and
//! the session from `Mcp-Session-Id`; each filters the tool list with the policy when it
//! is given one; each returns refusals as structured results, never as opaque errors.

#[cfg(feature = "tonic")]
pub mod grpc;
#[cfg(feature = "axum")]
pub mod http;
#[cfg(feature = "rmcp")]
pub mod mcp;

#[cfg(any(feature = "axum", feature = "tonic", feature = "rmcp"))]
use crate::{
    catalog::{ToolCatalog, ToolSpec},
    layers::policy::Policy,
    service::{Caller, Credential},
};

/// The caller and session that request headers (or gRPC metadata) carry.
#[cfg(any(feature = "axum", feature = "tonic", feature = "rmcp"))]
pub(crate) fn caller_of(headers: &::http::HeaderMap) -> (Caller, Option<String>) {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.len() <= 256)
    };
    let mut caller = Caller::default();
    if let Some(token) = headers
        .get(::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
    {
        caller.credential = Some(Credential::new(token.trim()));
    }
    caller.agent_id = text("x-agent-id").map(str::to_owned);
    (caller, text("mcp-session-id").map(str::to_owned))
}

/// The catalog's tools this caller may see: all of them without a policy; with one, those
/// its rules allow once the caller's credential is verified (none if it does not verify).
#[cfg(any(feature = "axum", feature = "tonic", feature = "rmcp"))]
pub(crate) fn visible_specs<'a>(
    catalog: &'a ToolCatalog,
    policy: Option<&Policy>,
    mut caller: Caller,
) -> Vec<&'a ToolSpec> {
    match policy {
        None => catalog.tools(),
        Some(policy) => {
            if policy.authenticate(&mut caller).is_err() {
                return Vec::new();
            }
            policy
                .visible_tools(&caller)
                .iter()
                .filter_map(|name| catalog.get(name))
                .collect()
        }
    }
}
