//! Phase 8, record: calls and their attempts go through a bounded queue to a batch writer,
//! off the hot path. A full queue or a failing store drops records, and every drop is
//! counted in `/metrics` and logged.
//!
//! Batches are written at background priority while the queue stays short, so that writing
//! never delays a call on a busy core, and at normal priority once records pile up (a quarter
//! of the queue) or the gateway is stopping, so that a saturated gateway still writes them all.
//! Background batches are small (an eighth of `batch_size`): a background write that load
//! arrives in the middle of gets almost no CPU until it ends, and holds the store's write lock
//! meanwhile, so its size bounds how long urgent batches wait behind it.

use crate::observe::{Metrics, Reason};
use seam_config::StoreConfig;
use seam_store::{AttemptRecord, CallRecord, Priority, RecordBatch, RecordSink};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

pub struct Entry {
    pub call: CallRecord,
    pub attempts: Vec<AttemptRecord>,
    pub stream: Option<seam_store::StreamRecord>,
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
    metrics: Arc<Metrics>,
    last_drop_log_ms: Arc<AtomicI64>,
}

/// The writer task; [`RecordWriter::finish`] flushes what is queued and stops it.
pub struct RecordWriter {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl RecordWriter {
    pub async fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

impl Recorder {
    pub fn spawn(
        sink: Arc<dyn RecordSink>,
        cfg: &StoreConfig,
        metrics: Arc<Metrics>,
    ) -> (Recorder, RecordWriter) {
        let (tx, rx) = mpsc::channel(cfg.queue_capacity);
        let (stop, stop_rx) = oneshot::channel();
        let task = tokio::spawn(write_loop(
            sink,
            rx,
            stop_rx,
            Flow {
                batch_size: cfg.batch_size,
                background_batch_size: (cfg.batch_size / 8).max(1),
                flush_interval: cfg.flush_interval,
                urgent_depth: (cfg.queue_capacity / 4).max(1),
            },
            metrics.clone(),
        ));
        (
            Recorder {
                tx,
                metrics,
                last_drop_log_ms: Arc::new(AtomicI64::new(0)),
            },
            RecordWriter { stop, task },
        )
    }

