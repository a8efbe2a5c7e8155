//! `seam forecast`: usage and spend forecasts per tenant, route or key, with calibrated
//! intervals and budgets projected to their windows' resets (docs/forecasts.md). The
//! forecasts themselves are `seam_control::forecast`'s, shared with the dashboard.

use crate::cli::StoreArgs;
use crate::format::parse_since;
use seam_control::forecast::{self, BudgetReport, By, Measure, Query, Report, SeriesReport};
use seam_forecast::{Quantiles, Status};
use seam_store::timestamp;
use std::fmt::Write as _;
use std::path::PathBuf;

const DAY_MS: i64 = 86_400_000;

/// `seam forecast`'s options.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// tenant, route or key.
    #[arg(long, default_value = "tenant")]
    pub by: String,
    /// One series only: a tenant, a route or a key id.
    #[arg(long)]
    pub name: Option<String>,
    /// cost (USD), tokens (input plus output) or calls.
    #[arg(long, default_value = "cost")]
    pub metric: String,
    /// How far ahead: 7d, 30d, 90d.
    #[arg(long, default_value = "30d")]
    pub horizon: String,
    /// How much history each series is fitted on.
    #[arg(long, default_value = "90d")]
    pub history: String,
    /// Forecast from this UTC date or time, on the history before it (imported history,
    /// backtests): 2026-01-02.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// Output as JSON (one document; the same facts as the text, with a `budgets` section).
    #[arg(long)]
    pub json: bool,
    /// Also write the charts (history, forecast, both intervals, calendar periods, limits)
    /// to this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

fn hours_of(flag: &str, s: &str) -> anyhow::Result<usize> {
    let d = parse_since(s).map_err(|e| anyhow::anyhow!("--{flag} `{s}`: {e}"))?;
    let h = d.as_secs() / 3600;
    if h == 0 {
        anyhow::bail!("--{flag} `{s}`: at least 1h");
    }
    if h > 24 * 400 {
        anyhow::bail!("--{flag} `{s}`: at most 400d");
    }
    Ok(usize::try_from(h)?)
}

/// A date (`2026-01-02`, its UTC midnight) or a time (`2026-01-02T10:00:00Z`), in ms.
pub fn parse_as_of(s: &str) -> anyhow::Result<i64> {
    crate::usage::when::parse_time(s).map_err(|e| anyhow::anyhow!("--as-of {e}"))
}

/// `seam forecast`.
pub async fn run(store_args: &StoreArgs, args: &Args) -> anyhow::Result<()> {
    let by = By::parse(&args.by)
        .ok_or_else(|| anyhow::anyhow!("--by `{}`: use tenant, route or key", args.by))?;
    let measure = Measure::parse(&args.metric)
        .ok_or_else(|| anyhow::anyhow!("--metric `{}`: use cost, tokens or calls", args.metric))?;
    let horizon_hours = hours_of("horizon", &args.horizon)?;
    let history_days = i64::try_from(hours_of("history", &args.history)? / 24)?;
    if history_days < 1 {
        anyhow::bail!("--history `{}`: at least 1d", args.history);
    }
    let as_of_ms = args.as_of.as_deref().map(parse_as_of).transpose()?;
    // Limits and the calendar come from the config; with `--store` and no config file there
    // are none, which the output says.
    let (limits, calendar) = if store_args.store.is_some() && !store_args.config.exists() {
        if !args.json {
            eprintln!(
                "no config at {}: no limits to project and no calendar periods",
                store_args.config.display()
            );
        }
        (
            seam_config::Limits::default(),
            seam_config::Calendar::default(),
        )
    } else {
        let cfg = seam_config::load_lenient(&store_args.config)?;
        (cfg.limits, cfg.calendar)
    };
    let (store, who) = crate::actor::open_as(store_args).await?;
    let scope = who.read_scope("reading forecasts")?;
    let q = Query {
        by,
        name: args.name.clone(),
        measure,
        horizon_hours,
        as_of_ms,
        history_days,
        now_ms: seam_store::now_ms(),
        budgets_only: false,
    };
    let loaded = forecast::load(&store, &limits, &calendar, &q, &scope).await?;
    if !args.json {
        eprintln!("fitting and backtesting each series…");
    }
    let report = tokio::task::spawn_blocking(move || forecast::compute(loaded)).await?;
    if let Some(path) = &args.plot {
        let svg = seam_ui::forecast_svg(&report, measure);
        let tmp = path.with_extension("svg.tmp");
        std::fs::write(&tmp, svg)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| anyhow::anyhow!("--plot {}: {e}", path.display()))?;
        if !args.json {
            eprintln!("chart written to {}", path.display());
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", text(&report, measure));
    }
    Ok(())
}

