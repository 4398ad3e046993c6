//! [`Counted`]: a `tracing` subscriber that counts the library's spans and metric events
//! into [`Metrics`] itself, and hands everything else to the subscriber it wraps.
//!
//! [`MetricsLayer`](super::MetricsLayer) on a `Registry` pays for what a layer needs and
//! the metrics do not: every span of the library stored in the registry's slab, its
//! extensions, the stack of entered spans, every layer's per-span filter. Where the
//! metrics are all the telemetry does (no OTLP export), `Counted` keeps a span of the
//! library's as one small entry of its own (its start, its tool, its outcome), and its
//! `enter` and `exit` cost nothing.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use sharded_slab::Slab;
use thread_local::ThreadLocal;
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_core::span::Current;

use super::metrics::{Metrics, Timed};
use super::span::{METRIC_TARGET, TARGET};

/// The bit that marks an id as one of `Counted`'s: the wrapped subscriber's ids (a
/// `Registry`'s carry a generation in their high bits) that have it too are aliased.
const OURS: u64 = 1 << 63;
/// With [`OURS`]: an alias of the wrapped subscriber's id.
const ALIAS: u64 = 1 << 62;

/// The library's span ids: slab keys, their two high bits free for [`OURS`] and [`ALIAS`].
struct Keys;

impl sharded_slab::Config for Keys {
    const RESERVED_BITS: usize = 2;
}

/// One open span of the library's.
struct Entry {
    /// The span's callsite (its name: [`CALL`](super::span::CALL),
    /// [`LAYER`](super::span::LAYER), …).
    metadata: &'static Metadata<'static>,
    /// Its handles: the span closes when the last is dropped.
    refs: AtomicUsize,
    timed: Mutex<Timed>,
}

/// The wrapped subscriber's ids that collide with [`OURS`], and the aliases they go by.
#[derive(Default)]
struct Aliases {
    next: u64,
    inner: HashMap<u64, u64>,
    alias: HashMap<u64, u64>,
}

/// A `tracing` subscriber that counts the library's spans and metric events (targets
/// `airlock.span` and `airlock.metric`) into [`Metrics`], at a fraction of what
/// [`MetricsLayer`](super::MetricsLayer) costs, and passes every other span and event to
/// `inner` (your logging): made by [`Metrics::subscriber`].
///
/// The library's spans are not seen by `inner`: use it where nothing else reads them (no
/// OTLP traces; [`Telemetry::counts_alone`](super::Telemetry::counts_alone) says when).
///
/// ```
/// use agent_airlock::telemetry::Metrics;
///
/// let metrics = Metrics::new(200);
/// let logs = tracing_subscriber::fmt().with_writer(std::io::stderr).finish();
/// tracing::subscriber::set_global_default(metrics.subscriber(logs))?;
/// // … serve; `metrics.encode()` is the Prometheus text.
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Counted<S> {
    metrics: Metrics,
    inner: S,
    spans: Slab<Entry, Keys>,
    aliases: Mutex<Aliases>,
    /// The spans each thread is in, innermost last (ours and the wrapped subscriber's, by
    /// the ids they go by out here).
    entered: ThreadLocal<RefCell<Vec<u64>>>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for Counted<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counted")
            .field("metrics", &self.metrics)
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// A subscriber that counts the library's spans and metric events here, and passes
    /// everything else to `inner`: see [`Counted`].
    pub fn subscriber<S: Subscriber>(&self, inner: S) -> Counted<S> {
        Counted {
            metrics: self.clone(),
            inner,
            spans: Slab::new_with_config::<Keys>(),
            aliases: Mutex::new(Aliases::default()),
            entered: ThreadLocal::new(),
        }
    }
}

/// Whose an id is.
enum Whose {
    /// A span of the library's, by its slab key.
    Ours(usize),
    /// A span of the wrapped subscriber, by its own id.
    Inner(Id),
}

fn ours(metadata: &Metadata<'_>) -> bool {
    matches!(metadata.target(), TARGET | METRIC_TARGET)
}

impl<S: Subscriber> Counted<S> {
    fn whose(&self, id: &Id) -> Option<Whose> {
        let value = id.into_u64();
        if value & OURS == 0 {
            return Some(Whose::Inner(id.clone()));
        }
        if value & ALIAS == 0 {
            return usize::try_from(value & !OURS).ok().map(Whose::Ours);
        }
        let aliases = self.aliases.lock().unwrap_or_else(|e| e.into_inner());
        aliases
            .alias
            .get(&value)
            .map(|&id| Whose::Inner(Id::from_u64(id)))
    }

