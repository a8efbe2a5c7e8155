//! Part of observe: the retry-divergence detector. When a provider's first attempts start
//! failing while retries keep the final success rate looking healthy, it writes a
//! `provider_degraded_hidden_by_retries` event to the change timeline and logs it.

use crate::FastMap;
use crate::events::Events;
use seam_config::Divergence;
use seam_store::EventRecord;
use std::collections::VecDeque;
use std::sync::Mutex;
use tokio::time::Instant;

pub const EVENT_KIND: seam_vocab::EventKind =
    seam_vocab::EventKind::ProviderDegradedHiddenByRetries;

/// Long-run baseline weight of one call (about the last thousand calls).
const BASELINE_ALPHA: f64 = 0.001;
/// Calls before the baseline is trusted.
const BASELINE_MIN_CALLS: u64 = 1000;
/// A multiple of a tiny baseline is noise: below this rate the multiple never fires.
const BASELINE_FLOOR: f64 = 0.02;

/// The windows outlive reloads; the thresholds come with each call (its config snapshot).
#[derive(Default)]
pub struct Detector {
    /// route -> provider (of the first attempt) -> window.
    windows: Mutex<FastMap<String, FastMap<String, Window>>>,
}

#[derive(Default)]
struct Window {
    /// (when, first attempt failed, call succeeded in the end)
    samples: VecDeque<(Instant, bool, bool)>,
    first_failed: usize,
    final_ok: usize,
    baseline: f64,
    seen: u64,
    last_fired: Option<Instant>,
}

/// What the window showed when the detector fired.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    pub calls: usize,
    pub first_attempt_error_rate: f64,
    pub final_success_rate: f64,
    pub baseline: f64,
}

impl Detector {
    /// Adds one finished call and says whether the detector fires now.
    pub fn record(
        &self,
        cfg: &Divergence,
        route: &str,
        provider: &str,
        first_ok: bool,
        final_ok: bool,
        now: Instant,
    ) -> Option<Firing> {
        let mut all = self.windows.lock().ok()?;
        let w = match all.get_mut(route).and_then(|p| p.get_mut(provider)) {
            Some(w) => w,
            None => all
                .entry(route.to_string())
                .or_default()
                .entry(provider.to_string())
                .or_default(),
        };
        w.samples.push_back((now, !first_ok, final_ok));
        w.first_failed += usize::from(!first_ok);
        w.final_ok += usize::from(final_ok);
        while let Some(&(at, failed, ok)) = w.samples.front() {
            let too_old = now.saturating_duration_since(at) > cfg.window;
            if !(too_old || w.samples.len() > cfg.window_calls) {
                break;
            }
            w.samples.pop_front();
            w.first_failed -= usize::from(failed);
            w.final_ok -= usize::from(ok);
        }
        let baseline_before = w.baseline;
        w.baseline += BASELINE_ALPHA * (f64::from(u8::from(!first_ok)) - w.baseline);
        w.seen += 1;
        let n = w.samples.len();
        if n < cfg.min_calls {
            return None;
        }
        let rate = w.first_failed as f64 / n as f64;
        let success = w.final_ok as f64 / n as f64;
        let by_baseline = cfg.baseline_multiple > 0.0
            && w.seen >= BASELINE_MIN_CALLS
            && rate >= BASELINE_FLOOR
            && rate >= cfg.baseline_multiple * baseline_before;
        let degraded = rate >= cfg.first_attempt_error_rate || by_baseline;
        let hidden = success >= cfg.final_success_rate;
        let cooling = w
            .last_fired
            .is_some_and(|t| now.saturating_duration_since(t) < cfg.window);
        if degraded && hidden && !cooling {
            w.last_fired = Some(now);
            return Some(Firing {
                calls: n,
                first_attempt_error_rate: rate,
                final_success_rate: success,
                baseline: baseline_before,
            });
        }
        None
    }

    /// Records a call and, when the detector fires, writes the event and logs it.
    pub fn observe(
        &self,
        events: &Events,
        cfg: &Divergence,
        route: &str,
        provider: &str,
        first_ok: bool,
        final_ok: bool,
    ) {
        let Some(f) = self.record(cfg, route, provider, first_ok, final_ok, Instant::now()) else {
            return;
        };
        let message = format!(
            "provider `{provider}` on route `{route}`: {:.1}% of first attempts failed over the last {} calls, \
             while {:.1}% of calls still succeeded after retries (pre-retry vs post-retry)",
            f.first_attempt_error_rate * 100.0,
            f.calls,
            f.final_success_rate * 100.0
        );
        tracing::warn!(kind = EVENT_KIND.as_str(), route, provider, "{message}");
        let details = serde_json::json!({
            "calls": f.calls,
            "first_attempt_error_rate": f.first_attempt_error_rate,
            "final_success_rate": f.final_success_rate,
            "baseline_first_attempt_error_rate": f.baseline,
            "threshold": cfg.first_attempt_error_rate,
            "window_secs": cfg.window.as_secs(),
        });
        events.emit(
            EventRecord::new(EVENT_KIND, message, details)
                .route(route)
                .provider(provider),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn cfg() -> Divergence {
        Divergence {
            window: Duration::from_secs(300),
            window_calls: 200,
            min_calls: 20,
            first_attempt_error_rate: 0.10,
            baseline_multiple: 0.0,
            final_success_rate: 0.99,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn fires_once_when_first_attempts_fail_but_calls_succeed() {
        let (d, c) = (Detector::default(), cfg());
        let mut fired = Vec::new();
        for i in 0..100 {
            let first_ok = i % 5 >= 2; // 40% of first attempts fail
            if let Some(f) = d.record(&c, "chat", "p", first_ok, true, Instant::now()) {
                fired.push((i, f));
            }
            tokio::time::advance(Duration::from_millis(100)).await;
        }
        assert_eq!(fired.len(), 1, "one event per window: {fired:?}");
        assert_eq!(fired[0].0, 19, "as soon as the window holds min_calls");
        assert!((fired[0].1.first_attempt_error_rate - 0.4).abs() < 1e-9);
    }

    #[tokio::test(start_paused = true)]
    async fn quiet_when_retries_do_not_hide_it_or_all_is_well() {
        let (d, c) = (Detector::default(), cfg());
        for i in 0..100 {
            // Failing for real: the final success rate shows it, nothing is hidden.
            assert!(
                d.record(&c, "a", "p", i % 2 == 0, i % 2 == 0, Instant::now())
                    .is_none()
            );
            // Healthy: 2% first-attempt errors.
            assert!(
                d.record(&c, "b", "p", i % 50 != 0, true, Instant::now())
                    .is_none()
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn old_calls_leave_the_window() {
        let (d, c) = (Detector::default(), cfg());
        for _ in 0..15 {
            d.record(&c, "c", "p", false, true, Instant::now());
        }
        tokio::time::advance(Duration::from_secs(301)).await;
        for _ in 0..19 {
            assert!(d.record(&c, "c", "p", true, true, Instant::now()).is_none());
        }
    }
}
