//! Retention: a task of `seam serve` that deletes expired records. Shortly after start and
//! then every [`INTERVAL`], a round deletes captured content older than `[capture]
//! retention_days` and calls (with their attempts, stream telemetry and content) older than
//! `[records] retention_days`, both read from the config snapshot of that round, so a reload
//! applies at the next one. Neither set: nothing is deleted.
//!
//! One gateway at a time runs rounds, across every gateway sharing the store: a round first
//! takes the store's `retention` lease (a row with its holder and expiry, written in one
//! atomic statement; `seam_store::Retention::take_lease`). A lease rather than PostgreSQL's
//! advisory locks: it works the same on SQLite, which several processes can share too, and
//! it holds across rounds without a connection held open for it. The holder renews it each
//! round and between batches, and keeps it (other gateways' rounds are skipped); a holder
//! that stops gives it up, one that crashes loses it when it expires ([`LEASE_TTL`]). Expiry
//! is judged by the clock of the gateway that takes the lease: gateways' clocks need to agree
//! to well within the lease's 15 minutes, as NTP keeps them.
//!
//! Deletes go in bounded transactions ([`BATCH`] calls, or contents, each), with a pause
//! between them, so that on SQLite the record writer and readers never wait long for the
//! lock. On PostgreSQL the records live in monthly partitions: each round makes the coming
//! months' partitions, drops expired months whole, and deletes only the month the cutoff
//! falls in (and the default partition) in batches. Counted in
//! `seam_retention_deleted_total{table}`; a round that deleted something puts one
//! `retention_deleted` event on the timeline.

use crate::events::Events;
use crate::observe::{Metrics, Reason};
use crate::session::Clock;
use crate::tasks::{Stop, Tasks};
use seam_store::{Deleted, EventRecord, Expiry};
use seam_vocab::EventKind;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The lease's name in the store.
pub const LEASE: &str = "retention";
/// The first round, after start: soon, but after the start-up work (the records spool
/// replayed, limits re-seeded).
pub const FIRST_ROUND: Duration = Duration::from_secs(60);
pub const INTERVAL: Duration = Duration::from_secs(600);
/// Longer than [`INTERVAL`], so that the holder keeps it from one round to the next; the
/// longest rounds are skipped after a holder crashes.
pub const LEASE_TTL: Duration = Duration::from_secs(900);
/// Calls (or contents) deleted per transaction: a few milliseconds of SQLite's write lock.
pub const BATCH: i64 = 2_000;
/// Between two batches, the store is left to others: SQLite's record writer, on a thread of
/// its own, waits for the lock in real time.
pub const PAUSE: Duration = Duration::from_millis(20);

const DAY_MS: i64 = 86_400_000;

/// What retention keeps, as a round reads it from the live config.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settings {
    /// `[records] retention_days`.
    pub records_days: Option<u64>,
    /// `[capture] retention_days`.
    pub capture_days: Option<u64>,
}

impl Settings {
    pub fn of(config: &seam_config::Config) -> Settings {
        Settings {
            records_days: config.records.retention_days,
            capture_days: config.capture.retention_days,
        }
    }
}

/// Where a round reads its settings: the current config snapshot.
pub type SettingsSource = Arc<dyn Fn() -> Settings + Send + Sync>;

pub struct Retention {
    pub store: Arc<dyn seam_store::Retention>,
    pub settings: SettingsSource,
    pub clock: Arc<dyn Clock>,
    pub events: Events,
    pub metrics: Arc<Metrics>,
    /// This gateway's name in the lease: unique per process.
    pub holder: String,
    /// Calls or contents per transaction ([`BATCH`]).
    pub batch: i64,
}

/// What a round that ran did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Done {
    /// Calls older than this were expired, with everything recorded of them.
    records_before_ms: Option<i64>,
    /// Contents older than this were expired.
    contents_before_ms: Option<i64>,
    settings: Settings,
    /// Everything deleted, whichever cutoff expired it.
    deleted: Deleted,
    partitions: Vec<String>,
    /// The round stopped early: the gateway is stopping, or the lease was lost.
    cut: bool,
    /// Another gateway has the lease now.
    lost: bool,
}

/// A name no other process has: this process's id and a fresh UUID.
pub fn holder_name() -> String {
    format!(
        "gw_{}_{}",
        std::process::id(),
        uuid::Uuid::now_v7().simple()
    )
}

fn cutoff(now_ms: i64, days: Option<u64>) -> Option<i64> {
    // Config keeps days within a century, far inside i64 milliseconds.
    days.map(|d| now_ms.saturating_sub((d as i64).saturating_mul(DAY_MS)))
}

