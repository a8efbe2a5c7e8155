//! Re-seeding: what the stored records say a tenant, a key and an open trace spent, turned
//! into the amounts the counters start from. Run at start (in-process counters begin empty)
//! and when Redis is found empty; always off the request path.
//!
//! Only calls that started before `at_ms` are read: from `at_ms` on the counters counted
//! live, so nothing is counted twice. Records still queued in a process that died are lost
//! to this as they are to the store.

use super::{TRACE_IDLE_MS, key_scope, tenant_scope, window_start};
use seam_config::{Limits, Metric, TenantLimit};
use seam_store::{Reports, Spend, SpendQuery, SpendRow, TraceSpend};
use std::collections::HashMap;
use std::sync::Arc;

/// The keys with limits of their own: key id -> limits.
pub(super) type KeyLimits = HashMap<String, Arc<[TenantLimit]>>;

/// What the counters start from.
pub(super) struct Seed {
    /// Counted live from here on.
    pub at_ms: i64,
    /// Scope (`tenant:NAME`, `key:ID`), limit, and what was spent in that limit's window
    /// (the one `at_ms` falls in) before `at_ms`.
    pub counters: Vec<(String, TenantLimit, f64)>,
    /// Named traces with a call in the last [`TRACE_IDLE_MS`] before `at_ms`.
    pub traces: Vec<TraceSpend>,
}

/// Reads the store and builds the seed for the limits in force.
pub(super) async fn read(
    store: &dyn Reports,
    cfg: &Limits,
    keys: &KeyLimits,
    at_ms: i64,
) -> Result<Seed, String> {
    let mut window_starts: Vec<i64> = all_limits(cfg, keys)
        .map(|l| window_start(l.window, at_ms))
        .collect();
    window_starts.sort_unstable();
    window_starts.dedup();
    let q = SpendQuery {
        window_starts,
        until_ms: at_ms,
        traces_since_ms: at_ms - TRACE_IDLE_MS,
    };
    let spend = store
        .spend(&q)
        .await
        .map_err(|e| format!("reading what was spent: {e}"))?;
    Ok(build(cfg, keys, spend, at_ms))
}

fn all_limits<'a>(cfg: &'a Limits, keys: &'a KeyLimits) -> impl Iterator<Item = &'a TenantLimit> {
    cfg.tenant_default
        .iter()
        .chain(cfg.tenants.values().flatten())
        .chain(keys.values().flat_map(|l| l.iter()))
}

/// What a row spent of `metric` as the limits count it: eval and canary traffic's cost only
/// when their `count_in_budgets` says so (see `Limiter::holds`).
fn amount(cfg: &Limits, metric: Metric, r: &SpendRow) -> f64 {
    match metric {
        Metric::Cost => r.counted_cost(cfg.count_evals_in_cost, cfg.count_canaries_in_cost),
        Metric::Requests => r.requests as f64,
        Metric::Attempts => r.attempts as f64,
        Metric::InputTokens => r.input_tokens as f64,
        Metric::OutputTokens => r.output_tokens as f64,
        Metric::Tokens => (r.input_tokens + r.output_tokens) as f64,
    }
}

