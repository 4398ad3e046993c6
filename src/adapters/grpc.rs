//! The airlock stack behind gRPC: the `ToolService` of `proto/airlock.proto` on tonic.
//!
//! `Call` runs one call through the stack and answers with the output, or with the
//! structured `Rejection` (code, layer, message, fix hints, field errors, retry-after) when
//! a layer refused: a refusal is a normal response, never an opaque gRPC status. Only a
//! failure of the service itself is a status (`internal`). `List` returns the tools this
//! caller may call. Arguments and JSON outputs are JSON text (see the `.proto` for why).
//!
//! Sessions are the server's, as over HTTP: `OpenSession` issues an id bound to the caller
//! (its verified identity, else its credential's digest, else its claimed id) in a
//! [`SessionStore`]; a `Call` that carries `mcp-session-id` metadata is answered
//! `not_found` unless that id is a live session of the same caller, so a client can neither
//! invent ids to escape `[policy.sessions]` budgets nor spend another caller's.
//!
//! ```no_run
//! use agent_airlock::adapters::grpc::{GrpcAdapter, proto::tool_service_server::ToolServiceServer};
//! use agent_airlock::{AirlockConfig, StrictSchemaLayer, ToolRouter};
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
//! tonic::transport::Server::builder()
//!     .add_service(ToolServiceServer::new(GrpcAdapter::new(stack, catalog)))
//!     .serve("127.0.0.1:50051".parse()?)
//!     .await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;

use super::{ServedStack, ToolStack, caller_of};
use crate::catalog::SharedCatalog;
use crate::layers::policy::PolicyEngine;
use crate::service::layer_names::ADAPTER;
use crate::service::{Rejection as AirlockRejection, ToolCall, ToolOutput, ToolResponse};
use crate::state::session::{
    MemorySessionStore, SessionCheck, SessionError, SessionStore, owner_of,
};
use serde_json::{Map, Value};
use tonic::{Request, Response, Status};

/// The gRPC framework the generated service runs on, re-exported on purpose.
pub use tonic;

/// The code generated from `proto/airlock.proto` (package `agent_airlock.v1`).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod proto {
    tonic::include_proto!("agent_airlock.v1");
}

use proto::tool_service_server::ToolService;
use proto::{
    CallRequest, CallResponse, EndSessionRequest, EndSessionResponse, FieldError, ListRequest,
    ListResponse, OpenSessionRequest, OpenSessionResponse, Rejection, Tool,
};

/// Implements the generated `ToolService` over an airlock stack; wrap it in
/// `ToolServiceServer::new`.
#[derive(Clone, Debug)]
pub struct GrpcAdapter {
    core: ServedStack,
    sessions: Arc<dyn SessionStore>,
}

impl GrpcAdapter {
    /// Serves `stack` and lists the tools of `catalog`.
    pub fn new<S: ToolStack>(stack: S, catalog: impl Into<SharedCatalog>) -> Self {
        Self {
            core: ServedStack::new(stack, catalog.into()),
            sessions: Arc::new(MemorySessionStore::default()),
        }
    }

    /// Where issued sessions live (default: this process's memory, 10,000 sessions of an
    /// hour); share one with the other doors, or use Redis for replicas
    /// ([`Airlock::session_store`](crate::Airlock::session_store) gives the configured one).
    pub fn session_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.sessions = store;
        self
    }

    /// Who the sessions of `request`'s caller belong to.
    fn owner_of<T>(&self, request: &Request<T>) -> String {
        let headers = request.metadata().clone().into_headers();
        owner_of(&caller_of(&headers).0, self.core.policy())
    }

    /// The session `presented` if it is a live one of `caller`'s; a status otherwise.
    async fn session_of(
        &self,
        presented: Option<String>,
        caller: &crate::service::Caller,
    ) -> Result<Option<String>, Status> {
        let Some(id) = presented else {
            return Ok(None);
        };
        let owner = owner_of(caller, self.core.policy());
        match self.sessions.check(&id, &owner).await {
            SessionCheck::Valid => Ok(Some(id)),
            SessionCheck::Unknown => Err(Status::not_found(
                "unknown or expired session: open one with OpenSession and send its id",
            )),
            SessionCheck::Unavailable => Err(Status::unavailable(
                "sessions cannot be checked now; try again later",
            )),
        }
    }

    /// Filters `List` for each caller with this policy (the same the stack uses).
    pub fn policy(mut self, policy: Arc<PolicyEngine>) -> Self {
        self.core.set_policy(policy);
        self
    }
}

