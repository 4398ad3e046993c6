use std::borrow::Cow;
use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use super::ghosts::{find_ghosts, strip_ghosts};
use super::layer::StripGhostArgsLayer;
use crate::future::ResponseFuture;
use crate::service::layer_names::STRIP_GHOST_ARGS;
use crate::service::{Note, Rejection, ToolCall, ToolResponse};
use crate::telemetry::span;

/// Removes or refuses undeclared arguments; see the [module docs](super).
#[derive(Debug, Clone)]
pub struct StripGhostArgs<S> {
    pub(crate) inner: S,
    pub(crate) layer: StripGhostArgsLayer,
}

impl<S> StripGhostArgs<S> {
    /// Wraps `inner` with the settings of `layer`.
    pub fn new(inner: S, layer: StripGhostArgsLayer) -> Self {
        Self { inner, layer }
    }

    inner_service_accessors!();
}

impl<S> Layer<S> for StripGhostArgsLayer {
    type Service = StripGhostArgs<S>;

    fn layer(&self, inner: S) -> Self::Service {
        StripGhostArgs::new(inner, self.clone())
    }
}

impl<S> Service<ToolCall> for StripGhostArgs<S>
where
    S: Service<ToolCall, Response = ToolResponse>,
{
    type Response = ToolResponse;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut call: ToolCall) -> Self::Future {
        match span::checked(STRIP_GHOST_ARGS, || check(&self.layer, &mut call)) {
            Ok(notes) => ResponseFuture::inner(self.inner.call(call), notes),
            Err(rejection) => ResponseFuture::ready(ToolResponse::rejected(rejection)),
        }
    }
}

/// What the layer does to `call`: the notes of what it stripped, or its refusal.
fn check(layer: &StripGhostArgsLayer, call: &mut ToolCall) -> Result<Vec<Note>, Rejection> {
    let catalog = layer.catalog.load();
    let spec = catalog.admit(STRIP_GHOST_ARGS, &call.tool, &call.arguments, &layer.limits)?;
    if spec.shape().is_none() {
        if layer.strict {
            return Err(Rejection::missing_schema(STRIP_GHOST_ARGS, spec.name()));
        }
        tracing::debug!(tool = %spec.name(), "tool has no schema; arguments not checked for ghosts");
        return Ok(Vec::new());
    }
    let ghosts = find_ghosts(spec, &call.arguments);
    if ghosts.is_empty() {
        return Ok(Vec::new());
    }
    let shown: Vec<String> = ghosts
        .iter()
        .take(layer.max_reported)
        .map(|g| g.pointer.clone())
        .collect();
    if layer.strict {
        tracing::info!(tool = %spec.name(), arguments = ?shown, "refused undeclared arguments");
        let errors = ghosts
            .iter()
            .take(layer.max_reported)
            .map(|g| g.to_field_error(spec))
            .collect();
        let mut rejection = Rejection::ghost_arguments(STRIP_GHOST_ARGS, spec.name(), errors);
        if ghosts.len() > layer.max_reported {
            rejection.message.push_str(&format!(
                " ({} undeclared arguments in all; the first {} are listed)",
                ghosts.len(),
                layer.max_reported
            ));
        }
        return Err(rejection);
    }
    tracing::warn!(tool = %spec.name(), arguments = ?shown, count = ghosts.len(), "stripped undeclared arguments");
    strip_ghosts(&mut call.arguments, &ghosts);
    let note = Note::ArgumentsStripped {
        layer: Cow::Borrowed(STRIP_GHOST_ARGS),
        arguments: shown,
        total: ghosts.len(),
    };
    Ok(vec![note])
}
