//! A route's retry policy and the retry-divergence detector's settings.

use serde::Deserialize;
use std::time::Duration;

/// Which failures of an attempt are retried.
pub const RETRYABLE_CLASSES: &[&str] = &[
    "connect",
    "timeout",
    "reset",
    "status_429",
    "status_5xx",
    "stream_cut",
    "bad_response",
];

/// Upstream error codes (OpenAI's, or Anthropic's errors mapped to them) that no retry can
/// fix: not retried by default, whatever their class.
pub const NEVER_RETRIED_CODES: &[&str] = &[
    "insufficient_quota",
    "invalid_api_key",
    "context_length_exceeded",
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRetry {
    pub max_attempts: Option<u32>,
    pub budget: Option<bool>,
    pub budget_ratio: Option<f64>,
    pub min_retries_per_second: Option<f64>,
    pub retry_after_cap_s: Option<f64>,
    pub retry_on: Option<Vec<String>>,
    pub never_retry_codes: Option<Vec<String>>,
    pub backoff_base_ms: Option<u64>,
    pub backoff_max_ms: Option<u64>,
    pub attempt_timeout_ms: Option<u64>,
    pub deadline_ms: Option<u64>,
}

/// How a route retries, on each of its targets, before falling back to the next.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts per target, the first included.
    pub max_attempts: u32,
    /// Whether the ratio budget caps retries (off only to compare with a naive policy).
    pub budget: bool,
    /// Retries may add at most this share of the calls in the budget's window.
    pub budget_ratio: f64,
    /// Retries allowed regardless of traffic, per second of the window.
    pub min_retries_per_second: f64,
    /// The longest `Retry-After` Seam waits out; a longer one moves on to the next target.
    pub retry_after_cap: Duration,
    /// Error classes that are retried (see [`RETRYABLE_CLASSES`]).
    pub retry_on: Vec<String>,
    /// Upstream error codes never retried, in a retried class or not (an invalid key
    /// upstream, a 401, never is either).
    pub never_retry_codes: Vec<String>,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Time to the first byte of one attempt; `None` uses the provider's `timeout_ms`.
    pub attempt_timeout: Option<Duration>,
    /// No new attempt starts after this much of the call has passed.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            budget: true,
            budget_ratio: 0.2,
            min_retries_per_second: 5.0,
            retry_after_cap: Duration::from_secs(30),
            retry_on: ["connect", "timeout", "reset", "status_429", "status_5xx"]
                .map(String::from)
                .to_vec(),
            never_retry_codes: NEVER_RETRIED_CODES.iter().map(|c| c.to_string()).collect(),
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            attempt_timeout: None,
            deadline: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    pub fn retries(&self, class: &str) -> bool {
        self.retry_on.iter().any(|c| c == class)
    }

    /// Whether a failed attempt is retried: its class is, and what the upstream said is not
    /// something waiting cannot fix (a code of `never_retry_codes`, a 401).
    pub fn retries_failure(&self, class: &str, status: Option<u16>, code: Option<&str>) -> bool {
        self.retries(class) && status != Some(401) && !code.is_some_and(|c| self.never_retries(c))
    }

    /// Whether an upstream error code is one no retry can fix.
    pub fn never_retries(&self, code: &str) -> bool {
        self.never_retry_codes.iter().any(|c| c == code)
    }
}

