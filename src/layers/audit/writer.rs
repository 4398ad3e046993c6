//! The writer thread and the bounded queue in front of it.
//!
//! Callers take a permit from a semaphore of `queue_capacity` permits before their call
//! runs; the record carries the permit into the queue, and the writer releases it only once
//! the record is written. So the capacity bounds the records not yet on file, not just the
//! ones waiting in the queue, and a record that cannot be written keeps its place: it is
//! retried, never dropped.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::config::Fsync;
use super::record::{Encoder, Event};
use super::sink::AuditSink;

/// Most bytes written in one `append`.
const MAX_BATCH_BYTES: usize = 1024 * 1024;
/// Longest wait between two attempts at a failing sink.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Counters of the audit writer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditStats {
    /// Records written to the sink.
    pub written: u64,
    /// Failed attempts to write (each retried; a record is never dropped).
    pub failed_writes: u64,
    /// Failed syncs to durable storage.
    pub failed_syncs: u64,
    /// Calls refused because the log could not take their record (fail-closed mode).
    pub refused: u64,
    /// Places taken in the queue: calls in flight and records not yet written.
    pub pending: u64,
}

// Records are the traffic and flushes are rare: a box per record would cost an allocation
// and a cross-thread free on every call.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Msg {
    Record(Event, OwnedSemaphorePermit),
    Flush(oneshot::Sender<io::Result<()>>),
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Msg>,
    closed: bool,
    /// What the writer is doing; a push wakes it only when it sleeps, or lingers with a
    /// good batch waiting (a futex wake and a context switch cost more than the push).
    waiting: Waiting,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Waiting {
    /// Writing: it will look at the queue again by itself.
    #[default]
    Busy,
    /// Just drained a batch under traffic: it looks again within [`LINGER`].
    Lingering,
    /// Idle: only a push wakes it.
    Sleeping,
}

/// How long the writer waits for more records after a pass under traffic, before it
/// sleeps until woken. Records are on file this much later at most; durability is set by
/// `fsync` anyway.
const LINGER: Duration = Duration::from_millis(1);

pub(crate) struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    pub permits: Arc<Semaphore>,
    capacity: usize,
    /// Queued records that wake a lingering writer early.
    wake_batch: usize,
    written: AtomicU64,
    failed_writes: AtomicU64,
    failed_syncs: AtomicU64,
    pub refused: AtomicU64,
    /// False while the sink is failing.
    pub healthy: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic elsewhere never leaves the queue half-updated: push and drain are single
        // calls. Keep recording.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn push(&self, msg: Msg) {
        let flush = matches!(msg, Msg::Flush(_));
        let mut queue = self.lock();
        queue.items.push_back(msg);
        let wake = match queue.waiting {
            Waiting::Busy => false,
            Waiting::Sleeping => true,
            Waiting::Lingering => flush || queue.items.len() >= self.wake_batch,
        };
        drop(queue);
        if wake {
            self.wake.notify_one();
        }
    }

    pub fn stats(&self) -> AuditStats {
        AuditStats {
            written: self.written.load(Ordering::Relaxed),
            failed_writes: self.failed_writes.load(Ordering::Relaxed),
            failed_syncs: self.failed_syncs.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            pending: (self.capacity - self.permits.available_permits().min(self.capacity)) as u64,
        }
    }

    pub fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_one();
    }

    fn wait<'a>(
        &self,
        mut queue: MutexGuard<'a, Queue>,
        timeout: Option<Duration>,
        mode: Waiting,
    ) -> MutexGuard<'a, Queue> {
        queue.waiting = mode;
        let mut queue = match timeout {
            Some(t) => {
                self.wake
                    .wait_timeout(queue, t)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
            None => self.wake.wait(queue).unwrap_or_else(|e| e.into_inner()),
        };
        queue.waiting = Waiting::Busy;
        queue
    }
}

/// Starts the writer thread.
pub(crate) fn spawn(
    sink: Box<dyn AuditSink>,
    encoder: Encoder,
    fsync: Fsync,
    capacity: usize,
) -> io::Result<Arc<Shared>> {
    let capacity = capacity.clamp(1, Semaphore::MAX_PERMITS);
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue::default()),
        wake: Condvar::new(),
        permits: Arc::new(Semaphore::new(capacity)),
        capacity,
        wake_batch: (capacity / 4).clamp(1, 256),
        written: AtomicU64::new(0),
        failed_writes: AtomicU64::new(0),
        failed_syncs: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        healthy: AtomicBool::new(true),
    });
    let writer = Writer {
        shared: shared.clone(),
        sink,
        encoder,
        fsync,
        dirty: false,
        last_sync: Instant::now(),
        spare: VecDeque::new(),
    };
    std::thread::Builder::new()
        .name("airlock-audit".into())
        .spawn(move || writer.run())?;
    Ok(shared)
}

