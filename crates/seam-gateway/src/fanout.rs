//! Part of observe: fan-out per trace (calls and attempts one user request turned into),
//! per tenant. A trace is taken as finished once it has been quiet for a while; its totals
//! then go into two histograms.

use crate::FastMap;
use crate::observe::{Metrics, Tenant};
use prometheus_client::metrics::histogram::Histogram;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A trace quiet this long counts as finished.
pub const QUIET: Duration = Duration::from_secs(30);

#[derive(Default)]
pub struct FanOut {
    /// trace -> (tenant, calls, attempts, last seen ms)
    open: Mutex<HashMap<String, (String, u64, u64, i64)>>,
    /// Histogram handles per tenant, so a call that is its own trace costs one lookup.
    handles: std::sync::RwLock<FastMap<String, (Histogram, Histogram)>>,
}

impl FanOut {
    /// Counts one finished call. A call that named no trace is a finished trace of its own.
    pub fn call(
        &self,
        m: &Metrics,
        tenant: &str,
        trace: &str,
        named: bool,
        attempts: u64,
        now_ms: i64,
    ) {
        if !named {
            self.observe_own(m, tenant, attempts);
            return;
        }
        if let Ok(mut open) = self.open.lock() {
            let e = open
                .entry(trace.to_string())
                .or_insert_with(|| (tenant.to_string(), 0, 0, now_ms));
            e.1 += 1;
            e.2 += attempts;
            e.3 = now_ms;
        }
    }

    /// Closes the traces quiet since `QUIET` and records their fan-out.
    pub fn sweep(&self, m: &Metrics, now_ms: i64) {
        let done: Vec<(String, u64, u64)> = match self.open.lock() {
            Ok(mut open) => {
                let quiet = QUIET.as_millis() as i64;
                let mut done = Vec::new();
                open.retain(|_, (tenant, calls, attempts, last)| {
                    let keep = now_ms - *last < quiet;
                    if !keep {
                        done.push((tenant.clone(), *calls, *attempts));
                    }
                    keep
                });
                done
            }
            Err(_) => return,
        };
        for (tenant, calls, attempts) in done {
            observe(m, &tenant, calls, attempts);
        }
    }

    fn observe_own(&self, m: &Metrics, tenant: &str, attempts: u64) {
        let cached = self
            .handles
            .read()
            .ok()
            .and_then(|h| h.get(tenant).cloned());
        let (calls_h, attempts_h) = match cached {
            Some(h) => h,
            None => {
                let t = Tenant {
                    tenant: tenant.to_string(),
                };
                let h = (
                    m.trace_calls.get_or_create(&t).clone(),
                    m.trace_attempts.get_or_create(&t).clone(),
                );
                if let Ok(mut all) = self.handles.write() {
                    all.insert(tenant.to_string(), h.clone());
                }
                h
            }
        };
        calls_h.observe(1.0);
        attempts_h.observe(attempts as f64);
    }

    pub fn spawn_sweeper(self: &Arc<Self>, tasks: &crate::tasks::Tasks, metrics: Arc<Metrics>) {
        let fan = self.clone();
        tasks.spawn("fan-out sweeper", move |mut stop| async move {
            let mut tick = tokio::time::interval(QUIET / 3);
            loop {
                tokio::select! {
                    _ = tick.tick() => fan.sweep(&metrics, seam_store::now_ms()),
                    _ = stop.wait() => return,
                }
            }
        });
    }
}

fn observe(m: &Metrics, tenant: &str, calls: u64, attempts: u64) {
    let t = Tenant {
        tenant: tenant.to_string(),
    };
    m.trace_calls.get_or_create(&t).observe(calls as f64);
    m.trace_attempts.get_or_create(&t).observe(attempts as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_is_observed_once_quiet() {
        let m = Metrics::new();
        let f = FanOut::default();
        for _ in 0..3 {
            f.call(&m, "acme", "t1", true, 2, 1_000);
        }
        f.call(&m, "acme", "own", false, 1, 1_000);
        f.sweep(&m, 10_000);
        let text = m.render();
        assert!(
            text.contains("seam_trace_calls_count{tenant=\"acme\"} 1"),
            "{text}"
        );
        f.sweep(&m, 1_000 + QUIET.as_millis() as i64);
        let text = m.render();
        assert!(
            text.contains("seam_trace_calls_sum{tenant=\"acme\"} 4.0"),
            "{text}"
        );
        assert!(
            text.contains("seam_trace_attempts_sum{tenant=\"acme\"} 7.0"),
            "{text}"
        );
    }
}