fn build(cfg: &Limits, keys: &KeyLimits, spend: Spend, at_ms: i64) -> Seed {
    // (scope, window start) -> the rows to total: a tenant's over all its keys.
    let mut by_scope: HashMap<(String, i64), Vec<&SpendRow>> = HashMap::new();
    let mut tenants: Vec<&str> = Vec::new();
    for r in &spend.windows {
        by_scope
            .entry((tenant_scope(&r.tenant), r.since_ms))
            .or_default()
            .push(r);
        tenants.push(&r.tenant);
        if let Some(k) = r.key_id.as_deref().filter(|k| keys.contains_key(*k)) {
            by_scope
                .entry((key_scope(k), r.since_ms))
                .or_default()
                .push(r);
        }
    }
    tenants.sort_unstable();
    tenants.dedup();
    let scopes = tenants
        .into_iter()
        .map(|t| (tenant_scope(t), cfg.for_tenant(t)))
        .chain(keys.iter().map(|(k, l)| (key_scope(k), &l[..])));
    let mut counters = Vec::new();
    for (scope, limits) in scopes {
        for l in limits {
            let Some(rows) = by_scope.get(&(scope.clone(), window_start(l.window, at_ms))) else {
                continue;
            };
            let spent: f64 = rows.iter().map(|r| amount(cfg, l.metric, r)).sum();
            if spent > 0.0 {
                counters.push((scope.clone(), *l, spent));
            }
        }
    }
    Seed {
        at_ms,
        counters,
        traces: spend.traces,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seam_config::LimitWindow;

    const T0: i64 = 1_795_000_000_000; // 2026-11-18 11:06:40 UTC

    fn row(since_ms: i64, tenant: &str, key: Option<&str>, cost: f64) -> SpendRow {
        SpendRow {
            since_ms,
            tenant: tenant.into(),
            key_id: key.map(str::to_string),
            requests: 2,
            attempts: 3,
            input_tokens: 10,
            output_tokens: 20,
            cost_usd: cost,
            eval_cost_usd: 0.0,
            canary_cost_usd: 0.0,
        }
    }

    #[test]
    fn a_tenant_totals_its_keys_and_a_key_with_limits_has_its_own() {
        let lim = |metric, window, max| TenantLimit {
            metric,
            window,
            max,
        };
        let cfg = Limits {
            tenant_default: vec![
                lim(Metric::Cost, LimitWindow::Month, 10.0),
                lim(Metric::Tokens, LimitWindow::Day, 1e6),
            ],
            ..Limits::default()
        };
        let mut keys = KeyLimits::new();
        keys.insert(
            "key_1".into(),
            Arc::from(vec![lim(Metric::Requests, LimitWindow::Day, 100.0)]),
        );
        let month = window_start(LimitWindow::Month, T0);
        let day = window_start(LimitWindow::Day, T0);
        let spend = Spend {
            windows: vec![
                row(month, "acme", Some("key_1"), 1.0),
                row(month, "acme", None, 2.0),
                row(day, "acme", Some("key_1"), 0.5),
                row(day, "acme", Some("key_2"), 0.25),
            ],
            traces: Vec::new(),
        };
        let mut got = build(&cfg, &keys, spend, T0).counters;
        got.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.metric.cmp(&b.1.metric)));
        let got: Vec<(String, Metric, f64)> =
            got.into_iter().map(|(s, l, v)| (s, l.metric, v)).collect();
        assert_eq!(
            got,
            vec![
                ("key:key_1".into(), Metric::Requests, 2.0),
                ("tenant:acme".into(), Metric::Tokens, 60.0),
                ("tenant:acme".into(), Metric::Cost, 3.0),
            ]
        );
    }
}

#[cfg(test)]
mod eval_tests {
    use super::*;
    use seam_config::LimitWindow;

    const T0: i64 = 1_795_000_000_000;

    /// Eval and canary traffic's cost is not re-counted against cost limits unless each is
    /// configured to count; their requests and tokens are.
    #[test]
    fn eval_and_canary_cost_is_seeded_only_when_it_counts() {
        let lim = |metric| TenantLimit {
            metric,
            window: LimitWindow::Month,
            max: 1e9,
        };
        let mut cfg = Limits {
            tenant_default: vec![lim(Metric::Cost), lim(Metric::Requests)],
            ..Limits::default()
        };
        let spend = || Spend {
            windows: vec![SpendRow {
                since_ms: window_start(LimitWindow::Month, T0),
                tenant: "acme".into(),
                key_id: None,
                requests: 3,
                attempts: 3,
                input_tokens: 1,
                output_tokens: 1,
                cost_usd: 1.75,
                eval_cost_usd: 1.0,
                canary_cost_usd: 0.25,
            }],
            traces: Vec::new(),
        };
        let seeded = |cfg: &Limits| {
            let mut got: Vec<(Metric, f64)> = build(cfg, &KeyLimits::new(), spend(), T0)
                .counters
                .into_iter()
                .map(|(_, l, v)| (l.metric, v))
                .collect();
            got.sort_by_key(|a| a.0);
            got
        };
        assert_eq!(seeded(&cfg), [(Metric::Requests, 3.0), (Metric::Cost, 0.5)]);
        cfg.count_evals_in_cost = true;
        assert_eq!(seeded(&cfg), [(Metric::Requests, 3.0), (Metric::Cost, 1.5)]);
        cfg.count_canaries_in_cost = true;
        assert_eq!(
            seeded(&cfg),
            [(Metric::Requests, 3.0), (Metric::Cost, 1.75)]
        );
        cfg.count_evals_in_cost = false;
        assert_eq!(
            seeded(&cfg),
            [(Metric::Requests, 3.0), (Metric::Cost, 0.75)]
        );
    }
}
