//! Phase 3, admit: tenant limits over calendar windows and trace limits, counted at the
//! attempt. A call is admitted (requests, trace calls, wall time), then every upstream attempt
//! reserves an estimate of what it will be billed (attempts, tokens, cost) and settles it with
//! the provider's usage afterwards, so concurrent calls cannot overshoot a budget by more than
//! the reservations outstanding. This is the in-process backend: one gateway, one set of
//! counters.

use seam_config::{LimitWindow, Limits, Metric, TenantLimit, TraceLimits};
use seam_wire::Usage;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Traces idle this long are forgotten.
const TRACE_IDLE_MS: i64 = 3_600_000;

/// Why Seam refused: an OpenAI-style 429 with `code`, never sent upstream.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<Duration>,
}

/// What one attempt is expected to be billed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Estimate {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost: f64,
}

pub struct Limiter {
    cfg: Limits,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// tenant -> (metric, window) -> counter of the current window.
    tenants: HashMap<String, HashMap<(Metric, LimitWindow), Counter>>,
    traces: HashMap<String, TraceState>,
    last_sweep_ms: i64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Counter {
    window: i64,
    used: f64,
    reserved: f64,
}

#[derive(Debug, Clone, Copy, Default)]
struct TraceState {
    first_ms: i64,
    last_ms: i64,
    calls: u64,
    attempts: u64,
    tokens: f64,
    tokens_reserved: f64,
    cost: f64,
    cost_reserved: f64,
}

/// An attempt's reservation; settle it with what the provider billed. Dropped unsettled,
/// it is released (the attempt never happened).
pub struct Reservation {
    limiter: Arc<Limiter>,
    tenant: String,
    trace: String,
    windows: Vec<(Metric, LimitWindow, i64)>,
    est: Estimate,
    settled: bool,
}

impl Reservation {
    pub fn settle(mut self, usage: Usage, cost: f64) {
        self.settled = true;
        self.limiter.settle(&self, Some((usage, cost)));
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.settled {
            self.limiter.settle(self, None);
        }
    }
}

fn amount(metric: Metric, e: &Estimate) -> f64 {
    match metric {
        Metric::Requests | Metric::Attempts => 0.0,
        Metric::InputTokens => e.input_tokens as f64,
        Metric::OutputTokens => e.output_tokens as f64,
        Metric::Tokens => (e.input_tokens + e.output_tokens) as f64,
        Metric::Cost => e.cost,
    }
}

/// The calendar window `now_ms` falls in (UTC), and when it ends.
pub fn window_of(w: LimitWindow, now_ms: i64) -> (i64, i64) {
    let size = match w {
        LimitWindow::Minute => 60_000,
        LimitWindow::Hour => 3_600_000,
        LimitWindow::Day => 86_400_000,
        LimitWindow::Month => {
            let (y, m) = year_month(now_ms.div_euclid(86_400_000));
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            return (y * 12 + m, days_from_civil(ny, nm, 1) * 86_400_000);
        }
    };
    let id = now_ms.div_euclid(size);
    (id, (id + 1) * size)
}

/// (year, month) of a day count since 1970-01-01 (Howard Hinnant's civil-from-days).
fn year_month(days: i64) -> (i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn fmt_amount(metric: Metric, v: f64) -> String {
    match metric {
        Metric::Cost => format!("${v:.4}"),
        _ => format!("{}", v.round() as i64),
    }
}

impl Limiter {
    pub fn new(cfg: Limits) -> Limiter {
        Limiter {
            cfg,
            state: Mutex::new(State::default()),
        }
    }

    pub fn trace_limits(&self, route: Option<TraceLimits>) -> TraceLimits {
        self.cfg.trace_default.overridden_by(route)
    }

    /// Whether any limit counts tokens or cost (only then is an estimate worth making).
    pub fn needs_estimate(&self, tenant: &str, trace: &TraceLimits) -> bool {
        self.cfg
            .for_tenant(tenant)
            .iter()
            .any(|l| !matches!(l.metric, Metric::Requests | Metric::Attempts))
            || trace.max_tokens.is_some()
            || trace.max_cost.is_some()
    }

    pub fn default_output_tokens(&self) -> u64 {
        self.cfg.default_output_tokens
    }

    /// Admits a call: one more request for the tenant, one more call for the trace, within
    /// the trace's wall time, and no budget already spent.
    pub fn admit_call(
        &self,
        tenant: &str,
        trace: &str,
        tl: &TraceLimits,
        now_ms: i64,
    ) -> Result<(), Refusal> {
        let limits = self.cfg.for_tenant(tenant);
        let mut st = self.state.lock().map_err(|_| poisoned())?;
        st.sweep(now_ms);
        let counters = st.tenants.entry(tenant.to_string()).or_default();
        for l in limits {
            let c = current(counters, l, now_ms);
            let over = match l.metric {
                // One more request must fit.
                Metric::Requests => c.used + 1.0 > l.max,
                // Attempts, tokens and cost are reserved per attempt; here only a budget
                // already spent refuses the call.
                _ => c.used + c.reserved >= l.max,
            };
            if over {
                return Err(tenant_refusal(tenant, l, c, now_ms));
            }
        }
        let t = st.traces.entry(trace.to_string()).or_insert(TraceState {
            first_ms: now_ms,
            ..TraceState::default()
        });
        t.last_ms = now_ms;
        if let Some(max) = tl.max_calls
            && t.calls + 1 > max
        {
            return Err(trace_refusal(
                "trace_call_limit",
                trace,
                format!("{} calls of {max}", t.calls),
            ));
        }
        if let Some(max) = tl.max_seconds {
            let secs = (now_ms - t.first_ms) as f64 / 1000.0;
            if secs > max {
                return Err(trace_refusal(
                    "trace_time_limit",
                    trace,
                    format!("{secs:.0}s of {max:.0}s of wall time"),
                ));
            }
        }
        if let Some(max) = tl.max_tokens
            && t.tokens + t.tokens_reserved >= max as f64
        {
            return Err(trace_refusal(
                "trace_token_limit",
                trace,
                format!("{:.0} tokens of {max}", t.tokens + t.tokens_reserved),
            ));
        }
        if let Some(max) = tl.max_cost
            && t.cost + t.cost_reserved >= max
        {
            return Err(trace_refusal(
                "trace_cost_limit",
                trace,
                format!("${:.4} of ${max:.4}", t.cost + t.cost_reserved),
            ));
        }
        t.calls += 1;
        let counters = st.tenants.entry(tenant.to_string()).or_default();
        for l in limits.iter().filter(|l| l.metric == Metric::Requests) {
            current(counters, l, now_ms).used += 1.0;
        }
        Ok(())
    }

    /// Reserves one attempt's estimate against every limit, or refuses it.
    pub fn reserve(
        self: &Arc<Self>,
        tenant: &str,
        trace: &str,
        tl: &TraceLimits,
        est: Estimate,
        now_ms: i64,
    ) -> Result<Reservation, Refusal> {
        let limits = self.cfg.for_tenant(tenant);
        let mut st = self.state.lock().map_err(|_| poisoned())?;
        let counters = st.tenants.entry(tenant.to_string()).or_default();
        for l in limits.iter().filter(|l| l.metric != Metric::Requests) {
            let c = current(counters, l, now_ms);
            let need = if l.metric == Metric::Attempts {
                1.0
            } else {
                amount(l.metric, &est)
            };
            if c.used + c.reserved + need > l.max {
                return Err(tenant_refusal(tenant, l, c, now_ms));
            }
        }
        let t = st.traces.entry(trace.to_string()).or_insert(TraceState {
            first_ms: now_ms,
            last_ms: now_ms,
            ..TraceState::default()
        });
        let tokens = (est.input_tokens + est.output_tokens) as f64;
        if let Some(max) = tl.max_attempts
            && t.attempts + 1 > max
        {
            return Err(trace_refusal(
                "trace_attempt_limit",
                trace,
                format!("{} attempts of {max}", t.attempts),
            ));
        }
        if let Some(max) = tl.max_tokens
            && t.tokens + t.tokens_reserved + tokens > max as f64
        {
            return Err(trace_refusal(
                "trace_token_limit",
                trace,
                format!(
                    "{:.0} tokens (+{tokens:.0} estimated for this attempt) of {max}",
                    t.tokens + t.tokens_reserved
                ),
            ));
        }
        if let Some(max) = tl.max_cost
            && t.cost + t.cost_reserved + est.cost > max
        {
            return Err(trace_refusal(
                "trace_cost_limit",
                trace,
                format!(
                    "${:.4} (+${:.4} estimated for this attempt) of ${max:.4}",
                    t.cost + t.cost_reserved,
                    est.cost
                ),
            ));
        }
        t.attempts += 1;
        t.tokens_reserved += tokens;
        t.cost_reserved += est.cost;
        t.last_ms = now_ms;
        let counters = st.tenants.entry(tenant.to_string()).or_default();
        let mut windows = Vec::new();
        for l in limits.iter().filter(|l| l.metric != Metric::Requests) {
            let c = current(counters, l, now_ms);
            if l.metric == Metric::Attempts {
                c.used += 1.0;
            } else {
                c.reserved += amount(l.metric, &est);
                windows.push((l.metric, l.window, c.window));
            }
        }
        Ok(Reservation {
            limiter: self.clone(),
            tenant: tenant.to_string(),
            trace: trace.to_string(),
            windows,
            est,
            settled: false,
        })
    }

    fn settle(&self, r: &Reservation, actual: Option<(Usage, f64)>) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        let (usage, cost) = actual.unwrap_or_default();
        let billed = Estimate {
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cost,
        };
        if let Some(counters) = st.tenants.get_mut(&r.tenant) {
            for (metric, window, id) in &r.windows {
                if let Some(c) = counters.get_mut(&(*metric, *window)) {
                    // A window that rolled over meanwhile starts clean: nothing to release.
                    if c.window == *id {
                        c.reserved = (c.reserved - amount(*metric, &r.est)).max(0.0);
                        c.used += amount(*metric, &billed);
                    }
                }
            }
        }
        if let Some(t) = st.traces.get_mut(&r.trace) {
            t.tokens_reserved =
                (t.tokens_reserved - (r.est.input_tokens + r.est.output_tokens) as f64).max(0.0);
            t.cost_reserved = (t.cost_reserved - r.est.cost).max(0.0);
            t.tokens += (billed.input_tokens + billed.output_tokens) as f64;
            t.cost += billed.cost;
        }
    }

    /// Calls and attempts a trace has made so far (for fan-out reporting).
    pub fn trace_fan_out(&self, trace: &str) -> Option<(u64, u64)> {
        let st = self.state.lock().ok()?;
        st.traces.get(trace).map(|t| (t.calls, t.attempts))
    }
}

impl State {
    fn sweep(&mut self, now_ms: i64) {
        if now_ms - self.last_sweep_ms < 60_000 {
            return;
        }
        self.last_sweep_ms = now_ms;
        self.traces
            .retain(|_, t| now_ms - t.last_ms < TRACE_IDLE_MS);
    }
}

/// The counter of a limit's current window, reset when the window rolled over.
fn current<'a>(
    counters: &'a mut HashMap<(Metric, LimitWindow), Counter>,
    l: &TenantLimit,
    now_ms: i64,
) -> &'a mut Counter {
    let (id, _) = window_of(l.window, now_ms);
    let c = counters.entry((l.metric, l.window)).or_default();
    if c.window != id {
        *c = Counter {
            window: id,
            used: 0.0,
            reserved: 0.0,
        };
    }
    c
}

