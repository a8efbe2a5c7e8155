//! Calls: the search, and one call in full.

use super::*;

/// GET /ui/calls?tenant=&route=&trace=&status=&outcome=&release=&since=24h&limit=100.
pub(crate) async fn calls(
    State(ui): State<Arc<Ui>>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let who = match signed(&ui, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let since = param(&q, "since").unwrap_or("24h");
    let filters = json!({
        "tenant": param(&q, "tenant").unwrap_or(""),
        "route": param(&q, "route").unwrap_or(""),
        "trace": param(&q, "trace").unwrap_or(""),
        "status": param(&q, "status").unwrap_or(""),
        "outcome": param(&q, "outcome").unwrap_or(""),
        "release": param(&q, "release").unwrap_or(""),
        "since": since,
    });
    let bad = |text: String| ui.message(StatusCode::BAD_REQUEST, &text, Some(&who));
    let window = match since_ms(since) {
        Ok(w) => w,
        Err(e) => return bad(e),
    };
    let status = match param(&q, "status").map(status_range).transpose() {
        Ok(s) => s,
        Err(e) => return bad(e),
    };
    let outcome = param(&q, "outcome");
    if let Some(o) = outcome
        && o.parse::<seam_vocab::Outcome>().is_err()
    {
        let all: Vec<&str> = seam_store::CALL_OUTCOMES
            .iter()
            .map(|o| o.as_str())
            .collect();
        return bad(format!("outcome `{o}`: use one of {}", all.join(", ")));
    }
    let limit = match param(&q, "limit").map(str::parse::<i64>) {
        None => 100,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => return bad("limit: give 1 to 1000 calls".into()),
    };
    let tenant = param(&q, "tenant");
    let scope = match who.actor.scope_for(tenant, "reading calls") {
        Ok(s) => s,
        Err(e) => return control_error(&ui, &who, e),
    };
    let since_at = seam_store::now_ms() - window;
    let query = CallQuery {
        since_ms: since_at,
        tenant: tenant.map(str::to_string),
        limit,
        route: param(&q, "route").map(str::to_string),
        status,
        outcome: outcome.map(str::to_string),
        release_id: param(&q, "release").map(str::to_string),
        until_ms: None,
    };
    let found = match param(&q, "trace") {
        // A trace's calls, with the other filters applied here.
        Some(trace) => ui.store.trace(trace).await.map(|(calls, _)| {
            let mut calls: Vec<CallRecord> = calls
                .into_iter()
                .filter(|c| who.actor.can_read(&c.tenant))
                .filter(|c| c.created_ms >= query.since_ms)
                .filter(|c| query.tenant.as_ref().is_none_or(|t| *t == c.tenant))
                .filter(|c| query.route.as_ref().is_none_or(|r| *r == c.route))
                .filter(|c| {
                    query
                        .status
                        .is_none_or(|(a, b)| (a..=b).contains(&c.status))
                })
                .filter(|c| {
                    query
                        .outcome
                        .as_ref()
                        .is_none_or(|o| *o == c.outcome.as_str())
                })
                .filter(|c| {
                    query
                        .release_id
                        .as_ref()
                        .is_none_or(|r| c.release_id.as_ref() == Some(r))
                })
                .collect();
            calls.reverse();
            calls.truncate(usize::try_from(limit).unwrap_or(100));
            calls
        }),
        None => search::calls(&ui, &query, &scope).await,
    };
    let calls = match found {
        Ok(c) => c,
        Err(e) => return control_error(&ui, &who, e.into()),
    };
    let rows: Vec<Value> = calls.iter().map(call_row).collect();
    ui.page(
        StatusCode::OK,
        "Calls",
        "calls.html",
        json!({
            "calls": rows,
            "f": filters,
            "since_utc": timestamp(since_at),
            "limit": limit,
            "full": i64::try_from(calls.len()).unwrap_or(0) >= limit,
        }),
        Some(&who),
    )
}

/// GET /ui/calls/{id}: one call with its attempts, its stream telemetry and its captured
/// content; a call of a tenant the reader has no role in is not found.
pub(crate) async fn call(
    State(ui): State<Arc<Ui>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let who = match signed(&ui, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let view = match seam_control::calls::show(ui.store.as_ref(), &who.actor, &id).await {
        Ok(v) => v,
        Err(e) => return control_error(&ui, &who, e),
    };
    let c = &view.call;
    let fields: Vec<(&str, String)> = vec![
        ("Time (UTC)", timestamp(c.created_ms)),
        ("Tenant", c.tenant.clone()),
        ("Key", c.key_id.clone().unwrap_or_else(|| "-".into())),
        ("Trace", c.trace_id.clone().unwrap_or_else(|| "-".into())),
        (
            "Session",
            c.session_id.clone().unwrap_or_else(|| "-".into()),
        ),
        ("Endpoint", c.endpoint.clone()),
        ("Route", c.route.clone()),
        ("Requested model", c.requested_model.clone()),
        ("Provider", c.provider.clone().unwrap_or_else(|| "-".into())),
        (
            "Served model",
            c.served_model.clone().unwrap_or_else(|| "-".into()),
        ),
        (
            "Release",
            c.release_id.clone().unwrap_or_else(|| "-".into()),
        ),
        ("Status", c.status.to_string()),
        (
            "Outcome",
            call_row(c)["outcome"].as_str().unwrap_or("-").to_string(),
        ),
        (
            "Error",
            c.error_message.clone().unwrap_or_else(|| "-".into()),
        ),
        ("Latency ms", format!("{:.1}", c.latency_ms)),
        (
            "Tokens in/out",
            call_row(c)["tokens"].as_str().unwrap_or("-").to_string(),
        ),
        (
            "Cost $",
            call_row(c)["cost"].as_str().unwrap_or("-").to_string(),
        ),
        ("Stream", if c.stream { "yes" } else { "no" }.to_string()),
    ];
    let attempts: Vec<Value> = view
        .attempts
        .iter()
        .map(|a| {
            json!({
                "seq": a.seq,
                "provider": a.provider,
                "model": a.model,
                "served_model": a.served_model.as_deref().unwrap_or("-"),
                "status": a.status.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
                "outcome": a.outcome.to_string(),
                "error": a.error_class.as_ref().map(|e| e.to_string()).unwrap_or_else(|| "-".into()),
                "latency_ms": format!("{:.1}", a.latency_ms),
                "tokens": format!("{}/{}", a.input_tokens, a.output_tokens),
                "cost": format!("{:.6}", a.cost_usd),
            })
        })
        .collect();
    let json_text = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    let stream = view
        .stream
        .as_ref()
        .map(|s| json_text(&serde_json::to_value(s).unwrap_or(Value::Null)));
    let content = view.content.as_ref().map(|c| json_text(&c.to_json()));
    ui.page(
        StatusCode::OK,
        &format!("Call {}", c.id),
        "call.html",
        json!({
            "id": c.id,
            "fields": fields.iter().map(|(k, v)| json!({"k": k, "v": v})).collect::<Vec<_>>(),
            "attempts": attempts,
            "stream": stream,
            "content": content,
            "trace": c.trace_id.as_deref().map(segment),
        }),
        Some(&who),
    )
}
