//! W3C trace context across the airlock: a client's `traceparent` becomes the parent of
//! the call's span, and a span's own context goes on to a proxied server. Without feature
//! `telemetry` (or with no OpenTelemetry layer in the subscriber) both do nothing.

use tracing::Span;

use super::span::TraceContext;

/// Makes the client's `context` the parent of `span`.
#[cfg_attr(
    not(any(feature = "axum", feature = "tonic", feature = "rmcp")),
    allow(dead_code)
)]
pub(crate) fn adopt(span: &Span, context: &TraceContext) {
    #[cfg(feature = "telemetry")]
    {
        use opentelemetry::propagation::TextMapPropagator as _;
        use tracing_opentelemetry::OpenTelemetrySpanExt as _;
        if span.is_disabled() {
            return;
        }
        let mut carrier = std::collections::HashMap::with_capacity(2);
        carrier.insert("traceparent".to_owned(), context.traceparent.clone());
        if let Some(state) = &context.tracestate {
            carrier.insert("tracestate".to_owned(), state.clone());
        }
        let parent =
            opentelemetry_sdk::propagation::TraceContextPropagator::new().extract(&carrier);
        // No OpenTelemetry layer: nothing to link.
        let _ = span.set_parent(parent);
    }
    #[cfg(not(feature = "telemetry"))]
    let _ = (span, context);
}

/// The trace context of `span`, to send on (`None` when it is not traced).
#[cfg_attr(not(feature = "proxy"), allow(dead_code))]
pub(crate) fn of(span: &Span) -> Option<TraceContext> {
    #[cfg(feature = "telemetry")]
    {
        use opentelemetry::propagation::TextMapPropagator as _;
        use opentelemetry::trace::TraceContextExt as _;
        use tracing_opentelemetry::OpenTelemetrySpanExt as _;
        if span.is_disabled() {
            return None;
        }
        let context = span.context();
        if !context.span().span_context().is_valid() {
            return None;
        }
        let mut carrier = std::collections::HashMap::with_capacity(2);
        opentelemetry_sdk::propagation::TraceContextPropagator::new()
            .inject_context(&context, &mut carrier);
        TraceContext::parse(
            carrier.get("traceparent")?,
            carrier.get("tracestate").map(String::as_str),
        )
    }
    #[cfg(not(feature = "telemetry"))]
    {
        let _ = span;
        None
    }
}
