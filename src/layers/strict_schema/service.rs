use std::borrow::Cow;
use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use super::explain::explain;
use super::layer::StrictSchemaLayer;
use crate::future::ResponseFuture;
use crate::service::layer_names::STRICT_SCHEMA;
use crate::service::{Note, Rejection, ToolCall, ToolResponse};
use crate::telemetry::span;

/// Validates arguments against the tool's schema; see the [module docs](super).
#[derive(Debug, Clone)]
pub struct StrictSchema<S> {
    pub(crate) inner: S,
    pub(crate) layer: StrictSchemaLayer,
}

impl<S> StrictSchema<S> {
    /// Wraps `inner` with the settings of `layer`.
    pub fn new(inner: S, layer: StrictSchemaLayer) -> Self {
        Self { inner, layer }
    }

    inner_service_accessors!();
}

impl<S> Layer<S> for StrictSchemaLayer {
    type Service = StrictSchema<S>;

    fn layer(&self, inner: S) -> Self::Service {
        StrictSchema::new(inner, self.clone())
    }
}

impl<S> Service<ToolCall> for StrictSchema<S>
where
    S: Service<ToolCall, Response = ToolResponse>,
{
    type Response = ToolResponse;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, call: ToolCall) -> Self::Future {
        match span::checked(STRICT_SCHEMA, || check(&self.layer, &call)) {
            Ok(notes) => ResponseFuture::inner(self.inner.call(call), notes),
            Err(rejection) => ResponseFuture::ready(ToolResponse::rejected(rejection)),
        }
    }
}

/// What the layer says of `call`: a note when it passed unvalidated, or its refusal.
fn check(layer: &StrictSchemaLayer, call: &ToolCall) -> Result<Vec<Note>, Rejection> {
    let catalog = layer.catalog.load();
    let spec = catalog.admit(STRICT_SCHEMA, &call.tool, &call.arguments, &layer.limits)?;
    let Some(validator) = spec.validator() else {
        if layer.require_schema {
            return Err(Rejection::missing_schema(STRICT_SCHEMA, spec.name()));
        }
        tracing::warn!(tool = %spec.name(), "tool has no schema; arguments passed unvalidated");
        return Ok(vec![Note::Unvalidated {
            layer: Cow::Borrowed(STRICT_SCHEMA),
        }]);
    };
    if validator.is_valid(&call.arguments) {
        return Ok(Vec::new());
    }
    let (errors, truncated) = explain(validator, &call.arguments, layer.max_errors);
    tracing::info!(
        tool = %spec.name(),
        pointers = ?errors.iter().map(|e| e.pointer.as_str()).collect::<Vec<_>>(),
        "refused arguments that do not match the schema"
    );
    Err(Rejection::schema_violation(
        STRICT_SCHEMA,
        spec.name(),
        errors,
        truncated,
    ))
}
