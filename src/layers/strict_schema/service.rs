use std::borrow::Cow;
use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use super::explain::explain;
use super::layer::StrictSchemaLayer;
use crate::future::ResponseFuture;
use crate::service::layer_names::STRICT_SCHEMA;
use crate::service::{Note, Rejection, ToolCall, ToolResponse};

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
        let refuse = |r: Rejection| ResponseFuture::ready(ToolResponse::rejected(r));
        let layer = &self.layer;
        let catalog = layer.catalog.load();
        let spec = match catalog.admit(STRICT_SCHEMA, &call.tool, &call.arguments, &layer.limits) {
            Ok(spec) => spec,
            Err(r) => return refuse(r),
        };
        let Some(validator) = spec.validator() else {
            if layer.require_schema {
                return refuse(Rejection::missing_schema(STRICT_SCHEMA, spec.name()));
            }
            tracing::warn!(tool = %spec.name(), "tool has no schema; arguments passed unvalidated");
            let note = Note::Unvalidated {
                layer: Cow::Borrowed(STRICT_SCHEMA),
            };
            return ResponseFuture::inner(self.inner.call(call), vec![note]);
        };
        if validator.is_valid(&call.arguments) {
            return ResponseFuture::inner(self.inner.call(call), Vec::new());
        }
        let (errors, truncated) = explain(validator, &call.arguments, layer.max_errors);
        tracing::info!(
            tool = %spec.name(),
            pointers = ?errors.iter().map(|e| e.pointer.as_str()).collect::<Vec<_>>(),
            "refused arguments that do not match the schema"
        );
        refuse(Rejection::schema_violation(
            STRICT_SCHEMA,
            spec.name(),
            errors,
            truncated,
        ))
    }
}