pub(crate) fn retry_policy(
    raw: Option<RawRetry>,
    key: &str,
    problems: &mut Vec<String>,
) -> RetryPolicy {
    let d = RetryPolicy::default();
    let Some(r) = raw else {
        return d;
    };
    let max_attempts = match r.max_attempts {
        Some(0) => {
            problems.push(format!(
                "{key}.retry.max_attempts: must be at least 1 (1 means no retries)"
            ));
            1
        }
        Some(n) => n,
        None => d.max_attempts,
    };
    let budget_ratio = r.budget_ratio.unwrap_or(d.budget_ratio);
    if !(0.0..=1.0).contains(&budget_ratio) {
        problems.push(format!(
            "{key}.retry.budget_ratio: must be between 0 and 1, got {budget_ratio}"
        ));
    }
    let min_rps = r.min_retries_per_second.unwrap_or(d.min_retries_per_second);
    if !(min_rps >= 0.0 && min_rps.is_finite()) {
        problems.push(format!(
            "{key}.retry.min_retries_per_second: must be 0 or more"
        ));
    }
    let cap = r.retry_after_cap_s.unwrap_or(30.0);
    // try_from: a value past what a Duration holds (1e300, inf) is refused, not a panic.
    let retry_after_cap = Duration::try_from_secs_f64(cap).unwrap_or_else(|_| {
        problems.push(format!(
            "{key}.retry.retry_after_cap_s: must be 0 or more seconds, got {cap}"
        ));
        Duration::ZERO
    });
    if let Some(classes) = &r.retry_on {
        for c in classes
            .iter()
            .filter(|c| !RETRYABLE_CLASSES.contains(&c.as_str()))
        {
            problems.push(format!(
                "{key}.retry.retry_on: unknown class `{c}`; use any of {}",
                RETRYABLE_CLASSES.join(", ")
            ));
        }
    }
    let backoff_base = r
        .backoff_base_ms
        .map(Duration::from_millis)
        .unwrap_or(d.backoff_base);
    let backoff_max = r
        .backoff_max_ms
        .map(Duration::from_millis)
        .unwrap_or(d.backoff_max);
    if backoff_max < backoff_base {
        problems.push(format!(
            "{key}.retry.backoff_max_ms: must not be below backoff_base_ms"
        ));
    }
    RetryPolicy {
        max_attempts,
        budget: r.budget.unwrap_or(true),
        budget_ratio: budget_ratio.clamp(0.0, 1.0),
        min_retries_per_second: min_rps.max(0.0),
        retry_after_cap,
        retry_on: r.retry_on.unwrap_or(d.retry_on),
        never_retry_codes: r.never_retry_codes.unwrap_or(d.never_retry_codes),
        backoff_base,
        backoff_max,
        attempt_timeout: r.attempt_timeout_ms.map(Duration::from_millis),
        deadline: r
            .deadline_ms
            .map(Duration::from_millis)
            .unwrap_or(d.deadline),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDivergence {
    pub window_secs: Option<u64>,
    pub window_calls: Option<usize>,
    pub min_calls: Option<usize>,
    pub first_attempt_error_rate: Option<f64>,
    pub baseline_multiple: Option<f64>,
    pub final_success_rate: Option<f64>,
}

/// When a provider's first attempts fail while retries keep the final success rate healthy,
/// Seam writes a `provider_degraded_hidden_by_retries` event.
#[derive(Debug, Clone, PartialEq)]
pub struct Divergence {
    /// The window: the last `window_calls` calls, none older than `window`.
    pub window: Duration,
    pub window_calls: usize,
    /// Fewer calls than this in the window say nothing.
    pub min_calls: usize,
    /// Fires when the first-attempt error rate reaches this ...
    pub first_attempt_error_rate: f64,
    /// ... or this multiple of its own long-run baseline (0 turns that off) ...
    pub baseline_multiple: f64,
    /// ... while the final success rate is still at least this.
    pub final_success_rate: f64,
}

impl Default for Divergence {
    fn default() -> Self {
        Divergence {
            window: Duration::from_secs(300),
            window_calls: 200,
            min_calls: 20,
            first_attempt_error_rate: 0.10,
            baseline_multiple: 3.0,
            final_success_rate: 0.99,
        }
    }
}

pub(crate) fn divergence(raw: Option<RawDivergence>, problems: &mut Vec<String>) -> Divergence {
    let d = Divergence::default();
    let Some(r) = raw else {
        return d;
    };
    let rate = |v: Option<f64>, name: &str, default: f64, problems: &mut Vec<String>| {
        let v = v.unwrap_or(default);
        if !(0.0..=1.0).contains(&v) {
            problems.push(format!("divergence.{name}: must be between 0 and 1"));
        }
        v
    };
    Divergence {
        window: r.window_secs.map(Duration::from_secs).unwrap_or(d.window),
        window_calls: r.window_calls.unwrap_or(d.window_calls).max(1),
        min_calls: r.min_calls.unwrap_or(d.min_calls).max(1),
        first_attempt_error_rate: rate(
            r.first_attempt_error_rate,
            "first_attempt_error_rate",
            d.first_attempt_error_rate,
            problems,
        ),
        baseline_multiple: r.baseline_multiple.unwrap_or(d.baseline_multiple).max(0.0),
        final_success_rate: rate(
            r.final_success_rate,
            "final_success_rate",
            d.final_success_rate,
            problems,
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn parse(retry: &str) -> Result<crate::Config, crate::ConfigError> {
        let text = format!(
            "[[providers]]\nname = \"p\"\nkind = \"sim\"\n[[routes]]\nname = \"r\"\ntargets = [{{ provider = \"p\", model = \"m\" }}]\n{retry}\n"
        );
        crate::parse(&text, Path::new("t.toml"), &|_| None)
    }

    #[test]
    fn a_route_without_retry_gets_the_defaults() {
        let c = parse("").unwrap();
        let r = &c.routes[0].retry;
        assert_eq!(
            (r.max_attempts, r.budget_ratio, r.min_retries_per_second),
            (3, 0.2, 5.0)
        );
        assert!(r.retries("status_5xx") && !r.retries("status_4xx"));
    }

    #[test]
    fn what_waiting_cannot_fix_is_not_retried_by_default() {
        let c = parse("").unwrap();
        let r = &c.routes[0].retry;
        assert!(r.retries_failure("status_429", Some(429), Some("rate_limit_exceeded")));
        assert!(r.retries_failure("status_429", Some(429), None));
        assert!(!r.retries_failure("status_429", Some(429), Some("insufficient_quota")));
        assert!(!r.retries_failure("status_5xx", Some(401), None));
        assert!(!r.retries_failure("status_4xx", Some(400), Some("context_length_exceeded")));
        let c = parse("retry = { never_retry_codes = [] }").unwrap();
        assert!(c.routes[0].retry.retries_failure(
            "status_429",
            Some(429),
            Some("insufficient_quota")
        ));
    }

    #[test]
    fn bad_retry_values_are_named() {
        let e = parse("retry = { max_attempts = 0, budget_ratio = 1.5, retry_on = [\"status_418\"], bogus = 1 }")
            .unwrap_err()
            .to_string();
        assert!(e.contains("bogus"), "{e}");
        let e =
            parse("retry = { max_attempts = 0, budget_ratio = 1.5, retry_on = [\"status_418\"] }")
                .unwrap_err();
        let all = e.to_string();
        assert_eq!(e.problems.len(), 3, "{all}");
        assert!(all.contains("routes[0] (r).retry.max_attempts"), "{all}");
        assert!(all.contains("budget_ratio"), "{all}");
        assert!(all.contains("status_418"), "{all}");
    }

    /// Found by the `config` fuzz target: `inf` (or any value past what a Duration holds)
    /// was reported and then panicked the load, at start or on a reload.
    #[test]
    fn a_retry_after_cap_too_large_for_a_duration_is_refused_without_a_panic() {
        for cap in ["inf", "1e300", "-1.0", "nan"] {
            let e = parse(&format!("retry = {{ retry_after_cap_s = {cap} }}")).unwrap_err();
            assert_eq!(e.problems.len(), 1, "{e}");
            assert!(
                e.problems[0].contains("routes[0] (r).retry.retry_after_cap_s: must be 0 or more"),
                "{e}"
            );
        }
        let c = parse("retry = { retry_after_cap_s = 1.5 }").unwrap();
        assert_eq!(
            c.routes[0].retry.retry_after_cap,
            std::time::Duration::from_millis(1500)
        );
    }
}
