//! The airlock stack for servers built on the official Rust MCP SDK (`rmcp`).
//!
//! [`AirlockMcp`] implements `rmcp::ServerHandler`: every `call_tool` goes through the
//! layers, `list_tools` is filtered by the policy. Serve it on any rmcp transport (stdio,
//! streamable HTTP, a socket) like any other handler:
//!
//! ```no_run
//! use agent_airlock::adapters::mcp::AirlockMcp;
//! use agent_airlock::{AirlockConfig, StrictSchemaLayer, ToolRouter};
//! use rmcp::ServiceExt;
//! use tower::ServiceBuilder;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let router = ToolRouter::builder()
//!     .raw_tool("echo", "Echo", serde_json::json!({"type": "object"}),
//!         |args| async move { Ok::<_, std::convert::Infallible>(args) })
//!     .build()?;
//! let catalog = router.catalog();
//! let stack = ServiceBuilder::new()
//!     .layer(StrictSchemaLayer::from_config(&AirlockConfig::default().strict_schema(), catalog.clone()))
//!     .service(router);
//! let server = AirlockMcp::new(stack, catalog)
//!     .serve((tokio::io::stdin(), tokio::io::stdout()))
//!     .await?;
//! server.waiting().await?;
//! # Ok(()) }
//! ```
//!
//! The caller comes from the HTTP request when the transport is rmcp's streamable HTTP
//! server (`Authorization: Bearer`, `X-Agent-Id`, `Mcp-Session-Id`); on stdio there is no
//! per-request identity, and the policy sees an anonymous caller. A refusal is a tool
//! result with `isError: true`, the message and hints as text and the rejection as
//! `structuredContent.rejection`.

use std::borrow::Cow;
use std::sync::Arc;

use super::mcp_client::{Asked, Downstream, trace_of};
use super::mcp_rounds::{Answered, Stateless};
use super::{ServedStack, ToolStack, caller_of, mcp_rounds};
use crate::catalog::SharedCatalog;
use crate::layers::policy::PolicyEngine;
use crate::mcp::result::call_result;
use crate::service::{Caller, ToolResponse};
use crate::state::session::{MemorySessionStore, SessionCheck, SessionStore, owner_of};
/// The official Rust MCP SDK, whose `ServerHandler` [`AirlockMcp`] is, re-exported on
/// purpose.
pub use rmcp;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    InitializeResult, ListToolsResult, PaginatedRequestParams, ServerCapabilities, Tool,
};
use rmcp::service::{Peer, RequestContext, RoleServer};
use rmcp::{ErrorData, ServerHandler};
use serde_json::{Map, Value, json};

/// An `rmcp::ServerHandler` over an airlock stack; see the [module docs](self).
///
/// Each clone serves one connection (rmcp's streamable HTTP transport makes one per
/// session from a factory that clones): a clone shares the stack, the catalog and the
/// session store, and starts without a session of its own.
#[derive(Debug)]
pub struct AirlockMcp {
    core: ServedStack,
    name: String,
    version: String,
    instructions: Option<String>,
    relay: Option<Arc<dyn crate::mcp::Relay>>,
    tools_change: bool,
    notifications: Option<crate::mcp::Outbox>,
    sessions: Arc<dyn SessionStore>,
    /// The session this connection opened at `initialize`, and its owner.
    session: Arc<std::sync::OnceLock<Bound>>,
    /// How a 2026-07-28 client's `requestState` is sealed.
    seal: crate::mcp::StateSeal,
    /// The log level this connection's client set (`logging/setLevel`).
    log_level: Arc<std::sync::Mutex<Option<crate::service::LogLevel>>>,
    /// This connection's client, once it said `notifications/initialized`.
    peer: Arc<std::sync::OnceLock<Peer<RoleServer>>>,
}

/// A session issued at `initialize`, bound to the caller that initialized.
#[derive(Debug)]
struct Bound {
    id: String,
    owner: String,
}

impl Clone for AirlockMcp {
    fn clone(&self) -> Self {
        Self {
            session: Arc::default(),
            log_level: Arc::default(),
            peer: Arc::default(),
            ..self.connection_clone()
        }
    }
}

impl AirlockMcp {
    /// A clone that shares this connection's state (its session, client and log level).
    pub(super) fn connection_clone(&self) -> Self {
        Self {
            core: self.core.clone(),
            name: self.name.clone(),
            version: self.version.clone(),
            instructions: self.instructions.clone(),
            relay: self.relay.clone(),
            tools_change: self.tools_change,
            notifications: self.notifications.clone(),
            sessions: self.sessions.clone(),
            session: self.session.clone(),
            seal: self.seal.clone(),
            log_level: self.log_level.clone(),
            peer: self.peer.clone(),
        }
    }
}

