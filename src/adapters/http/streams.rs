//! The event streams (`GET /mcp`) open now: how many each caller holds, and a signal per
//! session that ends its streams.

use std::collections::HashMap;
use std::sync::Arc;

/// The event streams open now: how many each caller holds, and a signal per session that
/// ends its streams.
#[derive(Debug)]
pub(super) struct OpenStreams {
    per_caller: usize,
    open: std::sync::Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    by_owner: HashMap<String, usize>,
    by_session: HashMap<String, (tokio::sync::watch::Sender<bool>, usize)>,
}

/// One open stream's place: given back when the stream ends.
pub(super) struct Held {
    streams: Arc<OpenStreams>,
    owner: String,
    session: String,
    pub(super) ended: tokio::sync::watch::Receiver<bool>,
}

impl OpenStreams {
    pub(super) fn new(per_caller: usize) -> Self {
        Self {
            per_caller,
            open: std::sync::Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A place for one more stream of `owner` on `session`, unless it holds its quota.
    pub(super) fn open(self: &Arc<Self>, owner: &str, session: &str) -> Option<Held> {
        let mut open = self.lock();
        // Callers without a credential cannot be told apart: the pool bounds them.
        let held = open.by_owner.entry(owner.to_owned()).or_default();
        if *held >= self.per_caller && crate::state::session::held_to_quota(owner) {
            return None;
        }
        *held += 1;
        let (sender, streams) = open
            .by_session
            .entry(session.to_owned())
            .or_insert_with(|| (tokio::sync::watch::channel(false).0, 0));
        *streams += 1;
        let ended = sender.subscribe();
        Some(Held {
            streams: self.clone(),
            owner: owner.to_owned(),
            session: session.to_owned(),
            ended,
        })
    }

    /// Ends every stream of `session` (it was ended).
    pub(super) fn end_session(&self, session: &str) {
        if let Some((sender, _)) = self.lock().by_session.get(session) {
            let _ = sender.send(true);
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut open = self.streams.lock();
        if let Some(n) = open.by_owner.get_mut(&self.owner) {
            *n -= 1;
            if *n == 0 {
                open.by_owner.remove(&self.owner);
            }
        }
        if let Some((_, n)) = open.by_session.get_mut(&self.session) {
            *n -= 1;
            if *n == 0 {
                open.by_session.remove(&self.session);
            }
        }
    }
}
