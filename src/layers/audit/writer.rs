//! The writer thread and the bounded queue in front of it.
//!
//! Callers take a permit from a semaphore of `queue_capacity` permits before their call
//! runs; when the record is queued the permit is forgotten, and the writer adds the places
//! back only once the records are written. So the capacity bounds the records not yet on
//! file, not just the ones waiting in the queue, and a record that cannot be written keeps
//! its place: it is retried, never dropped. Records travel as frames in one byte buffer
//! (see `wire`): nothing the caller allocates is freed by the writer.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::config::{Fsync, OnFull};
use super::record::Encoder;
use super::sink::AuditSink;
use super::wire::{EventRef, Take};

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

#[derive(Default)]
struct Queue {
    /// Record frames, back to back.
    frames: Vec<u8>,
    /// How many frames `frames` holds.
    records: usize,
    /// Flushes asked for since the last pass, answered once the frames before them are
    /// written and synced.
    flushes: Vec<oneshot::Sender<io::Result<()>>>,
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
    /// Just drained a batch under traffic: it looks again within its linger time.
    Lingering,
    /// Idle: only a push wakes it.
    Sleeping,
}

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

    /// Queues one record frame; its place in the queue (`permit`) is given back by the
    /// writer once the record is written.
    pub(super) fn push(&self, frame: &[u8], permit: OwnedSemaphorePermit) {
        let mut queue = self.lock();
        queue.frames.extend_from_slice(frame);
        queue.records += 1;
        permit.forget();
        let wake = match queue.waiting {
            Waiting::Busy => false,
            Waiting::Sleeping => true,
            Waiting::Lingering => queue.records >= self.wake_batch,
        };
        drop(queue);
        if wake {
            self.wake.notify_one();
        }
    }

    /// Asks the writer to write and sync everything queued so far, then answer on `reply`.
    pub(super) fn flush(&self, reply: oneshot::Sender<io::Result<()>>) {
        let mut queue = self.lock();
        queue.flushes.push(reply);
        let wake = queue.waiting != Waiting::Busy;
        drop(queue);
        if wake {
            self.wake.notify_one();
        }
    }

    pub(super) fn stats(&self) -> AuditStats {
        AuditStats {
            written: self.written.load(Ordering::Relaxed),
            failed_writes: self.failed_writes.load(Ordering::Relaxed),
            failed_syncs: self.failed_syncs.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            pending: (self.capacity - self.permits.available_permits().min(self.capacity)) as u64,
        }
    }

    pub(super) fn close(&self) {
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
    linger: Duration,
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
        spare: Drained::default(),
        linger,
        last_pass: None,
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
    /// The buffers of the last pass, swapped back into the queue.
    spare: Drained,
    /// Under traffic, the least time between two passes.
    linger: Duration,
    /// When the last pass started.
    last_pass: Option<Instant>,
}

/// What one pass takes from the queue.
#[derive(Default)]
struct Drained {
    frames: Vec<u8>,
    records: usize,
    flushes: Vec<oneshot::Sender<io::Result<()>>>,
}

/// A queue buffer larger than this is not kept for reuse after a burst.
const MAX_SPARE_BYTES: usize = 8 * 1024 * 1024;

