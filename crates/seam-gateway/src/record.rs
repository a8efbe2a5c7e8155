//! Phase 8, record: calls and their attempts go through a bounded queue to a batch writer,
//! off the hot path. A full queue or a failing store drops records, and every drop is
//! counted in `/metrics` and logged.

use crate::observe::{Metrics, Reason};
use seam_config::StoreConfig;
use seam_store::{AttemptRecord, CallRecord, Store};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

pub struct Entry {
    pub call: CallRecord,
    pub attempts: Vec<AttemptRecord>,
}

impl Entry {
    fn rows(&self) -> u64 {
        1 + self.attempts.len() as u64
    }
}

#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Entry>,
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
        store: Arc<dyn Store>,
        cfg: &StoreConfig,
        metrics: Arc<Metrics>,
    ) -> (Recorder, RecordWriter) {
        let (tx, rx) = mpsc::channel(cfg.queue_capacity);
        let (stop, stop_rx) = oneshot::channel();
        let task = tokio::spawn(write_loop(
            store,
            rx,
            stop_rx,
            cfg.batch_size,
            cfg.flush_interval,
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
    pub fn record(&self, entry: Entry) {
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

async fn write_loop(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<Entry>,
    mut stop: oneshot::Receiver<()>,
    batch_size: usize,
    flush_interval: Duration,
    metrics: Arc<Metrics>,
) {
    let mut batch: Vec<Entry> = Vec::with_capacity(batch_size);
    loop {
        tokio::select! {
            biased;
            got = rx.recv() => match got {
                Some(e) => batch.push(e),
                None => break,
            },
            _ = &mut stop => break,
        }
        // Gather what else is waiting, up to a batch, for at most one flush interval.
        let deadline = tokio::time::Instant::now() + flush_interval;
        while batch.len() < batch_size {
            match rx.try_recv() {
                Ok(e) => batch.push(e),
                Err(_) if batch.len() >= batch_size / 8 => break,
                Err(_) => match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(e)) => batch.push(e),
                    _ => break,
                },
            }
        }
        flush(store.as_ref(), &mut batch, &metrics).await;
    }
    rx.close();
    while let Ok(e) = rx.try_recv() {
        batch.push(e);
        if batch.len() >= batch_size {
            flush(store.as_ref(), &mut batch, &metrics).await;
        }
    }
    flush(store.as_ref(), &mut batch, &metrics).await;
}

async fn flush(store: &dyn Store, batch: &mut Vec<Entry>, metrics: &Metrics) {
    if batch.is_empty() {
        return;
    }
    let entries = std::mem::take(batch);
    metrics.record_queue.dec_by(entries.len() as i64);
    let rows: u64 = entries.iter().map(Entry::rows).sum();
    let mut calls = Vec::with_capacity(entries.len());
    let mut attempts = Vec::with_capacity(entries.len());
    for e in entries {
        calls.push(e.call);
        attempts.extend(e.attempts);
    }
    let mut delay = Duration::from_millis(50);
    for attempt in 1..=3 {
        match store.insert_records(&calls, &attempts).await {
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