impl AirlockMcp {
    /// Serves `stack` and lists the tools of `catalog`.
    pub fn new<S: ToolStack>(stack: S, catalog: impl Into<SharedCatalog>) -> Self {
        Self {
            core: ServedStack::new(stack, catalog.into()),
            name: "agent-airlock".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            instructions: None,
            relay: None,
            tools_change: false,
            notifications: None,
            sessions: Arc::new(MemorySessionStore::default()),
            session: Arc::default(),
            seal: crate::mcp::StateSeal::random(),
            log_level: Arc::default(),
            peer: Arc::default(),
        }
    }

    /// How the `requestState` of a 2026-07-28 client's multi-round trip is sealed: under a
    /// key drawn at random by default (replicas share a
    /// [`StateSeal::from_key`](crate::mcp::StateSeal::from_key)).
    pub fn request_state(mut self, seal: crate::mcp::StateSeal) -> Self {
        self.seal = seal;
        self
    }

    /// Where the sessions issued at `initialize` live (default: this process's memory);
    /// [`Airlock::session_store`](crate::Airlock::session_store) gives the configured one.
    pub fn session_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.sessions = store;
        self
    }

    /// The caller of a request and the session its call counts against: the one this
    /// connection opened at `initialize`, and only for the caller that opened it. A request
    /// of another caller, or one naming a session this server did not issue here, is
    /// refused.
    async fn session_of(
        &self,
        context: &RequestContext<RoleServer>,
    ) -> Result<(Caller, Option<String>), ErrorData> {
        let (caller, presented) = caller_from(context);
        self.bound_session(caller, presented).await
    }

    /// [`Self::session_of`] for `caller`, who presented the session `presented`.
    async fn bound_session(
        &self,
        caller: Caller,
        presented: Option<String>,
    ) -> Result<(Caller, Option<String>), ErrorData> {
        let Some(bound) = self.session.get() else {
            return match presented {
                // No session was opened on this connection: an id is not one of ours.
                Some(_) => Err(ErrorData::invalid_request(
                    "unknown session: initialize a new one",
                    None,
                )),
                None => Ok((caller, None)),
            };
        };
        let owner = owner_of(&caller, self.core.policy());
        if owner != bound.owner {
            return Err(ErrorData::invalid_request(
                "unknown session: initialize a new one",
                None,
            ));
        }
        match self.sessions.check(&bound.id, &owner).await {
            SessionCheck::Valid => Ok((caller, Some(bound.id.clone()))),
            SessionCheck::Unknown => Err(ErrorData::invalid_request(
                "unknown or expired session: initialize a new one",
                None,
            )),
            SessionCheck::Unavailable => Err(ErrorData::internal_error(
                "sessions cannot be checked now; try again later",
                None,
            )),
        }
    }

    /// Declares `tools.listChanged` at `initialize`: the catalog may be
    /// [replaced](crate::catalog::SharedCatalog::replace) while it serves, and whoever
    /// replaces it sends `notifications/tools/list_changed` (the proxy does).
    pub fn tools_list_changed(mut self, on: bool) -> Self {
        self.tools_change = on;
        self
    }

    /// Passes every notification of `outbox` on to the connected client (from
    /// `notifications/initialized` on, for as long as the connection lasts): what a server
    /// behind this door (the proxy's upstream) tells its client.
    pub fn notifications(mut self, outbox: crate::mcp::Outbox) -> Self {
        self.notifications = Some(outbox);
        self
    }

    /// Answers `resources/*`, `prompts/*`, `logging/setLevel` and `completion/complete`
    /// with `relay`, and declares its capabilities at `initialize`.
    pub fn relay(mut self, relay: Arc<dyn crate::mcp::Relay>) -> Self {
        self.relay = Some(relay);
        self
    }

    /// A relayed request: `method not found` without a relay, or when it does not relay
    /// `method`.
    async fn relayed<P: serde::Serialize, R: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        params: P,
        context: &RequestContext<RoleServer>,
    ) -> Result<R, ErrorData> {
        let not_found = || {
            ErrorData::new(
                rmcp::model::ErrorCode::METHOD_NOT_FOUND,
                "method not found",
                None,
            )
        };
        let relay = self.relay.as_ref().ok_or_else(not_found)?;
        let params = serde_json::to_value(params).unwrap_or(Value::Null);
        let params = if params.is_null() { json!({}) } else { params };
        let (caller, _) = caller_from(context);
        let answer = relay
            .request(method, params, caller)
            .ok_or_else(not_found)?;
        match answer.await {
            Ok(value) => serde_json::from_value(value)
                .map_err(|_| ErrorData::internal_error("the upstream's answer is not valid", None)),
            Err(e) => Err(ErrorData::new(
                rmcp::model::ErrorCode(i32::try_from(e.code).unwrap_or(-32603)),
                e.message,
                e.data,
            )),
        }
    }

    /// The stack the calls go through.
    pub(super) fn core(&self) -> &ServedStack {
        &self.core
    }

    /// How this door seals a 2026-07-28 client's `requestState`.
    pub(super) fn seal(&self) -> &crate::mcp::StateSeal {
        &self.seal
    }

    /// The log level this connection's client set, if it did.
    pub(super) fn log_level(&self) -> Option<crate::service::LogLevel> {
        *self.log_level.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// This connection's client, once initialized.
    pub(super) fn peer(&self) -> Option<&Peer<RoleServer>> {
        self.peer.get()
    }

    /// The caller and session of a request on a connection without per-request identity
    /// (stdio): the anonymous caller, and the session this connection opened.
    pub(super) async fn session_here(&self) -> Result<(Caller, Option<String>), ErrorData> {
        self.bound_session(Caller::default(), None).await
    }

    /// The `instructions` of `initialize` (what the server tells the model about itself).
    /// Sent as given: mask what comes from elsewhere first (the proxy does).
    pub fn instructions(mut self, instructions: Option<String>) -> Self {
        self.instructions = instructions;
        self
    }

    /// Filters `list_tools` for each caller with this policy (the same the stack uses).
    pub fn policy(mut self, policy: Arc<PolicyEngine>) -> Self {
        self.core.set_policy(policy);
        self
    }

    /// The `serverInfo` of `initialize`.
    pub fn server_info(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.name = name.into();
        self.version = version.into();
        self
    }
}

