//! One event to one webhook: attempts, backoff, and what ends them.

use crate::{Hook, Inner};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// The first wait between attempts; each later one doubles it.
const BACKOFF_BASE: Duration = Duration::from_millis(500);
/// The longest wait between attempts.
const BACKOFF_CAP: Duration = Duration::from_secs(30);
/// Up to this share of the wait is added at random, so that webhooks failing together (a
/// receiver restarting) are not retried in lockstep.
const JITTER: f64 = 0.1;

/// What one delivery carries; the body and its signature are made once per event.
pub(crate) struct Delivery {
    pub event_id: String,
    pub kind: &'static str,
    pub body: Vec<u8>,
    pub signature: String,
}

/// Why an attempt did not deliver.
enum Failure {
    /// Worth another attempt: a timeout, a transport error, a 5xx, 408 or 429.
    Retry(String),
    /// The receiver refused the event itself (another 4xx): the same body would be refused
    /// again.
    Final(String),
}

/// The wait after failed attempt `attempt` (1-based): 0.5 s, 1 s, 2 s, ... up to 30 s, plus
/// `jitter` (0 to 1) times a tenth of it.
pub(crate) fn backoff(attempt: u32, jitter: f64) -> Duration {
    let doubled = BACKOFF_BASE.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let wait = doubled.min(BACKOFF_CAP);
    wait + wait.mul_f64(JITTER * jitter.clamp(0.0, 1.0))
}

/// A number in [0, 1) that differs from call to call: std's hasher keys are random per
/// process and per call, which is all the randomness a jitter needs.
fn jitter() -> f64 {
    use std::hash::{BuildHasher, RandomState};
    let bits = RandomState::new().hash_one(std::time::SystemTime::now());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// Counts the delivery in flight until it ends, however it ends (a panic or an aborted task
/// included), and wakes `flush` when the last one does.
struct InFlight(Arc<Inner>);

impl InFlight {
    fn start(inner: Arc<Inner>) -> InFlight {
        inner.counters.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(inner)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.counters.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// Spawns the delivery on the current runtime; counted as failed when there is none (a
/// caller outside tokio), since nothing would ever send it.
pub(crate) fn spawn(inner: &Arc<Inner>, hook: usize, delivery: Arc<Delivery>) {
    let guard = InFlight::start(inner.clone());
    match tokio::runtime::Handle::try_current() {
        Ok(rt) => {
            rt.spawn(async move {
                run(&guard.0, hook, &delivery).await;
                drop(guard);
            });
        }
        Err(_) => {
            inner.counters.failed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                host = %inner.hooks[hook].host,
                event = %delivery.event_id,
                "webhook not sent: notify was called outside a tokio runtime"
            );
        }
    }
}

async fn run(inner: &Inner, hook: usize, d: &Delivery) {
    let h = &inner.hooks[hook];
    let mut reason = String::new();
    let mut attempts = 0;
    while attempts < h.max_attempts {
        if attempts > 0 {
            tokio::time::sleep(backoff(attempts, jitter())).await;
        }
        attempts += 1;
        inner.counters.attempts.fetch_add(1, Ordering::Relaxed);
        match attempt(&inner.client, h, d).await {
            Ok(()) => {
                inner.counters.delivered.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Err(Failure::Retry(why)) => {
                tracing::debug!(host = %h.host, event = %d.event_id, attempt = attempts, reason = %why, "webhook attempt failed");
                reason = why;
            }
            Err(Failure::Final(why)) => {
                reason = format!("{why}, not retried");
                break;
            }
        }
    }
    inner.counters.failed.fetch_add(1, Ordering::Relaxed);
    // The host and the event id only: the URL's path or query may be a credential (chat
    // services put a token there), and the body is the event, already on the timeline.
    tracing::warn!(
        host = %h.host,
        event = %d.event_id,
        kind = d.kind,
        attempts,
        reason = %reason,
        "webhook delivery gave up"
    );
}

async fn attempt(client: &reqwest::Client, h: &Hook, d: &Delivery) -> Result<(), Failure> {
    let sent = client
        .post(h.url.clone())
        .timeout(h.timeout)
        .header("content-type", "application/json")
        .header("x-seam-event", d.kind)
        .header("x-seam-delivery", d.event_id.as_str())
        .header("x-seam-signature", d.signature.as_str())
        .body(d.body.clone())
        .send()
        .await;
    let response = match sent {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            return Err(Failure::Retry(format!(
                "no answer within {} ms",
                h.timeout.as_millis()
            )));
        }
        Err(e) if e.is_connect() => return Err(Failure::Retry("could not connect".into())),
        // Without the URL, which reqwest's errors otherwise name in full.
        Err(e) => return Err(Failure::Retry(e.without_url().to_string())),
    };
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let why = format!("status {}", status.as_u16());
    match status.as_u16() {
        408 | 429 => Err(Failure::Retry(why)),
        400..=499 => Err(Failure::Final(why)),
        _ => Err(Failure::Retry(why)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_half_a_second_up_to_thirty_with_a_tenth_of_jitter() {
        let ms = |attempt, j| backoff(attempt, j).as_millis();
        assert_eq!(
            (1..=8).map(|a| ms(a, 0.0)).collect::<Vec<_>>(),
            [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]
        );
        assert_eq!(ms(u32::MAX, 0.0), 30_000);
        assert_eq!(ms(1, 1.0), 550);
        assert_eq!(ms(7, 0.5), 31_500);
        assert_eq!(ms(1, 7.0), 550, "jitter is clamped");
        for _ in 0..100 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j), "{j}");
        }
    }
}
