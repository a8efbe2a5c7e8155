//! Forecasts of usage and spend (docs/forecasts.md): hourly series from the store's rollups
//! and imported history, one forecast per series (`seam_forecast`), and every cost or token
//! limit with a day, week or month window projected to its window's reset. One
//! implementation for `seam forecast`, the dashboard's Forecasts page and the
//! `budget_exceed_projected` events `seam serve` puts on the timeline.

mod budgets;
mod series;

pub use budgets::{BudgetReport, exceed_events, keys_with_limits};
pub use series::{By, Measure};

use crate::{ControlError, Result};
use seam_config::{Calendar, Limits};
use seam_forecast::{Options, Period, Series, SeriesForecast};
use seam_store::{Store, Tenants, hour_floor};
use serde::Serialize;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// What to forecast.
#[derive(Debug, Clone)]
pub struct Query {
    pub by: By,
    /// One series only (a tenant, a route or a key id).
    pub name: Option<String>,
    pub measure: Measure,
    pub horizon_hours: usize,
    /// Forecast from this time, on the history before it (imported history, backtests).
    pub as_of_ms: Option<i64>,
    /// How much history each series is fitted on.
    pub history_days: i64,
    pub now_ms: i64,
    /// Only the budgets, every tenant's and every key's (`seam serve`'s projections): no
    /// series of the view is forecast.
    pub budgets_only: bool,
}

impl Query {
    /// The hour the forecasts start at: `--as-of`'s, or the current hour (only complete hours
    /// are history).
    pub fn start_ms(&self) -> i64 {
        hour_floor(self.as_of_ms.unwrap_or(self.now_ms))
    }
}

/// One series and its forecast.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesReport {
    pub name: String,
    /// The tenant a series belongs to (by tenant or by key); none by route.
    pub tenant: Option<String>,
    /// Daily totals of the history shown (the last 28 days before the forecast), for charts.
    pub history_daily: Vec<(i64, f64)>,
    /// The calendar periods that applied to this series, over its history and horizon.
    pub calendar: Vec<CalendarPeriod>,
    pub forecast: SeriesForecast,
}

#[derive(Debug, Clone, Serialize)]
pub struct CalendarPeriod {
    pub name: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// What `seam forecast` prints and `--json` carries.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub by: &'static str,
    pub metric: &'static str,
    pub start_ms: i64,
    pub horizon_hours: usize,
    pub history_days: i64,
    pub series: Vec<SeriesReport>,
    pub budgets: Vec<BudgetReport>,
}

/// What a report is computed from, read from the store: [`load`] then [`compute`] (the CPU
/// part, for a blocking thread).
pub struct Loaded {
    query: Query,
    series: Vec<(series::Group, Vec<Period>)>,
    budgets: Vec<(budgets::Job, Vec<Period>)>,
}

/// Reads what `q` needs for the tenants `scope` allows.
pub async fn load(
    store: &dyn Store,
    limits: &Limits,
    calendar: &Calendar,
    q: &Query,
    scope: &Tenants,
) -> Result<Loaded> {
    if q.horizon_hours == 0 {
        return Err(ControlError::Invalid(
            "the horizon must be at least 1 hour".into(),
        ));
    }
    let t = q.start_ms();
    let from = t - q.history_days.max(1) * DAY_MS;
    // A month's window can start before the history does: its spend is read too.
    let read_from = from.min(seam_config::window_start(
        seam_config::LimitWindow::Month,
        t,
    ));
    let hours = store.usage_hours(read_from, t, scope).await?;
    let mut groups = if q.budgets_only {
        Vec::new()
    } else {
        series::group(&hours, q.by, q.measure, from, t)
    };
    if let Some(name) = &q.name {
        groups.retain(|g| &g.name == name);
        if groups.is_empty() && !q.budgets_only {
            return Err(ControlError::NotFound(format!(
                "no {} `{name}` has usage in the {} days before {}",
                q.by.as_str(),
                q.history_days,
                seam_store::timestamp(t)
            )));
        }
    }
    let horizon_end = t + hours_ms(q.horizon_hours);
    let series = groups
        .into_iter()
        .map(|g| {
            let p = periods(calendar, g.tenant.as_deref(), from, horizon_end);
            (g, p)
        })
        .collect();
    let keys = if q.by == By::Key || q.budgets_only {
        budgets::keys_with_limits(store.list_keys().await?)
    } else {
        Vec::new()
    };
    let budgets = budgets::jobs(limits, keys, &hours, q, scope, from)
        .into_iter()
        .map(|j| {
            let p = periods(calendar, Some(&j.report.tenant), from, j.report.reset_ms);
            (j, p)
        })
        .collect();
    Ok(Loaded {
        query: q.clone(),
        series,
        budgets,
    })
}

fn hours_ms(h: usize) -> i64 {
    i64::try_from(h)
        .unwrap_or(i64::MAX / HOUR_MS)
        .saturating_mul(HOUR_MS)
}

