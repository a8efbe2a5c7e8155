//! The change timeline as the gateway writes it: each event counted in
//! `seam_events_total{reason}` and written without holding up a call. Detectors, sessions,
//! reloads and the record writer get this handle, not the gateway.

use crate::observe::{Metrics, Reason};
use crate::tasks::Tasks;
use seam_store::{EventRecord, Store};
use seam_vocab::EventKind;
use std::sync::Arc;

pub use seam_store::now_ms;

#[derive(Clone)]
pub struct Events {
    metrics: Arc<Metrics>,
    store: Arc<dyn Store>,
    /// Owns the writes: a shutdown awaits them.
    tasks: Tasks,
}

impl Events {
    pub fn new(metrics: Arc<Metrics>, store: Arc<dyn Store>, tasks: Tasks) -> Events {
        Events {
            metrics,
            store,
            tasks,
        }
    }

    /// Counts an event of `kind` (one that is written elsewhere, or not at all).
    pub fn count(&self, kind: EventKind) {
        self.metrics
            .events
            .get_or_create(&Reason {
                reason: kind.as_str().to_string(),
            })
            .inc();
    }

    /// Counts the event and writes it in the background (a job of [`Tasks`]: a shutdown
    /// awaits it).
    pub fn emit(&self, event: EventRecord) {
        self.count(event.kind);
        let store = self.store.clone();
        self.tasks.job("event write", async move {
            if let Err(e) = store.insert_event(&event).await {
                tracing::error!(error = %e, kind = %event.kind, "could not write the event");
            }
        });
    }

    /// The store events go to, for a detector that writes more than the event.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The owner of such writes.
    pub fn tasks(&self) -> &Tasks {
        &self.tasks
    }
}
