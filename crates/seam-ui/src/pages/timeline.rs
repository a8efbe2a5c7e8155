//! The timeline: `seam changes` as a filterable list.

use super::*;

/// GET /ui/timeline?since=24h&kind=&route=: `seam changes`, newest first.
pub(crate) async fn timeline(
    State(ui): State<Arc<Ui>>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let who = match signed(&ui, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let since = param(&q, "since").unwrap_or("24h");
    let window = match since_ms(since) {
        Ok(w) => w,
        Err(e) => return ui.message(StatusCode::BAD_REQUEST, &e, Some(&who)),
    };
    let since_at = seam_store::now_ms() - window;
    let events = match seam_control::sessions::changes(
        ui.store.as_ref(),
        &who.actor,
        since_at,
        10_000,
    )
    .await
    {
        Ok(e) => e,
        Err(e) => return control_error(&ui, &who, e),
    };
    let (kind, route) = (param(&q, "kind"), param(&q, "route"));
    let rows: Vec<Value> = events
        .iter()
        .rev()
        .filter(|e| kind.is_none_or(|k| e["kind"].as_str() == Some(k)))
        .filter(|e| route.is_none_or(|r| e["route"].as_str() == Some(r)))
        .map(event_row)
        .collect();
    ui.page(
        StatusCode::OK,
        "Timeline",
        "timeline.html",
        json!({
            "events": rows,
            "since": since,
            "since_utc": timestamp(since_at),
            "kind": kind.unwrap_or(""),
            "route": route.unwrap_or(""),
        }),
        Some(&who),
    )
}
