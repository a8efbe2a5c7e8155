//! A forecast report as charts: per series, its daily history and forecast with both bands,
//! its calendar periods and its daily limits; per week or month budget, what was spent and
//! its projection to the reset against the limit. `seam forecast --plot` stacks them in one
//! SVG file; the Forecasts page shows them one by one.

use super::band::{BandChart, band_chart};
use seam_control::forecast::{BudgetReport, By, Measure, Report, SeriesReport};

/// Whether a budget is about this series (its subject and its measure).
fn budget_of(r: &Report, s: &SeriesReport, b: &BudgetReport, m: Measure) -> bool {
    let subject = match By::parse(r.by) {
        Some(By::Tenant) => b.key.is_none() && b.tenant == s.name,
        Some(By::Key) => b.key.as_deref() == Some(s.name.as_str()),
        _ => false,
    };
    subject && b.metric == m.as_str()
}

/// One series' chart.
pub fn series_chart(r: &Report, s: &SeriesReport, m: Measure) -> BandChart {
    let f = &s.forecast;
    BandChart {
        title: format!("{} by {}: {} (daily, estimated)", s.name, r.by, r.metric),
        unit: m.unit().to_string(),
        history: s.history_daily.clone(),
        forecast: f.daily.iter().map(|d| (d.start_ms, d.point)).collect(),
        band80: f
            .daily
            .iter()
            .map(|d| (d.start_ms, d.lo80, d.hi80))
            .collect(),
        band95: f
            .daily
            .iter()
            .map(|d| (d.start_ms, d.lo95, d.hi95))
            .collect(),
        shaded: s
            .calendar
            .iter()
            .map(|p| (p.start_ms, p.end_ms, p.name.clone()))
            .collect(),
        lines: r
            .budgets
            .iter()
            .filter(|b| b.window == "day" && budget_of(r, s, b, m))
            .map(|b| (b.limit, format!("daily limit {}", b.amount(b.limit))))
            .collect(),
        start: Some(r.start_ms),
    }
}

/// A budget's chart: spent by the start, its projection to the reset, the limit.
pub fn budget_chart(b: &BudgetReport) -> Option<BandChart> {
    b.projection.as_ref()?;
    let mut forecast = vec![(
        b.spent_path.last().map_or(b.window_start_ms, |p| p.0),
        b.spent,
    )];
    forecast.extend(b.path.iter().map(|(t, q)| (*t, q.q50)));
    Some(BandChart {
        title: format!(
            "{} {} per {}: spent and projected to the reset (estimated)",
            b.subject, b.metric, b.window
        ),
        unit: b.unit().to_string(),
        history: b.spent_path.clone(),
        forecast,
        band80: b.path.iter().map(|(t, q)| (*t, q.q10, q.q90)).collect(),
        band95: b.path.iter().map(|(t, q)| (*t, q.q025, q.q975)).collect(),
        shaded: Vec::new(),
        lines: vec![(b.limit, format!("limit {}", b.amount(b.limit)))],
        start: None,
    })
}

/// Every chart of a report: each series', then each week or month budget's.
pub fn charts(r: &Report, m: Measure) -> Vec<BandChart> {
    let mut out: Vec<BandChart> = r.series.iter().map(|s| series_chart(r, s, m)).collect();
    out.extend(
        r.budgets
            .iter()
            .filter(|b| b.window != "day")
            .filter_map(budget_chart),
    );
    out
}

/// The charts stacked in one SVG document (`seam forecast --plot`), at most `max`.
pub fn forecast_svg(r: &Report, m: Measure) -> String {
    const MAX: usize = 40;
    let charts = charts(r, m);
    let shown = &charts[..charts.len().min(MAX)];
    let (w, h) = (640, 260);
    let total = h * shown.len().max(1);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{total}\" viewBox=\"0 0 {w} {total}\">\
         <rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{total}\" fill=\"#ffffff\"/>"
    );
    for (i, c) in shown.iter().enumerate() {
        out.push_str(&format!("<g transform=\"translate(0,{})\">", i * h));
        out.push_str(&band_chart(c));
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    out
}
