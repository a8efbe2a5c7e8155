//! The in-process counters: one gateway, one set of limits.

use super::reseed::Seed;
use super::traces::{TraceState, Traces};
use super::{
    Estimate, Refusal, Scope, TRACE_IDLE_MS, Ticket, TraceRef, amount, scope_refusal,
    trace_refusal, window_of,
};
use crate::observe::Metrics;
use seam_config::{LimitWindow, Metric, TenantLimit, TraceLimits};
use seam_vocab::RefusalCode;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub(super) struct Local {
    state: Mutex<State>,
    metrics: Arc<Metrics>,
}

#[derive(Default)]
struct State {
    /// scope (`tenant:NAME`, `key:ID`) -> (metric, window) -> counter of the current window.
    scopes: HashMap<String, HashMap<(Metric, LimitWindow), Counter>>,
    traces: Traces,
    last_sweep_ms: i64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Counter {
    window: i64,
    used: f64,
    reserved: f64,
}

fn poisoned() -> Refusal {
    Refusal {
        status: 503,
        code: RefusalCode::LimitsUnavailable,
        message: "Seam's limiter is unavailable".into(),
        retry_after: None,
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

impl Local {
    pub(super) fn new(metrics: Arc<Metrics>) -> Local {
        Local {
            state: Mutex::new(State::default()),
            metrics,
        }
    }

    /// The trace's state as the most recently used; evictions are counted.
    fn trace<'s>(&self, st: &'s mut State, t: &TraceRef<'_>, now_ms: i64) -> &'s mut TraceState {
        let (state, evicted) = st.traces.touch(t.tenant, t.id, now_ms, t.cap);
        if evicted > 0 {
            self.metrics.limit_traces_evicted.inc_by(evicted);
        }
        state
    }

    pub(super) fn admit_call(
        &self,
        scopes: &[Scope<'_>],
        trace: &TraceRef<'_>,
        tl: &TraceLimits,
        now_ms: i64,
    ) -> Result<(), Refusal> {
        let mut st = self.state.lock().map_err(|_| poisoned())?;
        st.sweep(now_ms);
        self.metrics.limit_traces.set(st.traces.len() as i64);
        for s in scopes {
            let counters = st.scopes.entry(s.name.clone()).or_default();
            for l in s.limits.iter() {
                let c = current(counters, l, now_ms);
                let over = match l.metric {
                    // One more request must fit.
                    Metric::Requests => c.used + 1.0 > l.max,
                    // Attempts, tokens and cost are reserved per attempt; here only a
                    // budget already spent refuses the call.
                    _ => c.used + c.reserved >= l.max,
                };
                if over {
                    return Err(scope_refusal(s, l, c.used, c.reserved, now_ms));
                }
            }
        }
        let t = self.trace(&mut st, trace, now_ms);
        t.last_ms = now_ms;
        let id = trace.id;
        if let Some(max) = tl.max_calls
            && t.calls + 1 > max
        {
            return Err(trace_refusal(
                RefusalCode::TraceCallLimit,
                id,
                format!("{} calls of {max}", t.calls),
            ));
        }
        if let Some(max) = tl.max_seconds {
            let secs = (now_ms - t.first_ms) as f64 / 1000.0;
            if secs > max {
                return Err(trace_refusal(
                    RefusalCode::TraceTimeLimit,
                    id,
                    format!("{secs:.0}s of {max:.0}s of wall time"),
                ));
            }
        }
        if let Some(max) = tl.max_tokens
            && t.tokens + t.tokens_reserved >= max as f64
        {
            return Err(trace_refusal(
                RefusalCode::TraceTokenLimit,
                id,
                format!("{:.0} tokens of {max}", t.tokens + t.tokens_reserved),
            ));
        }
        if let Some(max) = tl.max_cost
            && t.cost + t.cost_reserved >= max
        {
            return Err(trace_refusal(
                RefusalCode::TraceCostLimit,
                id,
                format!("${:.4} of ${max:.4}", t.cost + t.cost_reserved),
            ));
        }
        t.calls += 1;
        for s in scopes {
            let counters = st.scopes.entry(s.name.clone()).or_default();
            for l in s.limits.iter().filter(|l| l.metric == Metric::Requests) {
                current(counters, l, now_ms).used += 1.0;
            }
        }
        Ok(())
    }

    pub(super) fn reserve(
        &self,
        scopes: &[Scope<'_>],
        ticket: &Ticket,
        trace: &TraceRef<'_>,
        tl: &TraceLimits,
        now_ms: i64,
    ) -> Result<(), Refusal> {
        let est = &ticket.est;
        let id = trace.id;
        let mut st = self.state.lock().map_err(|_| poisoned())?;
        for s in scopes {
            let counters = st.scopes.entry(s.name.clone()).or_default();
            for l in s.limits.iter().filter(|l| l.metric != Metric::Requests) {
                let c = current(counters, l, now_ms);
                let need = match l.metric {
                    Metric::Attempts => 1.0,
                    m => amount(m, est),
                };
                if c.used + c.reserved + need > l.max {
                    return Err(scope_refusal(s, l, c.used, c.reserved, now_ms));
                }
            }
        }
        let t = self.trace(&mut st, trace, now_ms);
        let tokens = est.tokens() as f64;
        if let Some(max) = tl.max_attempts
            && t.attempts + 1 > max
        {
            return Err(trace_refusal(
                RefusalCode::TraceAttemptLimit,
                id,
                format!("{} attempts of {max}", t.attempts),
            ));
        }
        if let Some(max) = tl.max_tokens
            && t.tokens + t.tokens_reserved + tokens > max as f64
        {
            return Err(trace_refusal(
                RefusalCode::TraceTokenLimit,
                id,
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
                RefusalCode::TraceCostLimit,
                id,
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
        for s in scopes {
            let counters = st.scopes.entry(s.name.clone()).or_default();
            for l in s.limits.iter().filter(|l| l.metric != Metric::Requests) {
                let c = current(counters, l, now_ms);
                match l.metric {
                    Metric::Attempts => c.used += 1.0,
                    m => c.reserved += amount(m, est),
                }
            }
        }
        Ok(())
    }

    pub(super) fn settle(&self, r: &Ticket, billed: &Estimate) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        for (scope, metric, window, id) in &r.windows {
            if let Some(c) = st
                .scopes
                .get_mut(scope)
                .and_then(|counters| counters.get_mut(&(*metric, *window)))
                // A window that rolled over meanwhile starts clean: nothing to release.
                && c.window == *id
            {
                c.reserved = (c.reserved - amount(*metric, &r.est)).max(0.0);
                c.used += amount(*metric, billed);
            }
        }
        if let Some(t) = st.traces.get_mut(&r.tenant, &r.trace) {
            t.tokens_reserved = (t.tokens_reserved - r.est.tokens() as f64).max(0.0);
            t.cost_reserved = (t.cost_reserved - r.est.cost).max(0.0);
            t.tokens += billed.tokens() as f64;
            t.cost += billed.cost;
        }
    }

    /// Adds what the records say was spent before `seed.at_ms` to what was counted since.
    pub(super) fn seed(&self, seed: &Seed, cap: usize) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        for (scope, l, spent) in &seed.counters {
            let id = window_of(l.window, seed.at_ms).0;
            let c = st
                .scopes
                .entry(scope.clone())
                .or_default()
                .entry((l.metric, l.window))
                .or_default();
            if c.window < id {
                *c = Counter {
                    window: id,
                    used: 0.0,
                    reserved: 0.0,
                };
            }
            // A counter already in a later window owes nothing to the seeded one.
            if c.window == id {
                c.used += spent;
            }
        }
        for s in &seed.traces {
            let r = TraceRef {
                tenant: &s.tenant,
                id: &s.trace_id,
                cap,
            };
            let t = self.trace(&mut st, &r, s.first_ms);
            t.first_ms = t.first_ms.min(s.first_ms);
            t.last_ms = t.last_ms.max(s.last_ms);
            t.calls += s.calls.max(0) as u64;
            t.attempts += s.attempts.max(0) as u64;
            t.tokens += s.tokens as f64;
            t.cost += s.cost_usd;
        }
        self.metrics.limit_traces.set(st.traces.len() as i64);
    }

    pub(super) fn trace_fan_out(&self, tenant: &str, trace: &str) -> Option<(u64, u64)> {
        let st = self.state.lock().ok()?;
        st.traces.get(tenant, trace).map(|t| (t.calls, t.attempts))
    }
}

impl State {
    fn sweep(&mut self, now_ms: i64) {
        if now_ms - self.last_sweep_ms < 60_000 {
            return;
        }
        self.last_sweep_ms = now_ms;
        self.traces.sweep(now_ms, TRACE_IDLE_MS);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Estimate, Limiter, Reservation};
    use crate::authenticate::Caller;
    use seam_config::{LimitBackend, LimitWindow, Limits, Metric, TenantLimit, TraceLimits};
    use seam_wire::Usage;
    use std::sync::Arc;
    use std::time::Duration;

    const T0: i64 = 1_795_000_000_000; // 2026-11-18 11:06:40 UTC

    fn limiter(tenant: Vec<TenantLimit>, trace: TraceLimits) -> (Arc<Limiter>, Limits) {
        let cfg = Limits {
            tenant_default: tenant,
            trace_default: trace,
            default_output_tokens: 100,
            ..Limits::default()
        };
        let l = Arc::new(Limiter::new(&cfg, crate::observe::Metrics::new()).unwrap());
        (l, cfg)
    }

    fn lim(metric: Metric, window: LimitWindow, max: f64) -> TenantLimit {
        TenantLimit {
            metric,
            window,
            max,
        }
    }

    fn who(tenant: &str) -> Caller {
        Caller {
            tenant: tenant.into(),
            key_id: None,
            key_limits: Arc::from(Vec::new()),
            purpose: seam_vocab::Purpose::Live,
        }
    }

    #[tokio::test]
    async fn requests_per_minute_refuse_with_retry_after_and_reset() {
        let (l, c) = limiter(
            vec![lim(Metric::Requests, LimitWindow::Minute, 2.0)],
            TraceLimits::default(),
        );
        let tl = TraceLimits::default();
        assert!(l.admit_call(&c, &who("acme"), "t1", &tl, T0).await.is_ok());
        assert!(
            l.admit_call(&c, &who("acme"), "t2", &tl, T0 + 1)
                .await
                .is_ok()
        );
        let r = l
            .admit_call(&c, &who("acme"), "t3", &tl, T0 + 2)
            .await
            .unwrap_err();
        assert_eq!(r.code.as_str(), "tenant_request_limit");
        assert_eq!(r.retry_after, Some(Duration::from_millis(19_998)));
        assert!(
            r.message.contains("tenant `acme`") && r.message.contains("used 2"),
            "{}",
            r.message
        );
        assert!(
            l.admit_call(&c, &who("other"), "t4", &tl, T0 + 2)
                .await
                .is_ok(),
            "per tenant"
        );
        assert!(
            l.admit_call(&c, &who("acme"), "t5", &tl, T0 + 20_000)
                .await
                .is_ok(),
            "next minute"
        );
    }

    /// In process and in Redis (127.0.0.1:6379, or SEAM_TEST_REDIS; fails, never skips, when
    /// Redis is not running). The dates themselves are window.rs's tests.
    #[tokio::test]
    async fn a_weekly_limit_resets_on_monday_utc() {
        let redis =
            std::env::var("SEAM_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        for backend in [LimitBackend::Local, LimitBackend::Redis(redis)] {
            let cfg = Limits {
                backend,
                key_prefix: format!("seamtest:week:{}:{}", std::process::id(), T0),
                tenant_default: vec![lim(Metric::Requests, LimitWindow::Week, 1.0)],
                ..Limits::default()
            };
            let l = Arc::new(Limiter::new(&cfg, crate::observe::Metrics::new()).unwrap());
            let tl = TraceLimits::default();
            // The coming Sunday 23:00 and Monday 00:00 UTC: Redis expires a counter at its
            // window's end (plus a day), so the times must be ahead of the clock.
            let monday = seam_config::window_of(LimitWindow::Week, seam_store::now_ms()).1;
            let sunday_23h = monday - 3_600_000;
            let c = &cfg;
            assert!(
                l.admit_call(c, &who("acme"), "t1", &tl, sunday_23h)
                    .await
                    .is_ok()
            );
            let r = l
                .admit_call(c, &who("acme"), "t2", &tl, sunday_23h + 1)
                .await
                .expect_err("the week's one request is used");
            assert_eq!(r.code.as_str(), "tenant_request_limit", "{:?}", cfg.backend);
            assert_eq!(r.retry_after, Some(Duration::from_millis(3_599_999)));
            assert!(r.message.contains("per week"), "{}", r.message);
            assert!(
                l.admit_call(c, &who("acme"), "t3", &tl, monday)
                    .await
                    .is_ok()
            );
        }
    }

    #[tokio::test]
    async fn reservations_cap_concurrent_spend_and_settle_to_the_billed_usage() {
        let (l, c) = limiter(
            vec![lim(Metric::Tokens, LimitWindow::Day, 1000.0)],
            TraceLimits::default(),
        );
        let tl = TraceLimits::default();
        let est = Estimate {
            input_tokens: 300,
            output_tokens: 100,
            cost: 0.0,
        };
        let a = l
            .reserve(&c, &who("acme"), "t", &tl, est, T0)
            .await
            .unwrap();
        let b = l
            .reserve(&c, &who("acme"), "t", &tl, est, T0)
            .await
            .unwrap();
        let refused = l
            .reserve(&c, &who("acme"), "t", &tl, est, T0)
            .await
            .err()
            .expect("800 reserved + 400 > 1000");
        assert_eq!(refused.code.as_str(), "tenant_token_limit");
        a.settle(
            Usage {
                input_tokens: 300,
                output_tokens: 20,
            },
            0.0,
        );
        drop(b); // never sent: released
        let third = l
            .reserve(
                &c,
                &who("acme"),
                "t",
                &tl,
                Estimate {
                    input_tokens: 600,
                    output_tokens: 80,
                    cost: 0.0,
                },
                T0,
            )
            .await
            .unwrap();
        assert!(
            l.reserve(
                &c,
                &who("acme"),
                "t",
                &tl,
                Estimate {
                    input_tokens: 1,
                    output_tokens: 0,
                    cost: 0.0
                },
                T0
            )
            .await
            .is_err()
        );
        third.settle(
            Usage {
                input_tokens: 600,
                output_tokens: 80,
            },
            0.0,
        );
        let over = l
            .admit_call(&c, &who("acme"), "t2", &tl, T0)
            .await
            .unwrap_err();
        assert_eq!(
            over.code.as_str(),
            "tenant_token_limit",
            "a spent budget refuses the next call"
        );
    }

    #[tokio::test]
    async fn trace_caps_count_calls_attempts_and_time() {
        let tl = TraceLimits {
            max_calls: Some(3),
            max_attempts: Some(4),
            max_seconds: Some(60.0),
            ..TraceLimits::default()
        };
        let (l, c) = limiter(Vec::new(), tl);
        for _ in 0..3 {
            l.admit_call(&c, &who("acme"), "trace-a", &tl, T0)
                .await
                .unwrap();
        }
        assert_eq!(
            l.admit_call(&c, &who("acme"), "trace-a", &tl, T0)
                .await
                .unwrap_err()
                .code
                .as_str(),
            "trace_call_limit"
        );
        let mut rs: Vec<Reservation> = Vec::new();
        for _ in 0..4 {
            rs.push(
                l.reserve(&c, &who("acme"), "trace-a", &tl, Estimate::default(), T0)
                    .await
                    .unwrap(),
            );
        }
        assert_eq!(
            l.reserve(&c, &who("acme"), "trace-a", &tl, Estimate::default(), T0)
                .await
                .err()
                .unwrap()
                .code
                .as_str(),
            "trace_attempt_limit"
        );
        drop(rs);
        assert_eq!(l.trace_fan_out("acme", "trace-a"), Some((3, 4)));
        l.admit_call(&c, &who("acme"), "trace-b", &tl, T0)
            .await
            .unwrap();
        assert_eq!(
            l.admit_call(&c, &who("acme"), "trace-b", &tl, T0 + 61_000)
                .await
                .unwrap_err()
                .code
                .as_str(),
            "trace_time_limit"
        );
    }
}
