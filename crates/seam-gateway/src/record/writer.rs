//! The record writer task: batches from the queue to the store, and through the local spool
//! when the store cannot take them.
//!
//! Records keep one order, oldest first: a batch whose write failed (`held`), then the spool,
//! then the queue. A failed batch is retried with backoff (100 ms doubling to 5 s) for as long
//! as the store is down, while the queue keeps taking new calls. When the queue reaches half
//! its capacity, the writer moves what is queued to the spool (fsynced per batch) so that the
//! queue never fills; once a write succeeds again the spool is replayed, in order, before the
//! queue. Only a full spool (or a gateway without one) drops records: they are counted, and
//! the outage, with what it spooled and dropped, goes on the timeline when the store returns.

use super::{Entry, Flow};
use crate::observe::{Metrics, Reason};
use seam_store::spool::{Appended, Spool};
use seam_store::{EventRecord, Priority, RecordBatch, RecordSink};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// A write that takes longer than this counts as failed (its batch is written again, which
/// stores nothing twice), so a store that stops answering cannot stall the writer for good.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) struct Writer {
    pub sink: Arc<dyn RecordSink>,
    pub rx: mpsc::Receiver<Box<Entry>>,
    pub flow: Flow,
    pub metrics: Arc<Metrics>,
    pub spool: Option<Arc<Mutex<Spool>>>,
    /// Where outage events go once the store is back.
    pub events: crate::events::Events,
    /// A batch the store refused, written before anything else.
    pub held: Option<Arc<RecordBatch>>,
    pub outage: Option<Outage>,
    /// Whether the spool may hold batches (replayed before the queue).
    pub spooled: bool,
    /// `durability = "acknowledged"`: calls append to the spool themselves (`journal.rs`).
    pub journaled: bool,
    /// Told once the first round (the replay of what a previous run spooled) is over.
    pub first_round: Option<oneshot::Sender<()>>,
    /// Captured contents dropped since the last `content_dropped` event, and when that was.
    pub contents_dropped: u64,
    pub contents_reported: Option<Instant>,
}

/// At most one `content_dropped` event per this long: a writer that stays behind would
/// otherwise put one on the timeline per batch.
const CONTENT_DROP_REPORT: Duration = Duration::from_secs(60);

pub(super) struct Outage {
    since_ms: i64,
    next_try: Instant,
    backoff: Duration,
    failures: u64,
    spooled_rows: u64,
    dropped_rows: u64,
    last_error: String,
}

