//! Warnings that an outage would repeat once per call (an unreachable Redis, a full records
//! queue, a failing accept) are written at most once per interval: each such line says how
//! many like it were left out since the last one, and the metric beside it (where there is
//! one) counts them all. Upstream failures are logged the same way, per provider and class.

use seam_providers::{AttemptError, ErrorClass};
use std::collections::HashMap;
use std::sync::Arc;
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

/// One throttle per provider and error class: a failing provider is seen in the log at once
/// and then every interval, whatever else fails meanwhile.
type Throttles = HashMap<(String, ErrorClass), Arc<LogThrottle>>;
static UPSTREAM_LOGS: std::sync::LazyLock<std::sync::Mutex<Throttles>> =
    std::sync::LazyLock::new(Default::default);

/// Logs a failed attempt at warn (status, provider, class, call id; never its message, which
/// may echo content), at most once per 10 s per provider and class.
pub fn upstream_failure(provider: &str, call_id: &str, e: &AttemptError) {
    let throttle = {
        let Ok(mut map) = UPSTREAM_LOGS.lock() else {
            return;
        };
        map.entry((provider.to_string(), e.class))
            .or_insert_with(|| Arc::new(LogThrottle::new(10_000)))
            .clone()
    };
    if let Some(skipped) = throttle.due() {
        tracing::warn!(
            provider,
            class = e.class.as_str(),
            status = e.status,
            call_id,
            skipped,
            "an upstream attempt failed (skipped: like failures of this provider and class left out since the last line)"
        );
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
