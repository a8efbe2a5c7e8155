//! The retention task's metrics (`retention.rs` counts them).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use super::Reason;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Table {
    pub table: String,
}

/// `seam_retention_rounds_total{reason}`.
pub const ROUND_RESULTS: [&str; 3] = ["ran", "skipped", "failed"];

pub struct RetentionMetrics {
    /// Rows deleted, by table.
    pub deleted: Family<Table, Counter>,
    pub rounds: Family<Reason, Counter>,
    pub partitions_dropped: Counter,
}

impl RetentionMetrics {
    pub fn new(registry: &mut Registry) -> RetentionMetrics {
        let m = RetentionMetrics {
            deleted: Family::default(),
            rounds: Family::default(),
            partitions_dropped: Counter::default(),
        };
        registry.register(
            "retention_deleted",
            "Rows retention deleted as expired, by table (calls, attempts: rows of the attempts table, a call's only attempt goes with its call's row; streams, contents); on PostgreSQL a dropped month partition counts the live rows its statistics held",
            m.deleted.clone(),
        );
        registry.register(
            "retention_rounds",
            "Retention rounds of this gateway, by result (ran; skipped: another gateway sharing the store holds the retention lease; failed: the store refused, retried next round)",
            m.rounds.clone(),
        );
        registry.register(
            "retention_partitions_dropped",
            "Expired month partitions retention detached and dropped (PostgreSQL)",
            m.partitions_dropped.clone(),
        );
        // Every series at 0 from the start (see zero.rs).
        for t in seam_store::Deleted::TABLES {
            let _ = m.deleted.get_or_create(&Table { table: t.into() });
        }
        for r in ROUND_RESULTS {
            let _ = m.rounds.get_or_create(&Reason { reason: r.into() });
        }
        m
    }

    pub fn counted(&self, d: &seam_store::Deleted) {
        for (table, n) in d.by_table() {
            if n > 0 {
                self.deleted
                    .get_or_create(&Table {
                        table: table.into(),
                    })
                    .inc_by(n);
            }
        }
    }
}