impl Writer {
    /// Drains the queue on a fixed tick rather than waking per record: a busy gateway then
    /// pays nothing per call for the writer, and records wait at most one flush interval.
    pub async fn run(mut self, mut stop: oneshot::Receiver<()>) {
        self.spooled = self.spool_len() > 0;
        let mut tick = tokio::time::interval(self.flow.flush_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = &mut stop => break,
            }
            self.step(false).await;
            self.report_content_drops();
            if let Some(done) = self.first_round.take() {
                let _ = done.send(());
            }
        }
        self.rx.close();
        self.finish().await;
        self.contents_reported = None;
        self.report_content_drops();
    }

    /// One round: keep the queue from filling while the store is down, retry what failed when
    /// its backoff is over (at once when `now`), replay the spool, then write the queue.
    async fn step(&mut self, now: bool) {
        if self.journaled {
            // Busy: the journal is appending (and fsyncing) right now.
            self.spooled = self.spool.as_ref().is_some_and(|s| match s.try_lock() {
                Ok(s) => s.bytes() > 0,
                Err(_) => true,
            });
        }
        if self.outage.is_some() || self.spooled {
            self.spill_if_needed(false).await;
        }
        if !now
            && self
                .outage
                .as_ref()
                .is_some_and(|o| Instant::now() < o.next_try)
        {
            return;
        }
        if let Some(batch) = self.held.clone() {
            if !self.write(batch, Priority::Normal).await {
                return;
            }
            self.held = None;
        }
        if self.spooled && !self.replay().await {
            return;
        }
        loop {
            let (priority, size) = if now || self.rx.len() >= self.flow.urgent_depth {
                (Priority::Normal, self.flow.batch_size)
            } else {
                (Priority::Background, self.flow.background_batch_size)
            };
            let Some(batch) = self.take(size).await else {
                break;
            };
            if !self.write(batch.clone(), priority).await {
                self.held = Some(batch);
                return;
            }
            // A slow write let the queue outgrow half its capacity and spill: what was
            // spilled is older than what is queued now, so it goes first.
            if self.spooled {
                return;
            }
        }
    }

    /// Stopping (the queue is closed): one more try at the store for everything queued, then
    /// whatever it did not take goes to the spool, for the next start to write.
    async fn finish(&mut self) {
        self.step(true).await;
        self.spill_if_needed(true).await;
    }

    /// Takes up to `size` queued calls as one batch, with their captured content built
    /// (parsed, redacted, compressed) unless the writer is behind: then the calls go without
    /// it, as content may be lost and calls may not. Content is built on a blocking thread:
    /// a large one takes milliseconds that the event loop's calls must not wait for.
    async fn take(&mut self, size: usize) -> Option<Arc<RecordBatch>> {
        let mut records = RecordBatch::default();
        let mut calls = 0;
        let behind = self.rx.len() >= self.flow.shed_content_depth;
        let mut dropped = 0;
        let mut captured = Vec::new();
        while calls < size {
            let Ok(e) = self.rx.try_recv() else { break };
            let Entry {
                call,
                attempts,
                stream,
                content,
            } = *e;
            if let Some(c) = content {
                if behind {
                    dropped += 1;
                } else {
                    captured.push((c, call.id.clone(), call.created_ms));
                }
            }
            records.calls.push(call);
            records.attempts.extend(attempts);
            records.streams.extend(stream);
            calls += 1;
        }
        self.metrics.record_queue.dec_by(calls as i64);
        if dropped > 0 {
            self.drop_content("writer_behind", dropped);
        }
        if !captured.is_empty() {
            let wanted = captured.len();
            let built = tokio::task::spawn_blocking(move || {
                captured
                    .iter()
                    .filter_map(|(c, id, at)| c.build(id, *at))
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap_or_default();
            if built.len() < wanted {
                self.drop_content("encode_failed", (wanted - built.len()) as u64);
            }
            records.contents = built;
        }
        self.metrics
            .contents_captured
            .inc_by(records.contents.len() as u64);
        (calls > 0).then(|| Arc::new(records))
    }

    fn drop_content(&mut self, reason: &str, n: u64) {
        self.metrics
            .contents_dropped
            .get_or_create(&Reason {
                reason: reason.into(),
            })
            .inc_by(n);
        self.contents_dropped += n;
    }

    /// Puts dropped content on the timeline, at most once per [`CONTENT_DROP_REPORT`].
    fn report_content_drops(&mut self) {
        let now = Instant::now();
        if self.contents_dropped == 0
            || self
                .contents_reported
                .is_some_and(|at| now < at + CONTENT_DROP_REPORT)
        {
            return;
        }
        let n = std::mem::take(&mut self.contents_dropped);
        self.contents_reported = Some(now);
        tracing::warn!(
            contents = n,
            "captured content was not kept: the record writer was behind; see seam_contents_dropped_total"
        );
        self.events.emit(EventRecord::new(
            seam_vocab::EventKind::ContentDropped,
            format!(
                "{n} captured contents were not kept: the record writer was behind (their calls were recorded)"
            ),
            serde_json::json!({ "contents": n }),
        ));
    }

    /// Writes one batch to the store; on failure, starts or extends the outage. While the write
    /// is under way the queue is still watched, so a slow store cannot make it overflow.
    async fn write(&mut self, batch: Arc<RecordBatch>, priority: Priority) -> bool {
        let rows = batch.rows();
        let sink = self.sink.clone();
        let write = tokio::time::timeout(WRITE_TIMEOUT, sink.write(batch, priority));
        tokio::pin!(write);
        let mut watch = tokio::time::interval(self.flow.flush_interval);
        watch.tick().await;
        let result = loop {
            tokio::select! {
                r = &mut write => break r,
                _ = watch.tick() => self.spill_if_needed(false).await,
            }
        };
        let error = match result {
            Ok(Ok(())) => {
                self.metrics.records_written.inc_by(rows);
                self.recovered().await;
                return true;
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!(
                "the store did not answer within {} s",
                WRITE_TIMEOUT.as_secs()
            ),
        };
        self.metrics.record_write_failures.inc();
        let now = Instant::now();
        let o = self.outage.get_or_insert_with(|| {
            tracing::warn!(error = %error, rows, "writing records failed; keeping them and retrying with backoff");
            Outage {
                since_ms: seam_store::now_ms(),
                next_try: now,
                backoff: FIRST_BACKOFF / 2,
                failures: 0,
                spooled_rows: 0,
                dropped_rows: 0,
                last_error: String::new(),
            }
        });
        o.failures += 1;
        o.backoff = (o.backoff * 2).min(MAX_BACKOFF);
        o.next_try = now + o.backoff;
        o.last_error = error;
        false
    }

    /// Moves queued calls to the spool once the queue is half full (everything, when
    /// `all`); without a spool, or with a full one, they are dropped and counted.
    async fn spill_if_needed(&mut self, all: bool) {
        let threshold = if all { 1 } else { self.flow.spill_depth };
        if self.rx.len() < threshold && !(all && self.held.is_some()) {
            return;
        }
        let mut batches: Vec<Arc<RecordBatch>> = self.held.take().into_iter().collect();
        let queued = self.rx.len();
        let mut taken = 0;
        while taken < queued {
            let Some(batch) = self.take(self.flow.batch_size).await else {
                break;
            };
            taken += batch.calls.len();
            batches.push(batch);
        }
        for batch in batches {
            let rows = batch.rows();
            let (reason, error) = match self.append(batch).await {
                Ok(Appended::Spooled) => {
                    self.spooled = true;
                    self.metrics.records_spooled.inc_by(rows);
                    if let Some(o) = &mut self.outage {
                        o.spooled_rows += rows;
                    }
                    continue;
                }
                Ok(Appended::Full) => ("spool_full", None),
                Err(e) if self.spool.is_none() => ("store_error", Some(e)),
                Err(e) => ("spool_error", Some(e)),
            };
            tracing::error!(
                reason,
                rows,
                error = error.as_deref().unwrap_or(""),
                "dropping call records; see seam_records_dropped_total"
            );
            self.drop_rows(reason, rows);
        }
        self.spool_gauge().await;
    }

    fn drop_rows(&mut self, reason: &str, rows: u64) {
        self.metrics
            .records_dropped
            .get_or_create(&Reason {
                reason: reason.into(),
            })
            .inc_by(rows);
        if let Some(o) = &mut self.outage {
            o.dropped_rows += rows;
        }
    }

    async fn append(&self, batch: Arc<RecordBatch>) -> Result<Appended, String> {
        let Some(spool) = self.spool.clone() else {
            return Err("no records spool is configured".into());
        };
        tokio::task::spawn_blocking(move || {
            let mut s = spool.lock().unwrap_or_else(|e| e.into_inner());
            s.append(batch.as_ref()).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// Writes the spool's batches to the store, oldest first; false when the store failed.
    async fn replay(&mut self) -> bool {
        let Some(spool) = self.spool.clone() else {
            self.spooled = false;
            return true;
        };
        loop {
            let s = spool.clone();
            let peeked = tokio::task::spawn_blocking(move || {
                let mut s = s.lock().unwrap_or_else(|e| e.into_inner());
                let before = s.unreadable();
                s.peek().map(|b| (b, s.unreadable() - before))
            })
            .await;
            let peeked = peeked
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()));
            let batch = match peeked {
                Ok((batch, unreadable)) => {
                    if unreadable > 0 {
                        self.drop_rows("spool_unreadable", unreadable);
                    }
                    batch
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the records spool; retrying");
                    return false;
                }
            };
            let Some(batch) = batch else {
                self.spooled = false;
                self.spool_gauge().await;
                return true;
            };
            if !self.write(Arc::new(batch), Priority::Normal).await {
                return false;
            }
            let s = spool.clone();
            let popped = tokio::task::spawn_blocking(move || {
                s.lock().unwrap_or_else(|e| e.into_inner()).pop()
            })
            .await;
            if !matches!(popped, Ok(Ok(()))) {
                tracing::error!("cannot remove replayed records from the spool; retrying");
                return false;
            }
            self.spool_gauge().await;
        }
    }

    fn spool_len(&self) -> u64 {
        match &self.spool {
            Some(s) => s.lock().unwrap_or_else(|e| e.into_inner()).bytes(),
            None => 0,
        }
    }

    /// Skipped while the spool is busy (the journal holds it through a write and an fsync): a
    /// runtime worker must not wait on a disk, and the next update comes a batch later.
    async fn spool_gauge(&self) {
        if let Some(Ok(s)) = self.spool.as_ref().map(|s| s.try_lock()) {
            self.metrics.record_spool_bytes.set(s.bytes() as i64);
        }
    }

    /// The store took a batch again: the outage, if there was one, goes on the timeline.
    async fn recovered(&mut self) {
        let Some(o) = self.outage.take() else { return };
        let secs = (seam_store::now_ms() - o.since_ms) as f64 / 1000.0;
        let message = format!(
            "the store refused records for {secs:.1} s ({} failed writes): {} records were spooled and are being replayed, {} were dropped",
            o.failures, o.spooled_rows, o.dropped_rows
        );
        if o.dropped_rows > 0 {
            tracing::error!("{message}");
        } else {
            tracing::warn!("{message}");
        }
        let kind = if o.dropped_rows > 0 {
            seam_vocab::EventKind::RecordsDropped
        } else {
            seam_vocab::EventKind::StoreOutage
        };
        let details = serde_json::json!({
            "since_ms": o.since_ms,
            "outage_secs": secs,
            "failed_writes": o.failures,
            "spooled_records": o.spooled_rows,
            "dropped_records": o.dropped_rows,
            "last_error": o.last_error,
        });
        self.events.emit(EventRecord::new(kind, message, details));
    }
}
