//! Phase 9 of [`crate::pipeline`], record (through [`crate::finish`]): calls and their attempts go through a bounded queue to a batch writer
//! (`writer.rs`), off the hot path. While the store cannot take them, records wait in the
//! queue and then in a local spool on disk; only a full spool loses records, and every loss is
//! counted in `/metrics`, logged, and put on the timeline.
//!
//! Batches are written at background priority while the queue stays short, so that writing
//! never delays a call on a busy core, and at normal priority once records pile up (a quarter
//! of the queue) or the gateway is stopping, so that a saturated gateway still writes them all.
//! Background batches are small (an eighth of `batch_size`): a background write that load
//! arrives in the middle of gets almost no CPU until it ends, and holds the store's write lock
//! meanwhile, so its size bounds how long urgent batches wait behind it.

mod journal;
mod writer;

use crate::observe::{Metrics, Reason};
use seam_config::{Durability, StoreConfig};
use seam_store::spool::Spool;
use seam_store::{AttemptRecord, CallRecord, RecordSink};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

pub struct Entry {
    pub call: CallRecord,
    pub attempts: Vec<AttemptRecord>,
    pub stream: Option<seam_store::StreamRecord>,
    /// Content to keep, built when the writer takes the entry (see `capture.rs`).
    pub content: Option<crate::capture::Captured>,
}

impl Entry {
    fn rows(&self) -> u64 {
        1 + self.attempts.len() as u64 + u64::from(self.stream.is_some())
    }
}

#[derive(Clone)]
pub struct Recorder {
    /// Boxed: a call's records are large, and a box moves through the queue as a pointer.
    tx: mpsc::Sender<Box<Entry>>,
    /// With `durability = "acknowledged"`: to the spool first, and the call waits for it.
    journal: Option<mpsc::Sender<journal::Waiting>>,
    metrics: Arc<Metrics>,
    drop_log: Arc<crate::throttle::LogThrottle>,
}

/// The writer task; [`RecordWriter::finish`] writes what is queued (or spools it, when the
/// store is down) and stops it.
pub struct RecordWriter {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    journal: Option<(oneshot::Sender<()>, tokio::task::JoinHandle<()>)>,
    first_round: Option<oneshot::Receiver<()>>,
}

impl RecordWriter {
    /// Waits (at most `within`) until the writer has written what a previous run left in the
    /// spool, so that what is read from the store at start (the limits' re-seed) includes it.
    pub async fn caught_up(&mut self, within: Duration) {
        if let Some(done) = self.first_round.take()
            && tokio::time::timeout(within, done).await.is_err()
        {
            tracing::warn!(
                secs = within.as_secs(),
                "the records spool was not written within the wait; limits re-seed without what it still holds"
            );
        }
    }

    pub async fn finish(self) {
        if let Some((stop, task)) = self.journal {
            let _ = stop.send(());
            let _ = task.await;
        }
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Resolves once a call's records are durable (`durability = "acknowledged"`).
pub type Durable = oneshot::Receiver<()>;

/// Where the writer sends records.
pub struct Sinks {
    pub sink: Arc<dyn RecordSink>,
    /// Holds records while the store is down; `None` (an in-memory store): they wait in the
    /// queue only.
    pub spool: Option<Spool>,
    /// Where the writer puts an outage on the timeline once the store is back.
    pub events: crate::events::Events,
    pub durability: Durability,
}

impl Recorder {
    pub fn spawn(
        sinks: Sinks,
        cfg: &StoreConfig,
        metrics: Arc<Metrics>,
    ) -> (Recorder, RecordWriter) {
        let (tx, rx) = mpsc::channel(cfg.queue_capacity);
        let (stop, stop_rx) = oneshot::channel();
        let (first_tx, first_round) = oneshot::channel();
        let mut writer = writer::Writer {
            sink: sinks.sink,
            rx,
            flow: Flow {
                batch_size: cfg.batch_size,
                background_batch_size: (cfg.batch_size / 8).max(1),
                flush_interval: cfg.flush_interval,
                urgent_depth: (cfg.queue_capacity / 4).max(1),
                shed_content_depth: (cfg.queue_capacity / 2).max(1),
                spill_depth: (cfg.queue_capacity / 2).max(1),
            },
            metrics: metrics.clone(),
            spool: sinks.spool.map(|s| Arc::new(Mutex::new(s))),
            events: sinks.events,
            held: None,
            outage: None,
            spooled: false,
            journaled: false,
            first_round: Some(first_tx),
            contents_dropped: 0,
            contents_reported: None,
        };
        let mut journal = None;
        let mut journal_tx = None;
        if let (Durability::Acknowledged, Some(spool)) = (sinks.durability, &writer.spool) {
            let (jtx, jrx) = mpsc::channel(cfg.queue_capacity);
            let (jstop, jstop_rx) = oneshot::channel();
            let task = tokio::spawn(journal::run(
                jrx,
                jstop_rx,
                spool.clone(),
                tx.clone(),
                metrics.clone(),
            ));
            journal = Some((jstop, task));
            journal_tx = Some(jtx);
            writer.journaled = true;
        }
        let task = tokio::spawn(writer.run(stop_rx));
        (
            Recorder {
                tx,
                journal: journal_tx,
                metrics,
                drop_log: Arc::new(crate::throttle::LogThrottle::new(1000)),
            },
            RecordWriter {
                stop,
                task,
                journal,
                first_round: Some(first_round),
            },
        )
    }

    /// Hands a call's records over without waiting; with `durability = "acknowledged"`, the
    /// returned [`Durable`] resolves once they are in the spool, and the call's response must
    /// not complete before.
    pub fn record(&self, entry: Box<Entry>) -> Option<Durable> {
        if let Some(journal) = &self.journal {
            let (ack, durable) = oneshot::channel();
            match journal.try_send((entry, ack)) {
                Ok(()) => return Some(durable),
                // The journal is behind by a whole queue, or stopped: the queue takes it.
                Err(mpsc::error::TrySendError::Full((entry, _)))
                | Err(mpsc::error::TrySendError::Closed((entry, _))) => {
                    self.metrics.records_not_durable.inc();
                    self.queue(entry);
                    return None;
                }
            }
        }
        self.queue(entry);
        None
    }

    fn queue(&self, entry: Box<Entry>) {
        let rows = entry.rows();
        match self.tx.try_send(entry) {
            Ok(()) => {
                self.metrics.record_queue.inc();
            }
            Err(e) => {
                let reason = match e {
                    mpsc::error::TrySendError::Full(_) => "queue_full",
                    mpsc::error::TrySendError::Closed(_) => "writer_stopped",
                };
                self.metrics
                    .records_dropped
                    .get_or_create(&Reason {
                        reason: reason.into(),
                    })
                    .inc_by(rows);
                if let Some(skipped) = self.drop_log.due() {
                    tracing::warn!(
                        reason,
                        skipped,
                        "dropping call records; see seam_records_dropped_total"
                    );
                }
            }
        }
    }
}

struct Flow {
    batch_size: usize,
    background_batch_size: usize,
    flush_interval: Duration,
    /// Queued calls from which batches are written at normal priority.
    urgent_depth: usize,
    /// Queued calls from which batches go without their captured content: above the urgent
    /// depth, so that writing at normal priority gets its chance to catch up first.
    shed_content_depth: usize,
    /// Queued calls from which, while the store is down, the queue is moved to the spool.
    spill_depth: usize,
}

#[cfg(test)]
mod tests;