impl Writer {
    fn run(mut self) {
        let mut batch = Batch::with_capacity(64 * 1024);
        loop {
            let Some(mut drained) = self.next_items() else {
                self.sync();
                return;
            };
            let mut frames = Take::new(&drained.frames);
            let mut read = 0;
            while read < drained.records {
                if batch.is_empty() {
                    batch.first_seq = self.encoder.seq + 1;
                }
                match frames.frame() {
                    Some(frame) => {
                        self.encode(frame, &mut batch.bytes);
                        batch.records += 1;
                        read += 1;
                    }
                    None => {
                        // Frames are pushed whole, so this cannot happen; were the buffer
                        // ever garbled, the chain says so once and every place comes back.
                        self.encoder.encode_unreadable(&mut batch.bytes);
                        batch.records += drained.records - read;
                        read = drained.records;
                    }
                }
                if batch.bytes.len() >= MAX_BATCH_BYTES {
                    self.write(&mut batch);
                }
            }
            self.write(&mut batch);
            if !drained.flushes.is_empty() {
                let result = self.sink.sync();
                if result.is_ok() {
                    self.dirty = false;
                    self.last_sync = Instant::now();
                }
                for reply in drained.flushes.drain(..) {
                    let _ = reply.send(match &result {
                        Ok(()) => Ok(()),
                        Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
                    });
                }
            }
            if drained.frames.capacity() > MAX_SPARE_BYTES {
                drained.frames = Vec::new();
            }
            drained.frames.clear();
            drained.records = 0;
            self.spare = drained;
            match self.fsync {
                Fsync::Every(interval) if self.last_sync.elapsed() >= interval => self.sync(),
                _ => {}
            }
        }
    }

    fn encode(&mut self, frame: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        match EventRef::read(frame) {
            Some(event) => self.encoder.encode(event, out),
            // Frames are made by this crate's caller path: a frame that does not read is a
            // bug, recorded (in the chain) rather than skipped.
            None => self.encoder.encode_unreadable(out),
        }
        let line = &out[start..out.len() - 1];
        tracing::info!(
            target: "agent_airlock::audit",
            seq = self.encoder.seq,
            record = %String::from_utf8_lossy(line),
            "audit record"
        );
    }

    /// Waits for work; `None` once closed and drained.
    ///
    /// Under traffic a pass starts at most once per linger time (or sooner when a good
    /// batch is waiting, a flush is asked for, or the writer is closed), so records are
    /// written in batches rather than one by one; after a quiet linger time the writer
    /// sleeps until the next record, which it then takes at once.
    fn next_items(&mut self) -> Option<Drained> {
        let mut queue = self.shared.lock();
        loop {
            let rest = self
                .last_pass
                .map_or(Duration::ZERO, |t| self.linger.saturating_sub(t.elapsed()));
            let has = queue.records > 0;
            if !queue.flushes.is_empty()
                || (has
                    && (rest.is_zero() || queue.closed || queue.records >= self.shared.wake_batch))
            {
                self.last_pass = Some(Instant::now());
                // Swap in the drained buffers, so pushes reuse their capacity.
                let mut drained = std::mem::take(&mut self.spare);
                std::mem::swap(&mut drained.frames, &mut queue.frames);
                std::mem::swap(&mut drained.records, &mut queue.records);
                std::mem::swap(&mut drained.flushes, &mut queue.flushes);
                return Some(drained);
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
            queue = if rest.is_zero() {
                self.shared.wait(queue, sync_in, Waiting::Sleeping)
            } else {
                // Within the linger time of the last pass: gather what comes.
                let wait = sync_in.map_or(rest, |s| s.min(rest));
                self.shared.wait(queue, Some(wait), Waiting::Lingering)
            };
        }
    }

    /// Writes the batch, retrying until it succeeds; then gives its places in the queue back.
    fn write(&mut self, batch: &mut Batch) {
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
                            records = batch.records,
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
            .fetch_add(batch.records as u64, Ordering::Relaxed);
        self.shared.permits.add_permits(batch.records);
        batch.bytes.clear();
        batch.records = 0;
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
    records: usize,
}

impl Batch {
    fn with_capacity(n: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(n),
            first_seq: 0,
            records: 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// What the services and the calls in flight of one layer share.
#[derive(Debug)]
pub(crate) struct Handle {
    pub(crate) shared: Arc<Shared>,
    pub(crate) on_full: OnFull,
    pub(crate) keep_output: bool,
    pub(crate) max_argument_bytes: usize,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditWriter")
            .field("stats", &self.stats())
            .finish()
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.close();
    }
}