/// The caller and session of a request: from the HTTP request under rmcp's streamable
/// HTTP transport, none otherwise.
fn caller_from(context: &RequestContext<RoleServer>) -> (Caller, Option<String>) {
    match context.extensions.get::<::http::request::Parts>() {
        Some(parts) => caller_of(&parts.headers),
        None => (Caller::default(), None),
    }
}

/// MCP content blocks from their JSON; a block rmcp does not know becomes its JSON as text
/// (nothing is dropped silently).
fn content_blocks(blocks: Vec<Value>) -> Vec<ContentBlock> {
    blocks
        .into_iter()
        .map(|block| {
            serde_json::from_value::<ContentBlock>(block.clone())
                .unwrap_or_else(|_| ContentBlock::text(block.to_string()))
        })
        .collect()
}

/// A `ToolResponse` as rmcp's `CallToolResult`, through the one encoding every door uses
/// ([`call_result`]).
pub(super) fn result_of(response: &ToolResponse, typed: bool) -> CallToolResult {
    let Ok(Value::Object(mut fields)) = serde_json::to_value(call_result(response, typed)) else {
        return CallToolResult::error(vec![ContentBlock::text("internal error")]);
    };
    let content = match fields.remove("content") {
        Some(Value::Array(blocks)) => content_blocks(blocks),
        _ => Vec::new(),
    };
    let mut result = if fields.get("isError") == Some(&Value::Bool(true)) {
        CallToolResult::error(content)
    } else {
        CallToolResult::success(content)
    };
    result.structured_content = fields.remove("structuredContent");
    if let Some(Value::Object(meta)) = fields.remove("_meta") {
        result.meta = Some(rmcp::model::MetaObject(meta));
    }
    result
}

impl ServerHandler for AirlockMcp {
    #[allow(deprecated)] // logging: deprecated by a later revision, still used by clients
    fn get_info(&self) -> InitializeResult {
        // Tools may log during calls ([`Log`](crate::service::Log)).
        let capabilities = match self.tools_change {
            true => ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .enable_logging()
                .build(),
            false => ServerCapabilities::builder()
                .enable_tools()
                .enable_logging()
                .build(),
        };
        let mut info = InitializeResult::new(capabilities);
        info.server_info = Implementation::new(self.name.clone(), self.version.clone());
        info.instructions = self.instructions.clone();
        if let Some(relay) = &self.relay
            && let Ok(Value::Object(mut capabilities)) = serde_json::to_value(&info.capabilities)
        {
            if let Value::Object(more) = relay.capabilities() {
                for (name, value) in more {
                    capabilities.entry(name).or_insert(value);
                }
            }
            if let Ok(merged) = serde_json::from_value(Value::Object(capabilities)) {
                info.capabilities = merged;
            }
        }
        info
    }

