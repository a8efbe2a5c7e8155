//! The value of evals (`seam report value`): the value ledger of a quarter (`?quarter=2026Q4`,
//! the current one by default) or of a window (`?since=90d`), summed per prompt and in total,
//! and its entries; the same report as the CLI's (`seam_control::value`), and its CSV and JSON
//! as downloads. Any signed-in user reads it, as the CLI lets any user.

use super::*;
use axum::response::IntoResponse;
use seam_control::value::{ValueReport, quarter, quarter_of, report};
use seam_evals::value::{Estimate, LedgerEntry, METHOD, ValueRow};

/// The period asked for: a quarter, or a window up to now.
struct Period {
    quarter: Option<String>,
    since: Option<String>,
    start: i64,
    end: i64,
}

/// `?quarter=` or `?since=`, not both; neither is the current quarter.
fn period(q: &HashMap<String, String>, now: i64) -> Result<Period, String> {
    match (param(q, "quarter"), param(q, "since")) {
        (Some(_), Some(_)) => Err("give a quarter or a since window, not both".into()),
        (None, Some(s)) => Ok(Period {
            quarter: None,
            since: Some(s.to_string()),
            start: now - since_ms(s)?,
            end: now,
        }),
        (qt, None) => {
            let qt = qt.map_or_else(|| quarter_of(now), str::to_string);
            let (start, end) = quarter(&qt).map_err(|e| e.to_string())?;
            Ok(Period {
                quarter: Some(qt.trim().to_uppercase()),
                since: None,
                start,
                end,
            })
        }
    }
}

fn two(x: f64) -> String {
    format!("{x:.2}")
}

/// An estimate with its interval, `12.30 [-1.00, 25.00]`; `-` when there is none.
fn estimate(e: Option<Estimate>) -> String {
    e.map_or("-".into(), |e| {
        format!("{} [{}, {}]", two(e.estimate), two(e.low), two(e.high))
    })
}

/// A prompt's page, unless the row is the total or of no prompt.
fn prompt_link(p: &str) -> Option<String> {
    (p != "TOTAL" && p != "(none)").then(|| segment(p))
}

fn row(r: &ValueRow) -> Value {
    json!({
        "prompt": r.prompt,
        "link": prompt_link(&r.prompt),
        "total": r.prompt == "TOTAL",
        "decisions": r.decisions,
        "blocked": r.regressions_blocked,
        "overridden": r.overridden,
        "repeated": r.repeated,
        "failures_avoided": estimate(r.failures_avoided),
        "cost_avoided": estimate(r.cost_avoided_usd),
        "without_cost": r.without_cost,
        "spend": format!("{:.4}", r.eval_spend_usd),
        "per_dollar": estimate(r.cost_avoided_per_usd),
    })
}

/// A failure-rate change as a signed percentage, with its interval.
fn rate_change(e: &LedgerEntry) -> String {
    let signed = |x: f64| format!("{}{}", if x > 0.0 { "+" } else { "" }, pct(x));
    match (e.failure_rate_change, e.failure_rate_change_interval) {
        (Some(c), Some(i)) => format!("{} [{}, {}]", signed(c), signed(i.low), signed(i.high)),
        (Some(c), None) => signed(c),
        _ => "-".into(),
    }
}