/// Fits and forecasts every series and projects every budget.
pub fn compute(loaded: Loaded) -> Report {
    let q = &loaded.query;
    let t = q.start_ms();
    let mut work: Vec<(&Series, &[Period], Options)> = Vec::new();
    for (g, p) in &loaded.series {
        work.push((&g.series, p, options(q, q.horizon_hours)));
    }
    for (j, p) in &loaded.budgets {
        if let Some(s) = &j.series {
            work.push((s, p, options(q, j.horizon_hours)));
        }
    }
    let inputs: Vec<(&Series, &[Period], &Options)> =
        work.iter().map(|(s, p, o)| (*s, *p, o)).collect();
    // Two threads: this machine's cores; fitting is CPU-bound.
    let mut forecasts = seam_forecast::forecast_all(&inputs, 2).into_iter();
    let mut series = Vec::new();
    for (g, periods) in loaded.series {
        let Some(forecast) = forecasts.next() else {
            break;
        };
        series.push(SeriesReport {
            history_daily: series::daily(&g.series, t - 28 * DAY_MS, t),
            calendar: periods
                .into_iter()
                .map(|p| CalendarPeriod {
                    name: p.name,
                    start_ms: p.start_ms,
                    end_ms: p.end_ms,
                })
                .collect(),
            name: g.name,
            tenant: g.tenant,
            forecast,
        });
    }
    let mut budgets = Vec::new();
    for (j, _) in loaded.budgets {
        let mut b = j.report;
        if j.series.is_some()
            && let Some(f) = forecasts.next()
        {
            if f.status == seam_forecast::Status::Ok {
                b.projection = Some(seam_forecast::budget::project(
                    &f, b.spent, b.limit, b.reset_ms,
                ));
                b.path = budgets::path(&f, b.spent, b.reset_ms);
            } else {
                b.note = Some(format!("not projected: {}", status_text(&f.status)));
            }
        }
        budgets.push(b);
    }
    Report {
        by: q.by.as_str(),
        metric: q.measure.as_str(),
        start_ms: t,
        horizon_hours: q.horizon_hours,
        history_days: q.history_days,
        series,
        budgets,
    }
}

/// Why a series has no forecast, in words.
pub fn status_text(s: &seam_forecast::Status) -> String {
    use seam_forecast::Status;
    match s {
        Status::Ok => "forecast".into(),
        Status::NoHistory => "no history before the forecast's start".into(),
        Status::NoUsage => "every hour of its history is zero".into(),
        Status::Stopped { last_active_ms } => format!(
            "stopped: nothing since {} (not projected as zero)",
            seam_store::timestamp(*last_active_ms)
        ),
        Status::Insufficient { hours } => {
            format!("{hours} hours of history: at least 24 are needed")
        }
    }
}

/// A model, in words.
pub fn model_text(m: seam_forecast::Model) -> &'static str {
    use seam_forecast::Model;
    match m {
        Model::RunRate => "run-rate (the last week's mean, carried on)",
        Model::SeasonalNaive24 => "seasonal naive, daily (the last day repeated)",
        Model::SeasonalNaive168 => "seasonal naive, weekly (the last week repeated)",
        Model::Mstl => "MSTL (daily and weekly seasons, a trend on daily levels)",
    }
}

/// Where a forecast's intervals come from, in words.
pub fn intervals_text(k: seam_forecast::IntervalKind) -> &'static str {
    use seam_forecast::IntervalKind;
    match k {
        IntervalKind::Calibrated => "calibrated on the backtest's errors",
        IntervalKind::Extrapolated => {
            "calibrated on the backtest's errors, widened past its longest lead"
        }
        IntervalKind::Uncalibrated => {
            "uncalibrated (too little backtest): the run-rate's day-to-day spread; no budget event is raised from it"
        }
    }
}

/// The calendar's multipliers in words, one line per holiday (a range over its days).
pub fn multipliers_text(ms: &[seam_forecast::Multiplier]) -> Vec<String> {
    let mut names: Vec<&str> = ms.iter().map(|m| m.name.as_str()).collect();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let of: Vec<&seam_forecast::Multiplier> =
                ms.iter().filter(|m| m.name == name).collect();
            let lo = of.iter().map(|m| m.value).fold(f64::INFINITY, f64::min);
            let hi = of.iter().map(|m| m.value).fold(f64::NEG_INFINITY, f64::max);
            let n = of.iter().map(|m| m.occurrences).max().unwrap_or(0);
            let factor = if (hi - lo).abs() < 0.005 {
                format!("{lo:.2}")
            } else {
                format!("{lo:.2} to {hi:.2} by day")
            };
            if n == 0 {
                format!("{name}: no past occurrence in the history, so traffic is assumed normal on those days")
            } else {
                format!(
                    "{name}: traffic × {factor} on its future days (learned from {n} past occurrence{})",
                    if n == 1 { "" } else { "s" }
                )
            }
        })
        .collect()
}

fn options(q: &Query, horizon_hours: usize) -> Options {
    Options {
        horizon_hours,
        as_of_ms: Some(q.start_ms()),
        now_ms: q.as_of_ms.unwrap_or(q.now_ms),
        shift_threshold: 0.20,
    }
}

/// The calendar's periods for a tenant's series (those for every tenant, for a route's
/// series) that overlap [`from`, `to`).
fn periods(calendar: &Calendar, tenant: Option<&str>, from: i64, to: i64) -> Vec<Period> {
    calendar
        .holidays
        .iter()
        .filter(|h| match tenant {
            Some(t) => h.applies_to(t),
            None => h.tenants.is_none(),
        })
        .filter(|h| h.end_ms > from && h.start_ms < to)
        .map(|h| Period {
            name: h.name.clone(),
            start_ms: h.start_ms,
            end_ms: h.end_ms,
        })
        .collect()
}
