//! The retry budget: retries may add at most `ratio` of the calls seen in a sliding window,
//! plus a small reserve (`min_retries_per_second` x window) so that low traffic can still
//! retry. The semantics follow Finagle's `RetryBudget` and Envoy's `retry_budget`: every call
//! deposits `ratio`, every retry withdraws one, deposits expire with the window.

use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The budget's memory, in one-second buckets.
pub const WINDOW_SECS: u64 = 10;

pub struct RetryBudget {
    ratio: f64,
    reserve: f64,
    state: Mutex<Window>,
}

struct Window {
    start: Instant,
    /// The newest second the buckets describe (seconds since `start`).
    head: u64,
    /// Per second: (calls, retries).
    buckets: [(u64, u64); WINDOW_SECS as usize],
}

impl Window {
    fn advance(&mut self, now: Instant) {
        let sec = now.saturating_duration_since(self.start).as_secs();
        if sec <= self.head {
            return;
        }
        let stale = (sec - self.head).min(WINDOW_SECS);
        for s in 0..stale {
            let i = ((sec - s) % WINDOW_SECS) as usize;
            self.buckets[i] = (0, 0);
        }
        self.head = sec;
    }

    fn totals(&self) -> (u64, u64) {
        self.buckets
            .iter()
            .fold((0, 0), |(c, r), (bc, br)| (c + bc, r + br))
    }

    fn slot(&mut self) -> &mut (u64, u64) {
        &mut self.buckets[(self.head % WINDOW_SECS) as usize]
    }
}

impl RetryBudget {
    /// Whether this budget was made with these settings (a reload keeps it if so).
    pub fn is(&self, ratio: f64, min_retries_per_second: f64) -> bool {
        self.ratio == ratio && self.reserve == min_retries_per_second * WINDOW_SECS as f64
    }

    pub fn new(ratio: f64, min_retries_per_second: f64) -> RetryBudget {
        RetryBudget {
            ratio,
            reserve: min_retries_per_second * WINDOW_SECS as f64,
            state: Mutex::new(Window {
                start: Instant::now(),
                head: 0,
                buckets: [(0, 0); WINDOW_SECS as usize],
            }),
        }
    }

    /// A call made its first attempt on this route and provider.
    pub fn deposit(&self) {
        if let Ok(mut w) = self.state.lock() {
            w.advance(Instant::now());
            w.slot().0 += 1;
        }
    }

    /// Takes one retry from the budget, or says it is spent.
    pub fn try_withdraw(&self) -> bool {
        let Ok(mut w) = self.state.lock() else {
            return false;
        };
        w.advance(Instant::now());
        let (calls, retries) = w.totals();
        if (retries as f64) + 1.0 <= self.ratio * calls as f64 + self.reserve {
            w.slot().1 += 1;
            true
        } else {
            false
        }
    }

    /// Retries still allowed in the window now (for the tests; calls ask `try_withdraw`).
    #[cfg(test)]
    pub fn balance(&self) -> f64 {
        self.state
            .lock()
            .map(|mut w| {
                w.advance(Instant::now());
                let (calls, retries) = w.totals();
                self.ratio * calls as f64 + self.reserve - retries as f64
            })
            .unwrap_or(0.0)
    }
}

/// Exponential backoff with full jitter: uniform in [0, min(max, base x 2^(retry-1))].
pub fn backoff(base: Duration, max: Duration, retry: u32) -> Duration {
    let ceiling = base
        .saturating_mul(
            1u32.checked_shl(retry.saturating_sub(1))
                .unwrap_or(u32::MAX),
        )
        .min(max);
    ceiling.mul_f64(rand::random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn retries_are_capped_at_the_ratio_of_calls_plus_the_reserve() {
        let b = RetryBudget::new(0.2, 0.0);
        for _ in 0..100 {
            b.deposit();
        }
        let allowed = (0..100).filter(|_| b.try_withdraw()).count();
        assert_eq!(allowed, 20);
        assert!(!b.try_withdraw());
    }

    #[tokio::test(start_paused = true)]
    async fn the_reserve_lets_low_traffic_retry() {
        let b = RetryBudget::new(0.2, 1.0);
        let allowed = (0..100).filter(|_| b.try_withdraw()).count();
        assert_eq!(allowed, 10, "1 retry/s over a 10 s window");
    }

    #[tokio::test(start_paused = true)]
    async fn deposits_and_retries_expire_with_the_window() {
        let b = RetryBudget::new(0.5, 0.0);
        for _ in 0..10 {
            b.deposit();
        }
        assert_eq!((0..10).filter(|_| b.try_withdraw()).count(), 5);
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(!b.try_withdraw(), "still inside the window");
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(b.balance(), 0.0, "calls and retries both expired");
        b.deposit();
        b.deposit();
        assert!(b.try_withdraw());
        assert!(!b.try_withdraw());
    }

    #[test]
    fn backoff_is_jittered_under_an_exponential_ceiling() {
        let base = Duration::from_millis(100);
        let max = Duration::from_millis(1000);
        for retry in 1..=10 {
            let ceiling = Duration::from_millis((100u64 << (retry - 1)).min(1000));
            for _ in 0..50 {
                assert!(backoff(base, max, retry) <= ceiling);
            }
        }
        let spread: Vec<Duration> = (0..50).map(|_| backoff(base, max, 3)).collect();
        assert!(spread.iter().any(|d| *d < Duration::from_millis(200)));
        assert!(spread.iter().any(|d| *d > Duration::from_millis(200)));
    }
}
