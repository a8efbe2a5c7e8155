//! Home: the last 24 hours' reliability per route and the latest changes.

use super::*;

/// GET /ui/: per route over the last 24 h, first-attempt against final error rate and the
/// retry tax (`seam report reliability`), and the latest changes.
pub(crate) async fn home(State(ui): State<Arc<Ui>>, headers: HeaderMap) -> Response {
    let who = match signed(&ui, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let scope = match who.actor.read_scope("reading the reliability report") {
        Ok(s) => s,
        Err(e) => return control_error(&ui, &who, e),
    };
    let now = seam_store::now_ms();
    // The last 24 hours on the hour (the current one included), from the hourly rollups: a
    // few rows per hour, however many calls there were.
    let since = seam_store::hour_floor(now) - 23 * seam_store::HOUR_MS;
    let (calls, attempts) = match ui.store.hours_in(since, &scope).await {
        Ok(h) => h.groups(|_| true),
        Err(e) => return control_error(&ui, &who, e.into()),
    };
    let routes: Vec<Value> = seam_store::reliability::report(&calls, &attempts)
        .iter()
        .map(|r| {
            json!({
                "route": r.route,
                "query": serde_urlencoded::to_string([("route", &r.route)]).unwrap_or_default(),
                "calls": r.calls_by_outcome.values().sum::<i64>(),
                "first": pct(r.first_attempt_error_rate),
                "final": pct(r.final_error_rate),
                "amplification": format!("{:.2}", r.retry_amplification),
                "retry_tax": pct(r.retry_tax),
                "cost": format!("{:.6}", r.cost_usd),
                "budget_refusals": r.budget_refusals,
            })
        })
        .collect();
    let changes = match seam_control::sessions::changes(
        ui.store.as_ref(),
        &who.actor,
        now - 7 * DAY_MS,
        10_000,
    )
    .await
    {
        Ok(c) => c,
        Err(e) => return control_error(&ui, &who, e),
    };
    let latest: Vec<Value> = changes.iter().rev().take(10).map(event_row).collect();
    ui.page(
        StatusCode::OK,
        "Home",
        "home.html",
        json!({
            "routes": routes,
            "changes": latest,
            "since_utc": timestamp(since),
            "refresh": "/ui/",
        }),
        Some(&who),
    )
}
