//! The seed's story "the token forecast that mistook a holiday trough for the new baseline":
//! ten weeks of history from before Seam (imported, as `seam usage import` would) with a
//! weekly rhythm and a Christmas trough. On 2 January the naive run-rate (the last week's
//! rate, carried forward) under-forecasts the next 30 days by about a third; Seam's forecast,
//! which masks the calendar's Christmas–New Year and fills it from the seasonal pattern, lands
//! within its interval and says why it did not follow the trough. The truth is the same
//! seeded generator's next 30 days.

use seam_control::forecast::{self, By, Measure, Query};
use seam_forecast::synth::{Spec, generate};
use seam_store::{ImportedHour, Store, Tenants};
use std::path::Path;

const DAY_MS: i64 = 86_400_000;
/// 2025-10-24 00:00 UTC: ten weeks before 2 January 2026.
const START_MS: i64 = 1_761_264_000_000;
const HISTORY_DAYS: usize = 70;
const AHEAD_DAYS: usize = 30;
const TENANT: &str = "demo";

/// The calendar entry the demo's config carries (docs/forecasts.md "The calendar").
pub(super) const CALENDAR: &str = r#"
[[calendar.holidays]]
name = "Christmas–New Year"
start = "2025-12-22"
end = "2026-01-02"

[[calendar.holidays]]
name = "Christmas–New Year"
start = "2026-12-22"
end = "2027-01-02"
"#;

pub(super) async fn holiday_trough(store: &dyn Store, config: &Path) -> anyhow::Result<()> {
    println!("\nForecast: the holiday trough a naive forecast takes for the new baseline");
    // The seeded generator's story (seam_forecast::synth), +0.2% a day, a third off at Christmas.
    let series = generate(2026, &Spec::holiday_story(0.002), START_MS);
    let history = &series.values[..HISTORY_DAYS * 24];
    let rows: Vec<ImportedHour> = history
        .iter()
        .enumerate()
        .map(|(i, cost)| ImportedHour {
            hour_ms: START_MS + i as i64 * 3_600_000,
            tenant: TENANT.into(),
            route: "chat".into(),
            key_id: String::new(),
            // About 5 USD per million tokens, a fifth of them output.
            input_tokens: (cost * 160_000.0) as i64,
            output_tokens: (cost * 40_000.0) as i64,
            cost_usd: *cost,
            calls: (cost * 60.0) as i64,
        })
        .collect();
    store.import_hours(&rows).await?;
    println!(
        "  ten weeks of spend from before Seam imported (2025-10-24 to 2026-01-01, {} hours; `seam usage import`), with a quieter weekend and Christmas–New Year in [calendar]",
        rows.len()
    );
    let as_of = START_MS + HISTORY_DAYS as i64 * DAY_MS;
    let cfg = seam_config::load_lenient(config)?;
    let q = Query {
        by: By::Tenant,
        name: Some(TENANT.into()),
        measure: Measure::Cost,
        horizon_hours: AHEAD_DAYS * 24,
        as_of_ms: Some(as_of),
        history_days: HISTORY_DAYS as i64,
        now_ms: as_of,
        budgets_only: false,
    };
    let loaded = forecast::load(store, &cfg.limits, &cfg.calendar, &q, &Tenants::All).await?;
    let report = tokio::task::spawn_blocking(move || forecast::compute(loaded)).await?;
    let Some(s) = report.series.first() else {
        anyhow::bail!("the demo's forecast found no series for tenant {TENANT}");
    };
    let f = &s.forecast;
    let truth: f64 = series.values[HISTORY_DAYS * 24..].iter().sum();
    let last_week: f64 = history[history.len() - 7 * 24..].iter().sum();
    let run_rate = last_week / 7.0 * AHEAD_DAYS as f64;
    let q = f.cumulative(as_of + AHEAD_DAYS as i64 * DAY_MS);
    let off = |v: f64| (v - truth) / truth * 100.0;
    println!("  on 2026-01-02, spend over the next {AHEAD_DAYS} days:");
    let happened = format!("what happened (the generator's next {AHEAD_DAYS} days)");
    println!("    {happened:<52} ${truth:.0}");
    println!(
        "    {:<52} ${run_rate:.0} ({:+.0}%)",
        "naive run-rate (the last 7 days' rate, carried on)",
        off(run_rate)
    );
    let inside = |lo: f64, hi: f64| {
        if (lo..=hi).contains(&truth) {
            "inside"
        } else {
            "OUTSIDE"
        }
    };
    println!(
        "    {:<52} ${:.0} ({:+.0}%); 80% interval ${:.0} to ${:.0} ({} it), 95% ${:.0} to ${:.0} ({} it)",
        format!(
            "Seam's forecast ({}), ESTIMATE",
            f.model.map_or("none", |m| m.name())
        ),
        q.q50,
        off(q.q50),
        q.q10,
        q.q90,
        inside(q.q10, q.q90),
        q.q025,
        q.q975,
        inside(q.q025, q.q975)
    );
    for w in &f.warnings {
        println!("  warning: {w}");
    }
    println!(
        "  seam forecast --as-of 2026-01-02 --name {TENANT} --horizon {AHEAD_DAYS}d --plot forecast.svg --config {}",
        config.display()
    );
    Ok(())
}