    /// The id the wrapped subscriber's `id` goes by out here.
    fn outer(&self, id: Id) -> Id {
        let value = id.into_u64();
        if value & OURS == 0 {
            return id;
        }
        let mut aliases = self.aliases.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&alias) = aliases.inner.get(&value) {
            return Id::from_u64(alias);
        }
        aliases.next += 1;
        let alias = OURS | ALIAS | aliases.next;
        aliases.inner.insert(value, alias);
        aliases.alias.insert(alias, value);
        Id::from_u64(alias)
    }

    fn forget(&self, id: &Id) {
        let value = id.into_u64();
        if value & OURS == 0 {
            return;
        }
        let mut aliases = self.aliases.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(alias) = aliases.inner.remove(&value) {
            aliases.alias.remove(&alias);
        }
    }
}

impl<S: Subscriber> Subscriber for Counted<S> {
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        self.inner.on_register_dispatch(subscriber);
    }

    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if ours(metadata) {
            Interest::always()
        } else {
            self.inner.register_callsite(metadata)
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        // The library's spans and events are at `DEBUG`.
        self.inner
            .max_level_hint()
            .map(|level| level.max(LevelFilter::DEBUG))
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        ours(metadata) || self.inner.enabled(metadata)
    }

    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let metadata = attrs.metadata();
        if metadata.target() != TARGET {
            return self.outer(self.inner.new_span(attrs));
        }
        let entry = Entry {
            metadata,
            refs: AtomicUsize::new(1),
            timed: Mutex::new(self.metrics.timed(attrs)),
        };
        match self.spans.insert(entry) {
            Some(key) => Id::from_u64(OURS | key as u64),
            // The slab is full (billions of open spans): this one is not counted.
            None => Id::from_u64(OURS | (1 << 61)),
        }
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        match self.whose(span) {
            Some(Whose::Ours(key)) => {
                if let Some(entry) = self.spans.get(key) {
                    let mut timed = entry.timed.lock().unwrap_or_else(|e| e.into_inner());
                    self.metrics.record(&mut timed, values);
                }
            }
            Some(Whose::Inner(id)) => self.inner.record(&id, values),
            None => {}
        }
    }

    fn record_follows_from(&self, span: &Id, follows: &Id) {
        if let (Some(Whose::Inner(span)), Some(Whose::Inner(follows))) =
            (self.whose(span), self.whose(follows))
        {
            self.inner.record_follows_from(&span, &follows);
        }
    }

    fn event_enabled(&self, event: &Event<'_>) -> bool {
        ours(event.metadata()) || self.inner.event_enabled(event)
    }

    fn event(&self, event: &Event<'_>) {
        if event.metadata().target() == METRIC_TARGET {
            self.metrics.count(event);
        } else if !ours(event.metadata()) {
            self.inner.event(event);
        }
    }

    fn enter(&self, span: &Id) {
        self.entered
            .get_or_default()
            .borrow_mut()
            .push(span.into_u64());
        if let Some(Whose::Inner(id)) = self.whose(span) {
            self.inner.enter(&id);
        }
    }

    fn exit(&self, span: &Id) {
        if let Some(Whose::Inner(id)) = self.whose(span) {
            self.inner.exit(&id);
        }
        if let Some(entered) = self.entered.get() {
            let mut entered = entered.borrow_mut();
            // Spans are left in the order they were entered, but need not be.
            if let Some(at) = entered.iter().rposition(|id| *id == span.into_u64()) {
                entered.remove(at);
            }
        }
    }

    fn clone_span(&self, span: &Id) -> Id {
        match self.whose(span) {
            Some(Whose::Ours(key)) => {
                if let Some(entry) = self.spans.get(key) {
                    entry.refs.fetch_add(1, Ordering::Relaxed);
                }
                span.clone()
            }
            Some(Whose::Inner(id)) => self.outer(self.inner.clone_span(&id)),
            None => span.clone(),
        }
    }

    fn try_close(&self, span: Id) -> bool {
        match self.whose(&span) {
            Some(Whose::Ours(key)) => {
                let last = match self.spans.get(key) {
                    Some(entry) => entry.refs.fetch_sub(1, Ordering::AcqRel) == 1,
                    None => return false,
                };
                if last && let Some(entry) = self.spans.take(key) {
                    let timed = entry.timed.into_inner().unwrap_or_else(|e| e.into_inner());
                    self.metrics.close(entry.metadata.name(), timed);
                }
                last
            }
            Some(Whose::Inner(id)) => {
                let closed = self.inner.try_close(id.clone());
                if closed {
                    self.forget(&id);
                }
                closed
            }
            None => false,
        }
    }

    fn current_span(&self) -> Current {
        let innermost = self
            .entered
            .get()
            .and_then(|entered| entered.borrow().last().copied());
        if let Some(innermost) = innermost {
            let id = Id::from_u64(innermost);
            if let Some(Whose::Ours(key)) = self.whose(&id) {
                return match self.spans.get(key) {
                    Some(entry) => Current::new(id, entry.metadata),
                    None => Current::none(),
                };
            }
        }
        let current = self.inner.current_span();
        match (current.id(), current.metadata()) {
            (Some(id), Some(metadata)) => Current::new(self.outer(id.clone()), metadata),
            _ => current,
        }
    }
}