fn rejection(r: &AirlockRejection) -> Rejection {
    Rejection {
        code: r.code.as_str().to_owned(),
        layer: r.layer.to_string(),
        message: r.message.clone(),
        fix_hints: r.fix_hints.clone(),
        field_errors: r
            .field_errors
            .iter()
            .map(|e| FieldError {
                pointer: e.pointer.clone(),
                expected: e.expected.clone(),
                received: e.received.clone(),
                hint: e.hint.clone(),
                preview: e.preview.clone(),
            })
            .collect(),
        retry_after_secs: r.retry_after.map(|d| d.as_secs_f64().ceil() as u64),
    }
}

fn call_response(response: ToolResponse) -> CallResponse {
    // A tool that needs the client's input first: this door has no way to ask for it.
    let unanswerable = response.input_requests().is_some();
    let output = match &response.output {
        ToolOutput::Text(t) => proto::call_response::Output::Text(t.clone()),
        ToolOutput::Json(v) => proto::call_response::Output::Json(v.to_string()),
        // MCP content blocks, as the JSON of `{"content": […], "structuredContent": …}`.
        ToolOutput::Content(c) => {
            proto::call_response::Output::Json(serde_json::to_string(c).unwrap_or_default())
        }
        ToolOutput::InputRequired(_) => proto::call_response::Output::Text(format!(
            "{}: a client of this door cannot give it (MCP 2026-07-28 can)",
            response.output.to_text()
        )),
    };
    CallResponse {
        is_error: response.is_error || unanswerable,
        output: Some(output),
        rejection: response.rejection.as_ref().map(rejection),
        notes_json: if response.notes.is_empty() {
            String::new()
        } else {
            serde_json::to_string(&response.notes).unwrap_or_default()
        },
    }
}

#[tonic::async_trait]
impl ToolService for GrpcAdapter {
    async fn call(&self, request: Request<CallRequest>) -> Result<Response<CallResponse>, Status> {
        let headers = request.metadata().clone().into_headers();
        let message = request.into_inner();
        let arguments = if message.arguments_json.trim().is_empty() {
            Value::Object(Map::new())
        } else {
            match serde_json::from_str::<Value>(&message.arguments_json) {
                Ok(v) => v,
                Err(e) => {
                    let refusal = AirlockRejection::malformed_call(
                        ADAPTER,
                        format!("arguments_json is not valid JSON: {e}"),
                        "send the arguments as a JSON object in text, e.g. {\"path\": \"a.txt\"}",
                    );
                    return Ok(Response::new(call_response(ToolResponse::rejected(
                        refusal,
                    ))));
                }
            }
        };
        let (caller, session) = caller_of(&headers);
        let session = self.session_of(session, &caller).await?;
        let mut call = ToolCall::new(message.tool, arguments).with_caller(caller);
        call.session = session;
        if let Some(context) = crate::telemetry::TraceContext::from_headers(&headers) {
            call.extensions.insert(context);
        }
        if !message.id.is_empty() {
            call = call.with_id(message.id);
        }
        match self.core.call(call).await {
            Ok(response) => Ok(Response::new(call_response(response))),
            Err(_) => Err(Status::internal("internal error")),
        }
    }

    async fn list(&self, request: Request<ListRequest>) -> Result<Response<ListResponse>, Status> {
        let headers = request.metadata().clone().into_headers();
        let (caller, _) = caller_of(&headers);
        self.core.prepare(&caller).await;
        let tools = self.core.visible(caller, |t| Tool {
            name: t.name().to_owned(),
            description: t.description().unwrap_or_default().to_owned(),
            input_schema_json: t.input_schema().map(|s| s.to_string()).unwrap_or_default(),
        });
        Ok(Response::new(ListResponse { tools }))
    }

    async fn open_session(
        &self,
        request: Request<OpenSessionRequest>,
    ) -> Result<Response<OpenSessionResponse>, Status> {
        match self.sessions.create(&self.owner_of(&request)).await {
            Ok(session_id) => Ok(Response::new(OpenSessionResponse { session_id })),
            Err(SessionError::Full) => Err(Status::resource_exhausted(
                "too many sessions are active; try again later",
            )),
            Err(SessionError::OwnerFull) => Err(Status::resource_exhausted(
                "this caller holds as many sessions as it may: end one (EndSession) or reuse it",
            )),
            Err(_) => Err(Status::unavailable(
                "no session can be opened now; try again later",
            )),
        }
    }

    async fn end_session(
        &self,
        request: Request<EndSessionRequest>,
    ) -> Result<Response<EndSessionResponse>, Status> {
        let owner = self.owner_of(&request);
        let ended = self
            .sessions
            .end(&request.get_ref().session_id, &owner)
            .await;
        Ok(Response::new(EndSessionResponse { ended }))
    }
}