struct Writer {
    shared: Arc<Shared>,
    sink: Box<dyn AuditSink>,
    encoder: Encoder,
    fsync: Fsync,
    dirty: bool,
    last_sync: Instant,
    spare: VecDeque<Msg>,
}

impl Writer {
    fn run(mut self) {
        let mut batch = Batch::with_capacity(64 * 1024);
        let mut permits: Vec<OwnedSemaphorePermit> = Vec::new();
        loop {
            let Some(mut items) = self.next_items() else {
                self.sync();
                return;
            };
            for msg in items.drain(..) {
                match msg {
                    Msg::Record(event, permit) => {
                        let first_seq = self.encoder.seq + 1;
                        if batch.is_empty() {
                            batch.push_first_seq(first_seq);
                        }
                        self.encode(event, &mut batch);
                        permits.push(permit);
                        if batch.bytes.len() >= MAX_BATCH_BYTES {
                            self.write(&mut batch, &mut permits);
                        }
                    }
                    Msg::Flush(reply) => {
                        self.write(&mut batch, &mut permits);
                        let result = self.sink.sync();
                        if result.is_ok() {
                            self.dirty = false;
                            self.last_sync = Instant::now();
                        }
                        let _ = reply.send(result);
                    }
                }
            }
            self.spare = items;
            self.write(&mut batch, &mut permits);
            match self.fsync {
                Fsync::Every(interval) if self.last_sync.elapsed() >= interval => self.sync(),
                _ => {}
            }
        }
    }

    fn encode(&mut self, event: Event, batch: &mut Batch) {
        let start = batch.bytes.len();
        self.encoder.encode(event, &mut batch.bytes);
        let line = &batch.bytes[start..batch.bytes.len() - 1];
        tracing::info!(
            target: "agent_airlock::audit",
            seq = self.encoder.seq,
            record = %String::from_utf8_lossy(line),
            "audit record"
        );
    }

    /// Waits for work; `None` once closed and drained.
    fn next_items(&mut self) -> Option<VecDeque<Msg>> {
        let mut queue = self.shared.lock();
        let mut linger = true;
        loop {
            if !queue.items.is_empty() {
                // Swap in the drained buffer, so pushes reuse its capacity.
                let mut items = std::mem::take(&mut self.spare);
                std::mem::swap(&mut items, &mut queue.items);
                return Some(items);
            }
            if queue.closed {
                return None;
            }
            let sync_in = match self.fsync {
                Fsync::Every(interval) if self.dirty => {
                    let since = self.last_sync.elapsed();
                    if since >= interval {
                        drop(queue);
                        self.sync();
                        queue = self.shared.lock();
                        continue;
                    }
                    Some(interval - since)
                }
                _ => None,
            };
            if linger {
                // Under traffic more records come soon: take them in one pass.
                linger = false;
                let wait = sync_in.map_or(LINGER, |s| s.min(LINGER));
                queue = self.shared.wait(queue, Some(wait), Waiting::Lingering);
            } else {
                queue = self.shared.wait(queue, sync_in, Waiting::Sleeping);
            }
        }
    }

    /// Writes the batch, retrying until it succeeds; then releases its permits.
    fn write(&mut self, batch: &mut Batch, permits: &mut Vec<OwnedSemaphorePermit>) {
        if batch.bytes.is_empty() {
            return;
        }
        let mut backoff = Duration::from_millis(10);
        loop {
            match self.sink.append(&batch.bytes, batch.first_seq) {
                Ok(()) => break,
                Err(e) => {
                    self.shared.failed_writes.fetch_add(1, Ordering::Relaxed);
                    if self.shared.healthy.swap(false, Ordering::Relaxed) {
                        tracing::error!(
                            target: "agent_airlock::audit",
                            error = %e,
                            records = permits.len(),
                            "cannot write the audit log; retrying (calls wait or are refused)"
                        );
                    }
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        if !self.shared.healthy.swap(true, Ordering::Relaxed) {
            tracing::info!(target: "agent_airlock::audit", "the audit log is writable again");
        }
        self.dirty = true;
        if self.fsync == Fsync::Always {
            self.sync();
        }
        self.shared
            .written
            .fetch_add(permits.len() as u64, Ordering::Relaxed);
        batch.bytes.clear();
        permits.clear(); // releases the places in the queue
    }

    fn sync(&mut self) {
        if !self.dirty {
            return;
        }
        match self.sink.sync() {
            Ok(()) => self.dirty = false,
            Err(e) => {
                self.shared.failed_syncs.fetch_add(1, Ordering::Relaxed);
                tracing::error!(target: "agent_airlock::audit", error = %e, "cannot sync the audit log");
            }
        }
        self.last_sync = Instant::now();
    }
}

/// Encoded lines waiting for one `append`.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    first_seq: u64,
}

impl Batch {
    fn with_capacity(n: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(n),
            first_seq: 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn push_first_seq(&mut self, seq: u64) {
        self.first_seq = seq;
    }
}
