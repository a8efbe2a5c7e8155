//! Warnings that an outage would repeat once per call (an unreachable Redis, a full records
//! queue, a failing accept) are written at most once per interval: each such line says how
//! many like it were left out since the last one, and the metric beside it (where there is
//! one) counts them all.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

pub struct LogThrottle {
    interval_ms: i64,
    last_ms: AtomicI64,
    skipped: AtomicU64,
}

impl LogThrottle {
    pub const fn new(interval_ms: i64) -> LogThrottle {
        LogThrottle {
            interval_ms,
            last_ms: AtomicI64::new(i64::MIN),
            skipped: AtomicU64::new(0),
        }
    }

    /// Whether to write the line now; if so, how many were left out since the last one.
    /// Exactly one of the callers racing at the end of an interval writes.
    pub fn due(&self) -> Option<u64> {
        self.due_at(seam_store::now_ms())
    }

    fn due_at(&self, now_ms: i64) -> Option<u64> {
        let last = self.last_ms.load(Ordering::Relaxed);
        if now_ms.saturating_sub(last) >= self.interval_ms
            && self
                .last_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            Some(self.skipped.swap(0, Ordering::Relaxed))
        } else {
            self.skipped.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_counting_the_ones_left_out() {
        let t = LogThrottle::new(1000);
        assert_eq!(t.due_at(5_000), Some(0));
        assert_eq!(t.due_at(5_001), None);
        assert_eq!(t.due_at(5_999), None);
        assert_eq!(t.due_at(6_000), Some(2));
        assert_eq!(t.due_at(6_500), None);
        assert_eq!(t.due_at(9_000), Some(1));
    }
}
