//! Budgets: each cost or token limit with a day, week or month window, projected to its
//! window's reset (docs/forecasts.md "Budgets"). Nothing divides by elapsed time: the
//! projection is what was spent since the window started plus the forecast's sum to the
//! reset, so a window's first hour, December and a year's end need no special case.

use super::series::{By, Measure, subject};
use super::{HOUR_MS, Query};
use seam_config::{LimitWindow as Window, Limits, TenantLimit, window_of, window_start};
use seam_forecast::budget::Projection;
use seam_forecast::{Quantiles, Series, SeriesForecast};
use seam_store::{EventRecord, KeyRecord, Tenants, UsageHour};
use seam_vocab::EventKind;
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// One limit and its projection.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetReport {
    /// `tenant acme` or `key k_…`.
    pub subject: String,
    pub tenant: String,
    pub key: Option<String>,
    /// The limit's metric (`cost`, `tokens`, `input_tokens`, `output_tokens`).
    pub metric: &'static str,
    pub window: &'static str,
    pub limit: f64,
    pub window_start_ms: i64,
    pub reset_ms: i64,
    /// The window's id, which names it among the same limit's windows (events carry it).
    pub window_id: i64,
    /// What the window's complete hours before the forecast's start used.
    pub spent: f64,
    /// None with `note` saying why (a minute or hour window, or a series with no forecast).
    pub projection: Option<Projection>,
    /// `spent` plus the forecast's sum to each day's end from the start to the reset (the
    /// last point is the reset), for charts.
    pub path: Vec<(i64, Quantiles)>,
    /// What had been spent at each day's end since the window started, and at the start.
    pub spent_path: Vec<(i64, f64)>,
    pub note: Option<String>,
}

impl BudgetReport {
    /// A value in the limit's metric as text: `$12.34`, `20000 tokens`, `60 requests`.
    pub fn amount(&self, v: f64) -> String {
        match self.unit() {
            "USD" => format!("${v:.2}"),
            unit => format!("{v:.0} {unit}"),
        }
    }

    /// The limit's unit, as a chart's axis reads it: `USD`, else the metric's name.
    pub fn unit(&self) -> &'static str {
        if self.metric == "cost" {
            "USD"
        } else {
            self.metric
        }
    }

    /// The name that makes one event per limit and window.
    pub fn window_key(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            self.subject, self.metric, self.window, self.window_id
        )
    }
}

/// A limit to project: whose, which, and the series it counts.
pub(crate) struct Job {
    pub report: BudgetReport,
    pub series: Option<Series>,
    pub horizon_hours: usize,
}

/// The keys with limits of their own, and those limits (from the key's stored JSON).
pub fn keys_with_limits(keys: Vec<KeyRecord>) -> Vec<(KeyRecord, Vec<TenantLimit>)> {
    keys.into_iter()
        .filter(|k| k.revoked_ms.is_none())
        .filter_map(|k| {
            let map: BTreeMap<String, f64> = serde_json::from_str(k.limits.as_deref()?).ok()?;
            let limits: Vec<TenantLimit> = map
                .iter()
                .filter_map(|(n, m)| seam_config::parse_limit(n, *m).ok())
                .collect();
            (!limits.is_empty()).then_some((k, limits))
        })
        .collect()
}

