//! [`Progress`]: where a tool reports how far along a call is, when the client asked to
//! hear it (MCP's `progressToken`).

use std::sync::Arc;

/// One report of a call's progress.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ProgressUpdate {
    /// How far along, in the tool's own units (increasing).
    pub progress: f64,
    /// Out of how much, when known.
    pub total: Option<f64>,
    /// What is happening, for a person.
    pub message: Option<String>,
}

/// In [`ToolCall::extensions`](super::ToolCall::extensions) when the client asked for the
/// call's progress: a tool reports with [`Progress::report`], the door streams each
/// report to the client before the answer. Messages are masked by the sanitize layer like
/// any output. Reporting never blocks; reports the client cannot take fast enough are
/// dropped.
///
/// ```
/// use agent_airlock::service::{Progress, ProgressUpdate};
/// use std::sync::{Arc, Mutex};
///
/// let heard = Arc::new(Mutex::new(Vec::new()));
/// let sink = heard.clone();
/// let progress = Progress::new(move |update: ProgressUpdate| sink.lock().unwrap().push(update));
/// progress.report(1.0, Some(2.0), Some("half way"));
/// assert_eq!(heard.lock().unwrap()[0].message.as_deref(), Some("half way"));
/// ```
#[derive(Clone)]
pub struct Progress(Arc<dyn Fn(ProgressUpdate) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

impl Progress {
    /// Reports go to `sink`.
    pub fn new(sink: impl Fn(ProgressUpdate) + Send + Sync + 'static) -> Self {
        Self(Arc::new(sink))
    }

    /// Reports `progress` (of `total`), with a message.
    pub fn report(&self, progress: f64, total: Option<f64>, message: Option<&str>) {
        (self.0)(ProgressUpdate {
            progress,
            total,
            message: message.map(str::to_owned),
        });
    }

    /// The same reports, each message through `mask` first.
    pub fn masked(&self, mask: impl Fn(&str) -> String + Send + Sync + 'static) -> Self {
        let inner = self.0.clone();
        Self(Arc::new(move |mut update: ProgressUpdate| {
            update.message = update.message.map(|m| mask(&m));
            inner(update)
        }))
    }
}
