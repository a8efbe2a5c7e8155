//! `[records] durability = "acknowledged"`: a call's records reach the local spool, fsynced,
//! before its response completes, so that a crash of the gateway (`kill -9`, power loss)
//! loses no call a client saw answered. Calls that end together share one append and one
//! fsync (group commit); the record writer then moves them from the spool to the store.

use super::Entry;
use crate::observe::{Metrics, Reason};
use seam_store::spool::{Appended, Spool};
use seam_store::{AttemptRecord, CallRecord, ContentRecord, StreamRecord};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// A call waiting for its records to be durable.
pub(super) type Waiting = (Box<Entry>, oneshot::Sender<()>);

/// Serializes as a `RecordBatch` without moving the records out of their entries, so that
/// they can still go to the queue if the spool cannot take them.
#[derive(serde::Serialize)]
struct BatchRef<'a> {
    calls: Vec<&'a CallRecord>,
    attempts: Vec<&'a AttemptRecord>,
    streams: Vec<&'a StreamRecord>,
    /// Built here, on the blocking thread: the entries hold what to build them from.
    contents: Vec<ContentRecord>,
}

/// Appends what calls hand in, as many at a time as are waiting; when the spool fails or is
/// full, their records go to the writer's queue instead (durable once written, as in the
/// batched mode) and the degradation is counted and logged.
/// Stops once `stop` fires and what was handed in before is appended.
pub(super) async fn run(
    mut rx: mpsc::Receiver<Waiting>,
    mut stop: oneshot::Receiver<()>,
    spool: Arc<Mutex<Spool>>,
    queue: mpsc::Sender<Box<Entry>>,
    metrics: Arc<Metrics>,
) {
    let mut waiting: Vec<Waiting> = Vec::with_capacity(256);
    let mut stopping = false;
    loop {
        let n = tokio::select! {
            n = rx.recv_many(&mut waiting, 1024) => n,
            // Once: a stopped channel then drains through the branch above.
            _ = &mut stop, if !stopping => {
                stopping = true;
                rx.close();
                rx.recv_many(&mut waiting, usize::MAX).await
            }
        };
        if n == 0 {
            return;
        }
        let group = std::mem::take(&mut waiting);
        let s = spool.clone();
        let done = tokio::task::spawn_blocking(move || {
            let batch = BatchRef {
                calls: group.iter().map(|(e, _)| &e.call).collect(),
                attempts: group.iter().flat_map(|(e, _)| &e.attempts).collect(),
                streams: group
                    .iter()
                    .filter_map(|(e, _)| e.stream.as_ref())
                    .collect(),
                contents: group
                    .iter()
                    .filter_map(|(e, _)| {
                        let c = e.content.as_ref()?;
                        c.build(&e.call.id, e.call.created_ms)
                    })
                    .collect(),
            };
            let contents = batch.contents.len() as u64;
            let rows = (batch.calls.len() + batch.attempts.len() + batch.streams.len()) as u64;
            let result = s.lock().unwrap_or_else(|e| e.into_inner()).append(&batch);
            (group, rows, contents, result)
        })
        .await;
        let Ok((group, rows, contents, result)) = done else {
            tracing::error!("the records journal failed; its calls' records are lost");
            metrics
                .records_dropped
                .get_or_create(&Reason {
                    reason: "spool_error".into(),
                })
                .inc();
            continue;
        };
        match result {
            Ok(Appended::Spooled) => {
                metrics.records_spooled.inc_by(rows);
                metrics.contents_captured.inc_by(contents);
                for (_, ack) in group {
                    let _ = ack.send(());
                }
            }
            other => {
                let why = match other {
                    Ok(_) => "the spool is full".to_string(),
                    Err(e) => e.to_string(),
                };
                tracing::error!(reason = %why, rows, "records could not be made durable before their responses; queued for the store instead");
                for (entry, ack) in group {
                    metrics.records_not_durable.inc();
                    let rows = entry.rows();
                    if queue.try_send(entry).is_ok() {
                        metrics.record_queue.inc();
                    } else {
                        metrics
                            .records_dropped
                            .get_or_create(&Reason {
                                reason: "queue_full".into(),
                            })
                            .inc_by(rows);
                    }
                    let _ = ack.send(());
                }
            }
        }
    }
}
