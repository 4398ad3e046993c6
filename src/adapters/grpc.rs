//! The airlock stack behind gRPC: the `ToolService` of `proto/airlock.proto` on tonic.
//!
//! `Call` runs one call through the stack and answers with the output, or with the
//! structured `Rejection` (code, layer, message, fix hints, field errors, retry-after) when
//! a layer refused: a refusal is a normal response, never an opaque gRPC status. Only a
//! failure of the service itself is a status (`internal`). `List` returns the tools this
//! caller may call. Arguments and JSON outputs are JSON text (see the `.proto` for why).
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
use serde_json::{Map, Value};
use tonic::{Request, Response, Status};

/// The code generated from `proto/airlock.proto` (package `agent_airlock.v1`).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod proto {
    tonic::include_proto!("agent_airlock.v1");
}

use proto::tool_service_server::ToolService;
use proto::{CallRequest, CallResponse, FieldError, ListRequest, ListResponse, Rejection, Tool};

/// Implements the generated `ToolService` over an airlock stack; wrap it in
/// `ToolServiceServer::new`.
#[derive(Clone, Debug)]
pub struct GrpcAdapter {
    core: ServedStack,
}

impl GrpcAdapter {
    /// Serves `stack` and lists the tools of `catalog`.
    pub fn new<S: ToolStack>(stack: S, catalog: impl Into<SharedCatalog>) -> Self {
        Self {
            core: ServedStack::new(stack, catalog.into()),
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
    let output = match &response.output {
        ToolOutput::Text(t) => proto::call_response::Output::Text(t.clone()),
        ToolOutput::Json(v) => proto::call_response::Output::Json(v.to_string()),
        // MCP content blocks, as the JSON of `{"content": […], "structuredContent": …}`.
        ToolOutput::Content(c) => {
            proto::call_response::Output::Json(serde_json::to_string(c).unwrap_or_default())
        }
    };
    CallResponse {
        is_error: response.is_error,
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
        let mut call = ToolCall::new(message.tool, arguments).with_caller(caller);
        call.session = session;
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
        let tools = self.core.visible(caller, |t| Tool {
            name: t.name().to_owned(),
            description: t.description().unwrap_or_default().to_owned(),
            input_schema_json: t.input_schema().map(|s| s.to_string()).unwrap_or_default(),
        });
        Ok(Response::new(ListResponse { tools }))
    }
}
