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
    pub stream: Option<seam_store::StreamRecord>,
}

impl Entry {
    fn rows(&self) -> u64 {
        1 + self.attempts.len() as u64 + u64::from(self.stream.is_some())
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

/// Drains the queue on a fixed tick rather than waking per record: a busy gateway then pays
/// nothing per call for the writer, and records wait at most one flush interval.
async fn write_loop(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<Entry>,
    mut stop: oneshot::Receiver<()>,
    batch_size: usize,
    flush_interval: Duration,
    metrics: Arc<Metrics>,
) {
    let mut batch: Vec<Entry> = Vec::with_capacity(batch_size);
    let mut tick = tokio::time::interval(flush_interval);
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
            while batch.len() < batch_size {
                match rx.try_recv() {
                    Ok(e) => batch.push(e),
                    Err(_) => break,
                }
            }
            if batch.is_empty() {
                break;
            }
            flush(store.as_ref(), &mut batch, &metrics).await;
        }
    }
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
    let mut streams = Vec::new();
    for e in entries {
        calls.push(e.call);
        attempts.extend(e.attempts);
        streams.extend(e.stream);
    }
    let mut delay = Duration::from_millis(50);
    for attempt in 1..=3 {
        match store.insert_records(&calls, &attempts, &streams).await {
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
    use seam_store::{CallQuery, KeyRecord, StoreError};
    use std::sync::atomic::AtomicUsize;

    /// A store whose writes fail or succeed on command.
    struct FlakyStore {
        fail: bool,
        writes: AtomicUsize,
    }

    #[async_trait::async_trait]
    impl Store for FlakyStore {
        async fn migrate(&self) -> seam_store::Result<i64> {
            Ok(1)
        }
        async fn insert_key(&self, _: &KeyRecord) -> seam_store::Result<()> {
            Ok(())
        }
        async fn list_keys(&self) -> seam_store::Result<Vec<KeyRecord>> {
            Ok(Vec::new())
        }
        async fn revoke_key(&self, _: &str, _: i64) -> seam_store::Result<Vec<KeyRecord>> {
            Ok(Vec::new())
        }
        async fn insert_records(
            &self,
            calls: &[CallRecord],
            _: &[AttemptRecord],
            _: &[seam_store::StreamRecord],
        ) -> seam_store::Result<()> {
            self.writes.fetch_add(calls.len(), Ordering::Relaxed);
            if self.fail {
                Err(StoreError::Invalid("disk full".into()))
            } else {
                Ok(())
            }
        }
        async fn list_calls(&self, _: &CallQuery) -> seam_store::Result<Vec<CallRecord>> {
            Ok(Vec::new())
        }
        async fn get_call(
            &self,
            _: &str,
        ) -> seam_store::Result<Option<(CallRecord, Vec<AttemptRecord>)>> {
            Ok(None)
        }
        async fn usage(
            &self,
            _: seam_store::UsageBy,
            _: i64,
        ) -> seam_store::Result<Vec<seam_store::UsageRow>> {
            Ok(Vec::new())
        }
        async fn trace(
            &self,
            _: &str,
        ) -> seam_store::Result<(Vec<CallRecord>, Vec<AttemptRecord>)> {
            Ok((Vec::new(), Vec::new()))
        }
        async fn reliability(
            &self,
            _: i64,
        ) -> seam_store::Result<(Vec<seam_store::CallGroup>, Vec<seam_store::AttemptGroup>)>
        {
            Ok((Vec::new(), Vec::new()))
        }
        async fn insert_event(&self, _: &seam_store::EventRecord) -> seam_store::Result<()> {
            Ok(())
        }
        async fn insert_user(&self, _: &seam_store::UserRecord) -> seam_store::Result<()> {
            Ok(())
        }
        async fn list_users(&self) -> seam_store::Result<Vec<seam_store::UserRecord>> {
            Ok(Vec::new())
        }
        async fn user_by_token_hash(
            &self,
            _: &str,
        ) -> seam_store::Result<Option<seam_store::UserRecord>> {
            Ok(None)
        }
        async fn append_audit(
            &self,
            _: &str,
            _: &str,
            _: &str,
            _: Option<String>,
            _: Option<String>,
            _: i64,
        ) -> seam_store::Result<seam_store::AuditRecord> {
            Err(StoreError::Invalid("not in this test".into()))
        }
        async fn list_audit(&self) -> seam_store::Result<Vec<seam_store::AuditRecord>> {
            Ok(Vec::new())
        }
        async fn insert_release(&self, _: &seam_store::ReleaseRecord) -> seam_store::Result<bool> {
            Ok(true)
        }
        async fn get_release(
            &self,
            _: &str,
        ) -> seam_store::Result<Option<seam_store::ReleaseRecord>> {
            Ok(None)
        }
        async fn list_releases(
            &self,
            _: &str,
        ) -> seam_store::Result<Vec<seam_store::ReleaseRecord>> {
            Ok(Vec::new())
        }
        async fn insert_approval(&self, _: &seam_store::ApprovalRecord) -> seam_store::Result<()> {
            Ok(())
        }
        async fn list_approvals(
            &self,
            _: &str,
        ) -> seam_store::Result<Vec<seam_store::ApprovalRecord>> {
            Ok(Vec::new())
        }
        async fn insert_deploy(&self, _: &seam_store::DeployRecord) -> seam_store::Result<()> {
            Ok(())
        }
        async fn list_deploys(&self, _: &str) -> seam_store::Result<Vec<seam_store::DeployRecord>> {
            Ok(Vec::new())
        }
        async fn current_deploys(&self) -> seam_store::Result<Vec<seam_store::DeployRecord>> {
            Ok(Vec::new())
        }
        async fn pin_session(
            &self,
            _: &seam_store::SessionKey,
            _: &str,
            _: i64,
            _: seam_store::SessionTtl,
        ) -> seam_store::Result<seam_store::Pinned> {
            Err(seam_store::StoreError::Invalid("no sessions here".into()))
        }
        async fn move_session(
            &self,
            _: &seam_store::SessionKey,
            _: &str,
            _: &str,
            _: i64,
        ) -> seam_store::Result<bool> {
            Ok(false)
        }
        async fn list_sessions(
            &self,
            _: &seam_store::SessionQuery,
        ) -> seam_store::Result<Vec<seam_store::SessionRecord>> {
            Ok(Vec::new())
        }
        async fn session_counts(
            &self,
            _: i64,
        ) -> seam_store::Result<Vec<seam_store::SessionCount>> {
            Ok(Vec::new())
        }
        async fn export_page(
            &self,
            _: seam_store::ExportKind,
            _: &seam_store::ExportCursor,
            _: i64,
        ) -> seam_store::Result<(Vec<serde_json::Value>, Option<seam_store::ExportCursor>)>
        {
            Ok((Vec::new(), None))
        }
        async fn list_streams(&self, _: i64) -> seam_store::Result<Vec<seam_store::StreamRecord>> {
            Ok(Vec::new())
        }
        async fn list_served(&self) -> seam_store::Result<Vec<seam_store::ServedRecord>> {
            Ok(Vec::new())
        }
        async fn insert_served(&self, _: &seam_store::ServedRecord) -> seam_store::Result<bool> {
            Ok(true)
        }
        async fn list_events(
            &self,
            _: i64,
            _: i64,
        ) -> seam_store::Result<Vec<seam_store::EventRecord>> {
            Ok(Vec::new())
        }
    }

    fn entry(id: &str) -> Entry {
        let call = seam_store::conformance::sample_call(id, 1, "t");
        let attempts = vec![seam_store::conformance::sample_attempt(&call, 1, true)];
        Entry {
            call,
            attempts,
            stream: None,
        }
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
        let store = Arc::new(FlakyStore {
            fail: false,
            writes: AtomicUsize::new(0),
        });
        let (rec, writer) = Recorder::spawn(store.clone(), &cfg(1), metrics.clone());
        rec.record(entry("a"));
        rec.record(entry("b"));
        rec.record(entry("c"));
        assert_eq!(
            dropped(&metrics, "queue_full"),
            4,
            "two calls of two rows each"
        );
        writer.finish().await;
        assert_eq!(store.writes.load(Ordering::Relaxed), 1);
        assert_eq!(metrics.records_written.get(), 2);
        assert_eq!(metrics.record_queue.get(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_store_is_retried_then_counted() {
        let metrics = Metrics::new();
        let store = Arc::new(FlakyStore {
            fail: true,
            writes: AtomicUsize::new(0),
        });
        let (rec, writer) = Recorder::spawn(store.clone(), &cfg(8), metrics.clone());
        rec.record(entry("a"));
        writer.finish().await;
        assert_eq!(store.writes.load(Ordering::Relaxed), 3, "three tries");
        assert_eq!(dropped(&metrics, "store_error"), 2);
        assert_eq!(metrics.records_written.get(), 0);
    }
}
