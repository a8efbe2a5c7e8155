//! Forecasts (`seam forecast`): per tenant, route or key, the chosen model, its backtest
//! against the naive run-rate, the intervals' measured coverage, the next days' totals with
//! their intervals, each series' chart, and every cost or token limit projected to its
//! window's reset. The report is `seam_control::forecast`'s, shared with the CLI; a viewer
//! sees only their tenants.

use super::charts::with_svg;
use super::*;
use seam_control::forecast::{self, BudgetReport, By, Measure, Report, SeriesReport};
use seam_forecast::Quantiles;

/// Charts drawn at most (the table lists every series).
const MAX_CHARTS: usize = 24;
const DAY_MS: i64 = 86_400_000;

/// A median with its 80% interval: `$12.00 [$10.00, $14.00]`.
fn with_interval(m: Measure, q: &Quantiles) -> String {
    format!(
        "{} [{}, {}]",
        m.amount(q.q50),
        m.amount(q.q10),
        m.amount(q.q90)
    )
}

fn series_row(r: &Report, s: &SeriesReport, m: Measure) -> Value {
    let f = &s.forecast;
    let ok = f.status == seam_forecast::Status::Ok;
    let ahead = |days: i64| {
        if ok && days * 24 <= r.horizon_hours as i64 {
            with_interval(m, &f.cumulative(r.start_ms + days * DAY_MS))
        } else {
            "-".into()
        }
    };
    let mase = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.2}"));
    json!({
        "name": s.name,
        "ok": ok,
        "status": forecast::status_text(&f.status),
        "model": f.model.map_or("-", |m| m.name()),
        "mase": mase(f.mase),
        "mase_run_rate": mase(f.mase_run_rate),
        "coverage": f.coverage.as_ref().map_or("-".to_string(), |c| {
            format!("{:.0}% / {:.0}% ({} origins)", c.p80 * 100.0, c.p95 * 100.0, c.origins)
        }),
        "intervals": format!("{:?}", f.intervals).to_lowercase(),
        "next7": ahead(7),
        "next30": ahead(30),
        "warnings": f.warnings,
    })
}

fn budget_row(b: &BudgetReport) -> Value {
    let p = b.projection.as_ref();
    json!({
        "subject": b.subject,
        "limit": format!("{} per {}: {}", b.metric, b.window, b.amount(b.limit)),
        "spent": b.amount(b.spent),
        "reset": timestamp(b.reset_ms),
        "projected": p.map(|p| format!(
            "{} [80%: {} to {}; 95%: {} to {}]",
            b.amount(p.at_reset.q50), b.amount(p.at_reset.q10), b.amount(p.at_reset.q90),
            b.amount(p.at_reset.q025), b.amount(p.at_reset.q975))),
        "crossing": p.map(|p| p.crossing_ms.q50.map_or("not before the reset".into(), timestamp)),
        "chance": p.map(|p| p.p_exceed_label.clone()),
        "exceed": p.is_some_and(|p| p.exceed_projected),
        "note": b.note,
    })
}

/// GET /ui/forecasts?by=tenant&name=&metric=cost&horizon=30d&as_of=2026-01-02.
pub(crate) async fn forecasts(
    State(ui): State<Arc<Ui>>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let who = match signed(&ui, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let bad = |text: String| ui.message(StatusCode::BAD_REQUEST, &text, Some(&who));
    let by_s = param(&q, "by").unwrap_or("tenant");
    let metric = param(&q, "metric").unwrap_or("cost");
    let horizon = param(&q, "horizon").unwrap_or("30d");
    let name = param(&q, "name");
    let as_of = param(&q, "as_of");
    let Some(by) = By::parse(by_s) else {
        return bad(format!("by `{by_s}`: use tenant, route or key"));
    };
    let Some(measure) = Measure::parse(metric) else {
        return bad(format!("metric `{metric}`: use cost, tokens or calls"));
    };
    let horizon_hours = match since_ms(horizon) {
        Ok(ms) if (3_600_000..=400 * DAY_MS).contains(&ms) => (ms / 3_600_000) as usize,
        _ => return bad(format!("horizon `{horizon}`: give 1h to 400d, such as 30d")),
    };
    let as_of_ms = match as_of.map(seam_config::parse_day) {
        None => None,
        Some(Ok(day)) => Some(day * DAY_MS),
        Some(Err(e)) => return bad(format!("as of {e}")),
    };
    let scope = match who.actor.read_scope("reading forecasts") {
        Ok(s) => s,
        Err(e) => return control_error(&ui, &who, e),
    };
    let limits = ui.limits.as_ref().map(|l| l()).unwrap_or_default();
    let calendar = ui.calendar.as_ref().map(|c| c()).unwrap_or_default();
    let query = forecast::Query {
        by,
        name: name.map(str::to_string),
        measure,
        horizon_hours,
        as_of_ms,
        history_days: 90,
        now_ms: seam_store::now_ms(),
        budgets_only: false,
    };
    let loaded = match forecast::load(ui.store.as_ref(), &limits, &calendar, &query, &scope).await {
        Ok(l) => l,
        Err(e) => return control_error(&ui, &who, e),
    };
    // Fitting is CPU work: off the threads that serve requests.
    let report = match tokio::task::spawn_blocking(move || forecast::compute(loaded)).await {
        Ok(r) => r,
        Err(_) => {
            return ui.message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the forecast failed; the gateway's log says why",
                Some(&who),
            );
        }
    };
    let rows: Vec<Value> = report
        .series
        .iter()
        .map(|s| series_row(&report, s, measure))
        .collect();
    let charts: Vec<minijinja::Value> = seam_ui_charts(&report, measure);
    let data = json!({
        "f": {"by": by_s, "metric": metric, "horizon": horizon, "name": name.unwrap_or(""), "as_of": as_of.unwrap_or("")},
        "from": timestamp(report.start_ms),
        "rows": rows,
        "budgets": report.budgets.iter().map(budget_row).collect::<Vec<_>>(),
        "more": report.series.len().saturating_sub(MAX_CHARTS),
    });
    let ctx = minijinja::context! { charts => charts, ..minijinja::Value::from(minijinja::value::Serde(&data)) };
    ui.page(
        StatusCode::OK,
        "Forecasts",
        "forecasts.html",
        ctx,
        Some(&who),
    )
}

/// Each chart as markup (drawn by `crate::svg`, its text escaped there), with its title.
fn seam_ui_charts(r: &Report, m: Measure) -> Vec<minijinja::Value> {
    crate::svg::forecast::charts(r, m)
        .into_iter()
        .take(MAX_CHARTS)
        .map(|c| {
            let title = c.title.clone();
            with_svg(
                &json!({"title": title}),
                vec![("chart", crate::svg::band::band_chart(&c))],
            )
        })
        .collect()
}