fn tenant_refusal(tenant: &str, l: &TenantLimit, c: &Counter, now_ms: i64) -> Refusal {
    let (_, end) = window_of(l.window, now_ms);
    let wait = Duration::from_millis((end - now_ms).max(0) as u64);
    Refusal {
        code: l.metric.refusal_code(),
        message: format!(
            "Seam limit reached: tenant `{tenant}` may use {} {} per {}; it has used {} (and {} is reserved by calls in flight). The window resets in {}s.",
            fmt_amount(l.metric, l.max),
            l.metric.as_str().replace('_', " "),
            l.window.as_str(),
            fmt_amount(l.metric, c.used),
            fmt_amount(l.metric, c.reserved),
            wait.as_secs().max(1)
        ),
        retry_after: Some(wait),
    }
}

fn trace_refusal(code: &'static str, trace: &str, usage: String) -> Refusal {
    Refusal {
        code,
        message: format!(
            "Seam limit reached: trace `{trace}` has used {usage} allowed per trace ({code}). A trace is one user request and every call it fans out into."
        ),
        retry_after: None,
    }
}

fn poisoned() -> Refusal {
    Refusal {
        code: "limiter_unavailable",
        message: "Seam's limiter is unavailable".into(),
        retry_after: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seam_config::Limits;

    const T0: i64 = 1_795_000_000_000; // 2026-11-18 11:06:40 UTC

    fn limiter(tenant: Vec<TenantLimit>, trace: TraceLimits) -> Arc<Limiter> {
        Arc::new(Limiter::new(Limits {
            tenant_default: tenant,
            trace_default: trace,
            default_output_tokens: 100,
            ..Limits::default()
        }))
    }

    fn lim(metric: Metric, window: LimitWindow, max: f64) -> TenantLimit {
        TenantLimit {
            metric,
            window,
            max,
        }
    }

    #[test]
    fn calendar_windows_roll_over_in_utc() {
        assert_eq!(window_of(LimitWindow::Minute, T0).1, T0 + 20_000);
        let (id, end) = window_of(LimitWindow::Month, T0);
        assert_eq!(id, 2026 * 12 + 11);
        assert_eq!(end, 1_796_083_200_000, "2026-12-01 00:00 UTC");
        let (dec, _) = window_of(LimitWindow::Month, end);
        assert_eq!(dec, 2026 * 12 + 12);
    }

    #[test]
    fn requests_per_minute_refuse_with_retry_after_and_reset() {
        let l = limiter(
            vec![lim(Metric::Requests, LimitWindow::Minute, 2.0)],
            TraceLimits::default(),
        );
        let tl = TraceLimits::default();
        assert!(l.admit_call("acme", "t1", &tl, T0).is_ok());
        assert!(l.admit_call("acme", "t2", &tl, T0 + 1).is_ok());
        let r = l.admit_call("acme", "t3", &tl, T0 + 2).unwrap_err();
        assert_eq!(r.code, "tenant_request_limit");
        assert_eq!(r.retry_after, Some(Duration::from_millis(19_998)));
        assert!(
            r.message.contains("tenant `acme`") && r.message.contains("used 2"),
            "{}",
            r.message
        );
        assert!(
            l.admit_call("other", "t4", &tl, T0 + 2).is_ok(),
            "per tenant"
        );
        assert!(
            l.admit_call("acme", "t5", &tl, T0 + 20_000).is_ok(),
            "next minute"
        );
    }

    #[test]
    fn reservations_cap_concurrent_spend_and_settle_to_the_billed_usage() {
        let l = limiter(
            vec![lim(Metric::Tokens, LimitWindow::Day, 1000.0)],
            TraceLimits::default(),
        );
        let tl = TraceLimits::default();
        let est = Estimate {
            input_tokens: 300,
            output_tokens: 100,
            cost: 0.0,
        };
        let a = l.reserve("acme", "t", &tl, est, T0).unwrap();
        let b = l.reserve("acme", "t", &tl, est, T0).unwrap();
        let refused = l
            .reserve("acme", "t", &tl, est, T0)
            .err()
            .expect("800 reserved + 400 > 1000");
        assert_eq!(refused.code, "tenant_token_limit");
        a.settle(
            Usage {
                input_tokens: 300,
                output_tokens: 20,
            },
            0.0,
        );
        drop(b); // never sent: released
        // 320 used, nothing reserved: 680 left.
        let c = l
            .reserve(
                "acme",
                "t",
                &tl,
                Estimate {
                    input_tokens: 600,
                    output_tokens: 80,
                    cost: 0.0,
                },
                T0,
            )
            .unwrap();
        assert!(
            l.reserve(
                "acme",
                "t",
                &tl,
                Estimate {
                    input_tokens: 1,
                    output_tokens: 0,
                    cost: 0.0
                },
                T0
            )
            .is_err()
        );
        c.settle(
            Usage {
                input_tokens: 600,
                output_tokens: 80,
            },
            0.0,
        );
        let over = l.admit_call("acme", "t2", &tl, T0).unwrap_err();
        assert_eq!(
            over.code, "tenant_token_limit",
            "a spent budget refuses the next call"
        );
    }

    #[test]
    fn trace_caps_count_calls_attempts_and_time() {
        let tl = TraceLimits {
            max_calls: Some(3),
            max_attempts: Some(4),
            max_seconds: Some(60.0),
            ..TraceLimits::default()
        };
        let l = limiter(Vec::new(), tl);
        for _ in 0..3 {
            l.admit_call("acme", "trace-a", &tl, T0).unwrap();
        }
        assert_eq!(
            l.admit_call("acme", "trace-a", &tl, T0).unwrap_err().code,
            "trace_call_limit"
        );
        let rs: Vec<Reservation> = (0..4)
            .map(|_| {
                l.reserve("acme", "trace-a", &tl, Estimate::default(), T0)
                    .unwrap()
            })
            .collect();
        assert_eq!(
            l.reserve("acme", "trace-a", &tl, Estimate::default(), T0)
                .err()
                .unwrap()
                .code,
            "trace_attempt_limit"
        );
        drop(rs);
        assert_eq!(l.trace_fan_out("trace-a"), Some((3, 4)));
        l.admit_call("acme", "trace-b", &tl, T0).unwrap();
        assert_eq!(
            l.admit_call("acme", "trace-b", &tl, T0 + 61_000)
                .unwrap_err()
                .code,
            "trace_time_limit"
        );
    }
}