impl Retention {
    /// Starts the rounds; the receiver counts the rounds finished (ran, skipped or failed).
    pub fn spawn(self, tasks: &Tasks) -> watch::Receiver<u64> {
        let (done, rounds) = watch::channel(0_u64);
        // From now, not from the task's first poll.
        let start = tokio::time::Instant::now() + FIRST_ROUND;
        tasks.spawn("retention", move |mut stop| async move {
            let mut tick = tokio::time::interval_at(start, INTERVAL);
            // A long round is followed by a full interval, not by rounds to catch up.
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut held = false;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.wait() => break,
                }
                held = self.round(&stop).await;
                done.send_modify(|n| *n += 1);
            }
            if held {
                // So that another gateway takes over at its next round, not a lease later.
                if let Err(e) = self.store.release_lease(LEASE, &self.holder).await {
                    tracing::warn!(error = %e, "could not give up the retention lease");
                }
            }
        });
        rounds
    }

    fn counted(&self, result: &str) {
        self.metrics
            .retention
            .rounds
            .get_or_create(&Reason {
                reason: result.into(),
            })
            .inc();
    }

    /// One round; whether this gateway holds the lease after it.
    async fn round(&self, stop: &Stop) -> bool {
        let started = std::time::Instant::now();
        let now_ms = self.clock.now_ms();
        let ttl = LEASE_TTL.as_millis() as i64;
        match self
            .store
            .take_lease(LEASE, &self.holder, now_ms, ttl)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!("retention: another gateway holds the lease; skipped");
                self.counted("skipped");
                return false;
            }
            Err(e) => {
                tracing::warn!(error = %e, "retention: could not take the lease; retried next round");
                self.counted("failed");
                return false;
            }
        }
        let mut done = Done::default();
        match self.expire(now_ms, stop, &mut done).await {
            Ok(()) => self.counted("ran"),
            Err(e) => {
                tracing::warn!(error = %e, "retention: the store refused; retried next round");
                self.counted("failed");
            }
        }
        // What was deleted before a failure is reported too.
        if done.deleted.total() > 0 || !done.partitions.is_empty() {
            self.report(&done, started.elapsed());
        }
        !done.lost
    }

    async fn expire(&self, now_ms: i64, stop: &Stop, done: &mut Done) -> seam_store::Result<()> {
        let made = self.store.prepare_partitions(now_ms).await?;
        if !made.is_empty() {
            tracing::info!(partitions = ?made, "retention: made the coming months' partitions");
        }
        done.settings = (self.settings)();
        done.records_before_ms = cutoff(now_ms, done.settings.records_days);
        done.contents_before_ms = cutoff(now_ms, done.settings.capture_days);
        // Records first: their content goes with them, and is not deleted twice.
        for (what, before) in [
            (Expiry::Records, done.records_before_ms),
            (Expiry::Contents, done.contents_before_ms),
        ] {
            let Some(before) = before else { continue };
            let dropped = self.store.drop_expired_partitions(what, before).await?;
            self.metrics.retention.counted(&dropped.rows);
            self.metrics
                .retention
                .partitions_dropped
                .inc_by(dropped.partitions.len() as u64);
            done.deleted.add(dropped.rows);
            done.partitions.extend(dropped.partitions);
            if !self.batches(what, before, stop, done).await? {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Deletes `what` older than `before` a batch at a time until none is left; false when it
    /// stopped early (marked in `done`: the gateway is stopping, or another gateway has the
    /// lease now).
    async fn batches(
        &self,
        what: Expiry,
        before: i64,
        stop: &Stop,
        done: &mut Done,
    ) -> seam_store::Result<bool> {
        loop {
            let d = self.store.delete_expired(what, before, self.batch).await?;
            self.metrics.retention.counted(&d);
            done.deleted.add(d);
            // Below the batch size, nothing of `what` is left (calls, flags and feedback for
            // records).
            if d.picked(what) < self.batch as u64 {
                return Ok(true);
            }
            if stop.stopping() {
                done.cut = true;
                return Ok(false);
            }
            let ttl = LEASE_TTL.as_millis() as i64;
            if !self
                .store
                .take_lease(LEASE, &self.holder, self.clock.now_ms(), ttl)
                .await?
            {
                tracing::warn!(
                    "retention: the lease passed to another gateway mid-round; it carries on"
                );
                (done.cut, done.lost) = (true, true);
                return Ok(false);
            }
            // Real time, on a blocking thread: the pause is for other threads and processes,
            // and a paused test clock must neither skip it nor be moved by it.
            let _ = tokio::task::spawn_blocking(|| std::thread::sleep(PAUSE)).await;
        }
    }

    fn report(&self, done: &Done, took: Duration) {
        let d = done.deleted;
        let kept = |days: Option<u64>| match days {
            Some(n) => format!("older than {n} days"),
            None => "kept".into(),
        };
        let message = format!(
            "retention deleted {} calls, {} attempts, {} streams and {} contents (records: {}; content: {}){}{}",
            d.calls,
            d.attempts,
            d.streams,
            d.contents,
            kept(done.settings.records_days),
            kept(done.settings.capture_days),
            if done.partitions.is_empty() {
                String::new()
            } else {
                format!("; {} month partitions dropped", done.partitions.len())
            },
            if done.cut {
                "; cut short, the rest follows at the next round"
            } else {
                ""
            }
        );
        tracing::info!("{message}");
        let details = serde_json::json!({
            "deleted": d,
            "records_before_ms": done.records_before_ms,
            "contents_before_ms": done.contents_before_ms,
            "partitions_dropped": done.partitions,
            "cut_short": done.cut,
            "secs": took.as_secs_f64(),
            "holder": self.holder,
        });
        self.events.emit(EventRecord::new(
            EventKind::RetentionDeleted,
            message,
            details,
        ));
    }
}

#[cfg(test)]
mod tests;