    async fn initialize(
        &self,
        request: rmcp::model::InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        // The session is the server's: issued here, bound to the caller that initialized.
        let (caller, _) = caller_from(&context);
        self.core.prepare(&caller).await;
        // Over HTTP, where many callers share the door and identity is required, only a
        // caller the policy verifies gets a session (anonymous initializes cannot fill the
        // store).
        if context.extensions.get::<::http::request::Parts>().is_some()
            && let Some(policy) = self.core.policy()
            && policy.requires_identity()
            && policy.authenticate(&mut caller.clone()).is_err()
        {
            return Err(ErrorData::invalid_request(
                "unauthenticated: this server opens sessions only for callers it can verify",
                None,
            ));
        }
        let owner = owner_of(&caller, self.core.policy());
        if self.session.get().is_none() {
            let id = self.sessions.create(&owner).await.map_err(|e| match e {
                crate::state::session::SessionError::OwnerFull => ErrorData::invalid_request(
                    "this caller holds as many sessions as it may: end one or reuse it",
                    None,
                ),
                _ => {
                    ErrorData::internal_error("no session can be opened now; try again later", None)
                }
            })?;
            let _ = self.session.set(Bound { id, owner });
        }
        context.peer.set_peer_info(request.clone());
        self.negotiate_initialize(&request)
    }

    async fn on_initialized(&self, context: rmcp::service::NotificationContext<RoleServer>) {
        let _ = self.peer.set(context.peer.clone());
        if let Some(outbox) = &self.notifications {
            let mut notifications = outbox.subscribe();
            let client = Downstream(context.peer.clone());
            tokio::spawn(async move {
                use tokio::sync::broadcast::error::RecvError;
                loop {
                    match notifications.recv().await {
                        Ok(n) => {
                            if !client.send(&n.method, n.params.clone()).await {
                                break; // the client is gone
                            }
                        }
                        Err(RecvError::Lagged(_)) => continue,
                        Err(RecvError::Closed) => break,
                    }
                }
            });
        }
        if let Some(relay) = &self.relay {
            relay.client_connected(Arc::new(Downstream(context.peer)));
        }
    }