fn entry(r: &seam_control::value::ReportEntry) -> Value {
    let e = &r.entry;
    let prompt = e.prompt.as_deref();
    let release = |id: &Option<String>| {
        json!({
            "id": id.as_deref().unwrap_or("-"),
            "link": prompt.zip(id.as_deref()).map(|(p, id)| format!("{}#{}", segment(p), segment(id))),
        })
    };
    let counted = if !e.blocked {
        "not a blocked regression".to_string()
    } else if e.counted_in_newer {
        "counted in a newer decision of the same releases".to_string()
    } else if let Some(by) = &e.overridden_by {
        format!("overridden by {by}: deployed anyway, not counted")
    } else {
        "counted".to_string()
    };
    json!({
        "time": timestamp(r.created_ms),
        "prompt": prompt.unwrap_or("-"),
        "prompt_link": prompt.map(segment),
        "release": release(&e.release),
        "baseline": release(&e.baseline_release),
        "dataset": e.dataset,
        "version": e.dataset_version.get(..12).unwrap_or(&e.dataset_version),
        "decision": e.decision,
        "candidate_run": e.candidate_run,
        "candidate_run_link": segment(&e.candidate_run),
        "baseline_run": e.baseline_run,
        "baseline_run_link": segment(&e.baseline_run),
        "rate_change": rate_change(e),
        "traffic": match (e.calls_per_day, e.calls_in_window) {
            (Some(d), Some(n)) => format!("{d:.1} ({n} in {} days)", e.window_days),
            _ => "unknown".into(),
        },
        "horizon": format!("{}", e.horizon_days),
        "failures_avoided": estimate(e.failures_avoided),
        "cost_avoided": estimate(e.cost_avoided_usd),
        "failure_cost": e.failure_cost_usd.map(|c| format!("{c}")),
        "spend": format!("{:.4}", e.eval_spend_usd),
        "counted": counted,
        "contamination": r.contamination,
    })
}

/// The report of the period the query asks for, or the page that says what was wrong.
async fn read(
    ui: &Ui,
    who: &Signed,
    q: &HashMap<String, String>,
) -> Result<(Period, ValueReport), Response> {
    let p = period(q, seam_store::now_ms())
        .map_err(|e| ui.message(StatusCode::BAD_REQUEST, &e, Some(who)))?;
    let r = report(ui.store.as_ref(), p.start, p.end)
        .await
        .map_err(|e| control_error(ui, who, e))?;
    Ok((p, r))
}

/// The query string that asks for the same period.
fn query(p: &Period) -> String {
    match (&p.quarter, &p.since) {
        (Some(q), _) => format!("quarter={}", segment(q)),
        (None, Some(s)) => format!("since={}", segment(s)),
        _ => String::new(),
    }
}

/// GET /ui/value?quarter=2026Q4 (or ?since=90d).
pub(crate) async fn value(
    State(ui): State<Arc<Ui>>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let who = match signed(&ui, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let (p, r) = match read(&ui, &who, &q).await {
        Ok(found) => found,
        Err(resp) => return resp,
    };
    let (from, to) = r.dates();
    let ledger: Vec<Value> = r.entries.iter().rev().map(entry).collect();
    ui.page(
        StatusCode::OK,
        "Value of evals",
        "value.html",
        json!({
            "f": {"quarter": p.quarter.as_deref().unwrap_or(""), "since": p.since.as_deref().unwrap_or("")},
            "from": from,
            "to": to,
            "previous": p.quarter.as_ref().map(|_| quarter_of(p.start - 1)),
            "query": query(&p),
            "rows": r.all_rows().map(row).collect::<Vec<_>>(),
            "entries": ledger,
            "method": METHOD,
        }),
        Some(&who),
    )
}

/// A download of the report, named after its period.
fn download(body: String, content_type: &'static str, name: String) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    if let Ok(v) = http::HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(http::header::CONTENT_DISPOSITION, v);
    }
    crate::secure_headers(h);
    resp
}

/// GET /ui/value.csv?quarter=...: `seam report value --format csv`'s table.
pub(crate) async fn csv(
    State(ui): State<Arc<Ui>>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let who = match signed(&ui, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    match read(&ui, &who, &q).await {
        Ok((_, r)) => {
            let (from, to) = r.dates();
            download(
                r.csv(),
                "text/csv; charset=utf-8",
                format!("seam-value-{from}-{to}.csv"),
            )
        }
        Err(resp) => resp,
    }
}

/// GET /ui/value.json?quarter=...: `seam report value --format json`'s document.
pub(crate) async fn json_report(
    State(ui): State<Arc<Ui>>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let who = match signed(&ui, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    match read(&ui, &who, &q).await {
        Ok((_, r)) => {
            let (from, to) = r.dates();
            let body = serde_json::to_string_pretty(&r.json()).unwrap_or_default() + "\n";
            download(
                body,
                "application/json",
                format!("seam-value-{from}-{to}.json"),
            )
        }
        Err(resp) => resp,
    }
}