/// A median with its 80% and 95% intervals, each value written by `amount`.
fn interval(amount: impl Fn(f64) -> String, q: &Quantiles) -> String {
    format!(
        "{} [80%: {} to {}; 95%: {} to {}]",
        amount(q.q50),
        amount(q.q10),
        amount(q.q90),
        amount(q.q025),
        amount(q.q975)
    )
}

fn series_text(out: &mut String, s: &SeriesReport, m: Measure, t: i64, horizon_hours: usize) {
    let f = &s.forecast;
    let _ = writeln!(out, "\n{}", s.name);
    if f.status != Status::Ok {
        let _ = writeln!(out, "  no forecast: {}", forecast::status_text(&f.status));
        return;
    }
    if let Some(model) = f.model {
        let _ = writeln!(
            out,
            "  model: {}, chosen by a rolling-origin backtest over {} origins",
            forecast::model_text(model),
            f.backtest.origins_ms.len()
        );
    }
    let mase = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.2}"));
    let _ = writeln!(
        out,
        "  backtest MASE: {} (naive run-rate: {}; scaled by the {})",
        mase(f.mase),
        mase(f.mase_run_rate),
        f.mase_scale
    );
    let _ = writeln!(
        out,
        "  intervals: {}",
        forecast::intervals_text(f.intervals)
    );
    if let Some(c) = &f.coverage {
        let _ = writeln!(
            out,
            "  measured coverage on held-out origins: 80% interval {:.0}%, 95% interval {:.0}% ({} origins, {} points)",
            c.p80 * 100.0,
            c.p95 * 100.0,
            c.origins,
            c.points
        );
    }
    let horizon_days = (horizon_hours / 24) as i64;
    let mut leads: Vec<i64> = [1, 7, 30, horizon_days]
        .into_iter()
        .filter(|d| (1..=horizon_days).contains(d))
        .collect();
    leads.dedup();
    for days in leads {
        let q = f.cumulative(t + days * DAY_MS);
        let _ = writeln!(
            out,
            "  next {days:>3} days: {} (estimated)",
            interval(|v| m.amount(v), &q)
        );
    }
    for line in forecast::multipliers_text(&f.multipliers) {
        let _ = writeln!(out, "  calendar: {line}");
    }
    for w in &f.warnings {
        let _ = writeln!(out, "  warning: {w}");
    }
}

fn budget_text(out: &mut String, b: &BudgetReport) {
    let _ = write!(
        out,
        "  {} {} per {}: limit {}, spent {} since {}",
        b.subject,
        b.metric,
        b.window,
        b.amount(b.limit),
        b.amount(b.spent),
        timestamp(b.window_start_ms)
    );
    match (&b.projection, &b.note) {
        (Some(p), _) => {
            let _ = writeln!(
                out,
                "\n    at the reset ({}): {} (estimated)",
                timestamp(b.reset_ms),
                interval(|v| b.amount(v), &p.at_reset)
            );
            let when = |c: Option<i64>| c.map_or("not before the reset".to_string(), timestamp);
            let _ = writeln!(
                out,
                "    limit reached: {} (median); {} (80th percentile of spend); {} (20th)",
                when(p.crossing_ms.q50),
                when(p.crossing_ms.q80),
                when(p.crossing_ms.q20),
            );
            if p.exceed_projected {
                let _ = writeln!(
                    out,
                    "    EXCEED PROJECTED: at least 80% likely to pass the limit before the reset"
                );
            }
        }
        (None, Some(note)) => {
            let _ = writeln!(out, "\n    {note}");
        }
        (None, None) => out.push('\n'),
    }
}

/// The report as text: each series, then the budgets, then the method.
pub fn text(r: &Report, m: Measure) -> String {
    let mut out = format!(
        "Forecast of {} by {}, from {} for {} days (fitted on up to {} days of complete hours; every figure below is an estimate)\n",
        r.metric,
        r.by,
        timestamp(r.start_ms),
        r.horizon_hours / 24,
        r.history_days
    );
    if r.series.is_empty() {
        out.push_str("\nno usage in that history\n");
    }
    for s in &r.series {
        series_text(&mut out, s, m, r.start_ms, r.horizon_hours);
    }
    if !r.budgets.is_empty() {
        out.push_str("\nBudgets, projected to each window's reset:\n");
        for b in &r.budgets {
            budget_text(&mut out, b);
        }
    }
    out.push_str(
        "\nMethod: per series, a run-rate, seasonal naive (24 h, 168 h) and MSTL (daily and weekly seasons, ETS trend) are compared by a rolling-origin backtest; the lowest MASE wins. Intervals are the backtest's own errors (split-conformal per lead), with their coverage measured on held-out origins. Calendar periods are masked and their effect applied as a multiplier. docs/forecasts.md has the details.\n",
    );
    out
}
