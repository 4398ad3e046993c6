//! [`UpstreamService`]: the upstream's tools as a `tower::Service<ToolCall>`, and its
//! catalog.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use rmcp::model::{CallToolRequestParams, Tool};
use serde_json::Value;
use tower_service::Service;

use super::Upstream;
use super::calls::{self, answer_of};
use super::upstream::{Heard, Listener};
use crate::catalog::{ToolCatalog, ToolSpec};
use crate::layers::sanitize::{Counts, Sanitizer};
use crate::service::{ClientCapabilities, InputResponses, ToolCall, ToolResponse};
use crate::telemetry::{propagate, span};
use tracing::Instrument as _;

/// Forwards each call to the upstream MCP server. The upstream's own tool errors stay
/// tool errors (`isError`); an upstream that exits, times out or answers nonsense gives an
/// error response saying so, never a hang and never an `Err` (the stack's error type is
/// `Infallible`).
#[derive(Debug, Clone)]
pub struct UpstreamService {
    upstream: Arc<Upstream>,
}

impl UpstreamService {
    /// Calls go to `upstream`.
    pub fn new(upstream: Arc<Upstream>) -> Self {
        Self { upstream }
    }

    /// The upstream.
    pub fn upstream(&self) -> &Arc<Upstream> {
        &self.upstream
    }
}

impl Service<ToolCall> for UpstreamService {
    type Response = ToolResponse;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<ToolResponse, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, call: ToolCall) -> Self::Future {
        let upstream = self.upstream.clone();
        // Only the upstream's own tools are called (the layers refused the rest): the name
        // is one the catalog has.
        let span = span::upstream(&call.tool);
        let traced = propagate::of(&span);
        let answer = async move {
            let mut params = CallToolRequestParams::new(call.tool);
            if let Value::Object(arguments) = call.arguments {
                params = params.with_arguments(arguments);
            }
            // The trace goes on to the upstream in `_meta` (W3C trace context, as MCP
            // carries it), this span its parent.
            let mut meta = serde_json::Map::new();
            if let Some(context) = traced {
                meta.insert("traceparent".into(), context.traceparent.into());
                if let Some(state) = context.tracestate {
                    meta.insert("tracestate".into(), state.into());
                }
            }
            // A door asked for the call's log messages: an upstream of 2026-07-28 reads the
            // level here (one of the handshake revisions was told by `logging/setLevel`).
            if let Some(log) = call.extensions.get::<crate::service::Log>() {
                meta.insert(
                    "io.modelcontextprotocol/logLevel".into(),
                    log.level().as_str().into(),
                );
            }
            // Token exchange: the upstream sees a token of its own for this caller, never
            // the caller's (the mark is taken off before the message leaves).
            if let Some(exchange) = upstream.exchange() {
                let Some(credential) = call.caller.credential.as_ref() else {
                    return Ok(ToolResponse::error(
                        "this proxy calls its upstream with a token exchanged for each caller's \
                         own: send yours (Authorization: Bearer …)",
                    ));
                };
                match exchange.mark(credential.expose()).await {
                    Ok(handle) => {
                        meta.insert(exchange.marker().to_owned(), handle.into());
                    }
                    Err(error) => {
                        tracing::warn!(%error, "no upstream token for this caller");
                        return Ok(ToolResponse::error(
                            "the upstream's token for this caller could not be obtained from the \
                             authorization server; try again later",
                        ));
                    }
                }
            }
            if !meta.is_empty() {
                params.meta = Some(meta.into());
            }
            // Who hears the upstream's progress for this call: the connected client under
            // its own token, or the door that made the call; and its log messages, when
            // the door was asked for them.
            let heard = Heard {
                progress: match call.extensions.get::<crate::mcp::ProgressToken>() {
                    Some(token) => Some(Listener::Client(token.0.clone())),
                    None => call
                        .extensions
                        .get::<crate::service::Progress>()
                        .map(|progress| Listener::Door(progress.clone())),
                },
                log: call.extensions.get::<crate::service::Log>().cloned(),
            };
            // A 2026-07-28 client: the upstream's questions become this call's
            // `InputRequiredResult`, and its retry resumes the call they came from.
            let inputs = call.extensions.get::<InputResponses>();
            let capabilities = call.extensions.get::<ClientCapabilities>();
            let resumed = inputs
                .and_then(|i| i.state.as_deref())
                .and_then(calls::Resumed::of);
            let response = match (resumed, capabilities) {
                (Some(calls::Resumed::Parked(id)), Some(capabilities)) => {
                    calls::resume(&upstream, id, inputs, capabilities).await
                }
                (resumed, Some(capabilities)) => {
                    if let (Some(calls::Resumed::Upstream(state)), Some(inputs)) = (resumed, inputs)
                    {
                        // The upstream's own round: its state back, the answers masked.
                        params.request_state = state.map(str::to_owned);
                        params.input_responses = Some(upstream.masked(&inputs.responses));
                    }
                    calls::asking(&upstream, params, heard, capabilities).await
                }
                (_, None) => match upstream.call(params, heard, None).await {
                    Ok(answer) => answer_of(answer, None),
                    Err(message) => ToolResponse::error(message),
                },
            };
            let outcome = if response.is_error { "error" } else { "ok" };
            tracing::Span::current().record("airlock.outcome", outcome);
            Ok(response)
        };
        Box::pin(answer.instrument(span))
    }
}

/// The catalog of an upstream's tools. A tool whose name or schema cannot be compiled is
/// left out (its calls are then refused as unknown) and logged: it cannot be checked.
pub(crate) fn catalog_of(tools: &[Tool], sanitizer: Option<&Sanitizer>) -> ToolCatalog {
    let entries: Vec<Value> = tools
        .iter()
        .map(|tool| serde_json::to_value(tool).unwrap_or(Value::Null))
        .collect();
    catalog_of_entries(&entries, sanitizer)
}

/// [`catalog_of`] from `tools/list` entries as JSON.
pub(crate) fn catalog_of_entries(entries: &[Value], sanitizer: Option<&Sanitizer>) -> ToolCatalog {
    let mut catalog = ToolCatalog::new();
    for entry in entries {
        // What the model reads of a definition is masked like everything else the
        // upstream says; what the schema checks (names, types, patterns) is left alone.
        let mut entry = entry.clone();
        if let Some(sanitizer) = sanitizer {
            mask_prose(&mut entry, sanitizer);
        }
        match ToolSpec::from_mcp(&entry).and_then(|spec| catalog.insert(spec)) {
            Ok(()) => {}
            Err(e) => tracing::warn!(error = %e, "an upstream tool is left out"),
        }
    }
    catalog
}

/// Masks what the model reads of a tool definition and nothing the schema checks with:
/// every `title`, `description`, `$comment`, `default` and `examples` at any depth (the
/// tool's own, each property's), and every string under `_meta`, `annotations` and
/// `icons`. Names, types, patterns, formats, `enum` and `const` are left as the schema
/// needs them (the pins and the scan still see what the upstream sent). Walked without
/// recursion.
fn mask_prose(definition: &mut Value, sanitizer: &Sanitizer) {
    let mut counts = Counts::new();
    let mut stack = vec![definition];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    match key.as_str() {
                        "title" | "description" | "$comment" | "default" | "examples" | "_meta"
                        | "annotations" | "icons" => {
                            sanitizer.sanitize_json(child, &mut counts);
                        }
                        _ if child.is_object() || child.is_array() => stack.push(child),
                        _ => {}
                    }
                }
            }
            Value::Array(items) => stack.extend(items.iter_mut()),
            _ => {}
        }
    }
}