    async fn on_roots_list_changed(
        &self,
        _context: rmcp::service::NotificationContext<RoleServer>,
    ) {
        if let Some(relay) = &self.relay {
            relay.client_notified("notifications/roots/list_changed", json!({}));
        }
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListResourcesResult, ErrorData> {
        self.relayed("resources/list", request, &context).await
    }

    async fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListResourceTemplatesResult, ErrorData> {
        self.relayed("resources/templates/list", request, &context)
            .await
    }

    async fn read_resource(
        &self,
        request: rmcp::model::ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ReadResourceResponse, ErrorData> {
        let result: rmcp::model::ReadResourceResult =
            self.relayed("resources/read", request, &context).await?;
        Ok(rmcp::model::ReadResourceResponse::Complete(result))
    }

    #[allow(deprecated)] // the 2025 revisions' subscriptions, which clients still use
    async fn subscribe(
        &self,
        request: rmcp::model::SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let _: Value = self
            .relayed("resources/subscribe", request, &context)
            .await?;
        Ok(())
    }

    #[allow(deprecated)]
    async fn unsubscribe(
        &self,
        request: rmcp::model::UnsubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let _: Value = self
            .relayed("resources/unsubscribe", request, &context)
            .await?;
        Ok(())
    }

    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListPromptsResult, ErrorData> {
        self.relayed("prompts/list", request, &context).await
    }

    async fn get_prompt(
        &self,
        mut request: rmcp::model::GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::GetPromptResponse, ErrorData> {
        // A relayed server may ask for input too (2026-07-28): its state sealed to this
        // request, opened on the retry, as for a tool.
        let stateless = mcp_rounds::stateless(&context);
        let (caller, _) = caller_from(&context);
        let arguments = Value::Object(request.arguments.clone().unwrap_or_default());
        let binding = crate::mcp::Binding::of(
            "prompts/get",
            &request.name,
            &arguments,
            &owner_of(&caller, self.core.policy()),
        );
        let (responses, state) = (request.input_responses.take(), request.request_state.take());
        if stateless
            && let Some(inputs) = mcp_rounds::answers(&self.seal, &binding, responses, state)?
        {
            request.input_responses = Some(inputs.responses.into_iter().collect());
            request.request_state = inputs.state;
        }
        let result: Value = self.relayed("prompts/get", request, &context).await?;
        match mcp_rounds::relayed_input(&result) {
            Some(input) if stateless => {
                let capabilities = mcp_rounds::capabilities(&context);
                let result =
                    mcp_rounds::input_required(&self.seal, &binding, &capabilities, &input?)?;
                Ok(rmcp::model::GetPromptResponse::InputRequired(result))
            }
            Some(_) => Err(ErrorData::invalid_request(
                "the prompt needs input first, which this client's protocol revision cannot give",
                None,
            )),
            None => serde_json::from_value(result)
                .map(rmcp::model::GetPromptResponse::Complete)
                .map_err(|_| ErrorData::internal_error("the upstream's answer is not valid", None)),
        }
    }

    #[allow(deprecated)] // logging: deprecated by a later revision, still used by clients
    async fn set_level(
        &self,
        request: rmcp::model::SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let level = serde_json::to_value(request.level)
            .ok()
            .and_then(|level| crate::service::LogLevel::parse(level.as_str()?));
        *self.log_level.lock().unwrap_or_else(|p| p.into_inner()) = level;
        match self
            .relayed::<_, Value>("logging/setLevel", request, &context)
            .await
        {
            // A relayed server without logging of its own: the door's tools still log.
            Err(e) if e.code != rmcp::model::ErrorCode::METHOD_NOT_FOUND => Err(e),
            _ => Ok(()),
        }
    }

    async fn complete(
        &self,
        request: rmcp::model::CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CompleteResult, ErrorData> {
        self.relayed("completion/complete", request, &context).await
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let (caller, _) = caller_from(&context);
        self.core.prepare(&caller).await;
        let tools = self.core.visible(caller, |spec| {
            // The whole definition (title, outputSchema, annotations, …) as served.
            serde_json::from_value::<Tool>(spec.to_mcp()).unwrap_or_else(|_| {
                let mut schema = Map::new();
                schema.insert("type".into(), "object".into());
                Tool::new_with_raw(
                    spec.name().to_owned(),
                    spec.description().map(|d| Cow::Owned(d.to_owned())),
                    Arc::new(schema),
                )
            })
        });
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        mut request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let (caller, session) = self.session_of(&context).await?;
        let arguments = Value::Object(request.arguments.take().unwrap_or_default());
        let progress = request
            .meta
            .as_ref()
            .and_then(|meta| meta.get_progress_token())
            .or_else(|| context.meta.get_progress_token())
            .and_then(|t| serde_json::to_value(t).ok());
        // The client's trace, from the request's `_meta` (or, over HTTP, its headers).
        let traced = request
            .meta
            .as_ref()
            .and_then(|meta| trace_of(meta))
            .or_else(|| trace_of(&context.meta))
            .or_else(|| {
                context
                    .extensions
                    .get::<::http::request::Parts>()
                    .and_then(|parts| crate::telemetry::TraceContext::from_headers(&parts.headers))
            });
        let typed = self.core.has_output_schema(&request.name);
        let name = request.name.clone().into_owned();
        // A client of the handshake revisions: the call of its session.
        if !mcp_rounds::stateless(&context) {
            let asked = Asked {
                caller,
                session,
                progress,
                traced,
                frames: None,
            };
            let response = self
                .in_session(&context.peer, name, arguments, asked)
                .await?;
            return Ok(CallToolResponse::Complete(result_of(&response, typed)));
        }
        // A client of 2026-07-28: its call, or the round asking for its input.
        let stateless = Stateless {
            caller,
            session,
            progress,
            traced,
            level: mcp_rounds::log_level(&request.meta, &context),
            capabilities: mcp_rounds::capabilities(&context),
            responses: request.input_responses.take(),
            state: request.request_state.take(),
            frames: None,
        };
        match self
            .stateless_call(&context.peer, name, arguments, stateless)
            .await?
        {
            Answered::Done(response) => Ok(CallToolResponse::Complete(result_of(&response, typed))),
            Answered::Input(round) => Ok(CallToolResponse::InputRequired(round)),
        }
    }
}