    /// Queues a call's records without waiting.
    pub fn record(&self, entry: Box<Entry>) {
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
                let now = crate::now_ms();
                let last = self.last_drop_log_ms.load(Ordering::Relaxed);
                if now - last >= 1000
                    && self
                        .last_drop_log_ms
                        .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                {
                    tracing::warn!(
                        reason,
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
}

/// Drains the queue on a fixed tick rather than waking per record: a busy gateway then pays
/// nothing per call for the writer, and records wait at most one flush interval.
async fn write_loop(
    sink: Arc<dyn RecordSink>,
    mut rx: mpsc::Receiver<Box<Entry>>,
    mut stop: oneshot::Receiver<()>,
    flow: Flow,
    metrics: Arc<Metrics>,
) {
    let mut batch: Vec<Entry> = Vec::with_capacity(flow.batch_size);
    let mut tick = tokio::time::interval(flow.flush_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stopping = false;
    while !stopping {
        tokio::select! {
            _ = tick.tick() => {}
            _ = &mut stop => stopping = true,
        }
        if stopping {
            rx.close();
        }
        loop {
            let (priority, size) = if stopping || rx.len() >= flow.urgent_depth {
                (Priority::Normal, flow.batch_size)
            } else {
                (Priority::Background, flow.background_batch_size)
            };
            while batch.len() < size {
                match rx.try_recv() {
                    Ok(e) => batch.push(*e),
                    Err(_) => break,
                }
            }
            if batch.is_empty() {
                break;
            }
            flush(sink.as_ref(), &mut batch, priority, &metrics).await;
        }
    }
}

async fn flush(
    sink: &dyn RecordSink,
    batch: &mut Vec<Entry>,
    priority: Priority,
    metrics: &Metrics,
) {
    let entries = std::mem::take(batch);
    metrics.record_queue.dec_by(entries.len() as i64);
    let mut records = RecordBatch {
        calls: Vec::with_capacity(entries.len()),
        attempts: Vec::with_capacity(entries.len()),
        streams: Vec::new(),
    };
    for e in entries {
        records.calls.push(e.call);
        records.attempts.extend(e.attempts);
        records.streams.extend(e.stream);
    }
    let rows = records.rows();
    let records = Arc::new(records);
    let mut delay = Duration::from_millis(50);
    for attempt in 1..=3 {
        match sink.write(records.clone(), priority).await {
            Ok(()) => {
                metrics.records_written.inc_by(rows);
                return;
            }
            Err(e) if attempt < 3 => {
                tracing::warn!(error = %e, attempt, "writing records failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 4;
            }
            Err(e) => {
                tracing::error!(error = %e, rows, "writing records failed; dropping this batch");
                metrics
                    .records_dropped
                    .get_or_create(&Reason {
                        reason: "store_error".into(),
                    })
                    .inc_by(rows);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;

    /// A sink whose writes fail or succeed on command, and which remembers each batch's
    /// priority.
    #[derive(Default)]
    struct FlakySink {
        fail: bool,
        writes: AtomicUsize,
        /// Each write's priority and calls.
        priorities: Mutex<Vec<(Priority, usize)>>,
    }

    #[async_trait::async_trait]
    impl RecordSink for FlakySink {
        async fn write(
            &self,
            batch: Arc<RecordBatch>,
            priority: Priority,
        ) -> seam_store::Result<()> {
            self.writes.fetch_add(1, Ordering::Relaxed);
            self.priorities
                .lock()
                .unwrap()
                .push((priority, batch.calls.len()));
            if self.fail {
                Err(seam_store::StoreError::Invalid("down".into()))
            } else {
                Ok(())
            }
        }
    }

    fn entry(id: &str) -> Box<Entry> {
        let call = seam_store::conformance::sample_call(id, 1, "t");
        let attempts = vec![seam_store::conformance::sample_attempt(&call, 1, true)];
        Box::new(Entry {
            call,
            attempts,
            stream: None,
        })
    }

    fn cfg(capacity: usize) -> StoreConfig {
        StoreConfig {
            url: String::new(),
            max_connections: 1,
            batch_size: 16,
            queue_capacity: capacity,
            flush_interval: Duration::from_millis(10),
        }
    }

    fn dropped(m: &Metrics, reason: &str) -> u64 {
        m.records_dropped
            .get_or_create(&Reason {
                reason: reason.into(),
            })
            .get()
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_queue_drops_and_counts() {
        let metrics = Metrics::new();
        let sink = Arc::new(FlakySink::default());
        let (rec, writer) = Recorder::spawn(sink.clone(), &cfg(1), metrics.clone());
        rec.record(entry("a"));
        rec.record(entry("b"));
        rec.record(entry("c"));
        assert_eq!(
            dropped(&metrics, "queue_full"),
            4,
            "two calls of two rows each"
        );
        writer.finish().await;
        assert_eq!(sink.writes.load(Ordering::Relaxed), 1);
        assert_eq!(metrics.records_written.get(), 2);
        assert_eq!(metrics.record_queue.get(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_store_is_retried_then_counted() {
        let metrics = Metrics::new();
        let sink = Arc::new(FlakySink {
            fail: true,
            ..FlakySink::default()
        });
        let (rec, writer) = Recorder::spawn(sink.clone(), &cfg(8), metrics.clone());
        rec.record(entry("a"));
        writer.finish().await;
        assert_eq!(sink.writes.load(Ordering::Relaxed), 3, "three tries");
        assert_eq!(dropped(&metrics, "store_error"), 2);
        assert_eq!(metrics.records_written.get(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn batches_go_at_background_priority_until_records_pile_up() {
        let metrics = Metrics::new();
        let sink = Arc::new(FlakySink::default());
        // Capacity 64: from 16 queued calls on, batches are urgent; 16 calls per batch, 2 in
        // the background.
        let (rec, writer) = Recorder::spawn(sink.clone(), &cfg(64), metrics.clone());
        for i in 0..8 {
            rec.record(entry(&format!("few-{i}")));
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
        for i in 0..48 {
            rec.record(entry(&format!("many-{i}")));
        }
        tokio::time::sleep(Duration::from_millis(12)).await;
        rec.record(entry("last"));
        writer.finish().await;
        use Priority::{Background, Normal};
        assert_eq!(
            *sink.priorities.lock().unwrap(),
            vec![
                // 8 queued: background batches of 2 calls
                (Background, 2),
                (Background, 2),
                (Background, 2),
                (Background, 2),
                // 48 queued: full batches at normal priority while 16 or more wait
                (Normal, 16),
                (Normal, 16),
                (Normal, 16),
                // stopping
                (Normal, 1),
            ]
        );
        assert_eq!(metrics.records_written.get(), 2 * 57);
    }
}