/// The limits `q` shows (the tenants' by tenant, the keys' by key, none by route), each with
/// the series it needs.
pub(crate) fn jobs(
    limits: &Limits,
    keys: Vec<(KeyRecord, Vec<TenantLimit>)>,
    hours: &[UsageHour],
    q: &Query,
    scope: &Tenants,
    from: i64,
) -> Vec<Job> {
    let t = q.start_ms();
    let mut out = Vec::new();
    let mut add = |by: By, name: &str, tenant: &str, key: Option<&str>, l: &TenantLimit| {
        let (window_id, reset_ms) = window_of(l.window, t);
        let window_start_ms = window_start(l.window, t);
        let measure = Measure::of_limit(l.metric);
        let mut report = BudgetReport {
            subject: match key {
                Some(k) => format!("key {k}"),
                None => format!("tenant {tenant}"),
            },
            tenant: tenant.to_string(),
            key: key.map(str::to_string),
            metric: l.metric.as_str(),
            window: l.window.as_str(),
            limit: l.max,
            window_start_ms,
            reset_ms,
            window_id,
            spent: 0.0,
            projection: None,
            path: Vec::new(),
            spent_path: Vec::new(),
            note: None,
        };
        let (Some(measure), Window::Day | Window::Week | Window::Month) = (measure, l.window)
        else {
            report.note = Some(format!(
                "not projected: {} per {} (forecasts cover cost and token limits over a day, a week or a month)",
                l.metric.as_str(),
                l.window.as_str()
            ));
            out.push(Job {
                report,
                series: None,
                horizon_hours: 0,
            });
            return;
        };
        let series = subject(hours, by, name, measure, from.min(window_start_ms), t);
        report.spent = super::series::sum(&series, window_start_ms, t);
        let mut total = 0.0;
        report.spent_path = std::iter::once((window_start_ms, 0.0))
            .chain(
                super::series::daily(&series, window_start_ms, t)
                    .into_iter()
                    .map(|(day, v)| {
                        total += v;
                        ((day + super::DAY_MS).min(t), total)
                    }),
            )
            .collect();
        let horizon_hours = usize::try_from((reset_ms - t).div_euclid(HOUR_MS))
            .unwrap_or(0)
            .max(1);
        out.push(Job {
            report,
            series: Some(series),
            horizon_hours,
        });
    };
    let shown = |t: &str| scope.allows(t) && q.name.as_deref().is_none_or(|n| n == t);
    if q.by == By::Tenant || q.budgets_only {
        let mut tenants: BTreeSet<&str> = limits.tenants.keys().map(String::as_str).collect();
        tenants.extend(hours.iter().map(|h| h.tenant.as_str()));
        for tenant in tenants.into_iter().filter(|t| shown(t)) {
            for l in limits.for_tenant(tenant) {
                add(By::Tenant, tenant, tenant, None, l);
            }
        }
    }
    // `keys` is empty unless the query shows keys' limits (by key, or budgets only: `load`).
    for (k, ls) in &keys {
        if scope.allows(&k.tenant) && q.name.as_deref().is_none_or(|n| n == k.id) {
            for l in ls {
                add(By::Key, &k.id, &k.tenant, Some(&k.id), l);
            }
        }
    }
    out
}

/// The `budget_exceed_projected` events the budgets call for that `earlier` (the timeline's
/// events since the oldest window started) does not already hold: one per limit and window.
pub fn exceed_events(budgets: &[BudgetReport], earlier: &[EventRecord]) -> Vec<EventRecord> {
    let seen: BTreeSet<String> = earlier
        .iter()
        .filter(|e| e.kind == EventKind::BudgetExceedProjected)
        .filter_map(|e| {
            let d: serde_json::Value = serde_json::from_str(&e.details).ok()?;
            d.get("window_key")?.as_str().map(str::to_string)
        })
        .collect();
    budgets
        .iter()
        .filter(|b| !seen.contains(&b.window_key()))
        .filter_map(|b| {
            let p = b.projection.as_ref().filter(|p| p.exceed_projected)?;
            let cross = p
                .crossing_ms
                .q50
                .map_or("after the reset".to_string(), seam_store::timestamp);
            let message = format!(
                "{} {} per {}: projected {:.2} at the reset ({}) against a limit of {} (80% likely to exceed; median crossing {cross})",
                b.subject,
                b.metric,
                b.window,
                p.at_reset.q50,
                seam_store::timestamp(b.reset_ms),
                b.limit,
            );
            Some(EventRecord::new(
                EventKind::BudgetExceedProjected,
                message,
                json!({
                    "window_key": b.window_key(),
                    "subject": b.subject,
                    "tenant": b.tenant,
                    "key": b.key,
                    "metric": b.metric,
                    "window": b.window,
                    "limit": b.limit,
                    "spent": b.spent,
                    "reset_ms": b.reset_ms,
                    "projection": p,
                }),
            ))
        })
        .collect()
}

/// `spent` plus `f`'s cumulative quantiles at each day's end from its start to `reset_ms`.
pub(crate) fn path(f: &SeriesForecast, spent: f64, reset_ms: i64) -> Vec<(i64, Quantiles)> {
    let mut out = Vec::new();
    let mut at = f.start_ms;
    while at < reset_ms {
        at = (at + super::DAY_MS).min(reset_ms);
        out.push((at, f.cumulative(at).map(|v| spent + v)));
    }
    out
}
