//! A trace as a tree (`seam traces show`): its calls in the order they started, each with its
//! upstream attempts under it. A call record names no parent call, so the tree's depth is
//! fan-out: how many of the trace's earlier calls were still running when a call started.

use super::*;

/// GET /ui/traces/{id}: the calls of the trace the reader may see; the same answer (404)
/// whether the trace does not exist or is another tenant's, since a trace id is the client's.
pub(crate) async fn trace(
    State(ui): State<Arc<Ui>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let who = match signed(&ui, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let (all, attempts) = match ui.store.trace(&id).await {
        Ok(t) => t,
        Err(e) => return control_error(&ui, &who, e.into()),
    };
    let calls: Vec<CallRecord> = all
        .into_iter()
        .filter(|c| who.actor.can_read(&c.tenant))
        .collect();
    if calls.is_empty() {
        return ui.message(
            StatusCode::NOT_FOUND,
            &format!("No calls you can read are recorded for trace `{id}`."),
            Some(&who),
        );
    }
    let first = calls.first().map_or(0, |c| c.created_ms);
    let nodes: Vec<Value> = calls
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let running = calls[..i]
                .iter()
                .filter(|p| (p.created_ms as f64 + p.latency_ms) > c.created_ms as f64)
                .count();
            let atts: Vec<Value> = attempts
                .iter()
                .filter(|a| a.call_id == c.id)
                .map(|a| {
                    json!({
                        "seq": a.seq,
                        "provider": a.provider,
                        "model": a.model,
                        "outcome": match &a.error_class {
                            Some(e) => format!("{} ({e})", a.outcome),
                            None => a.outcome.to_string(),
                        },
                        "status": a.status.map_or("-".into(), |s| s.to_string()),
                        "tokens": format!("{}/{}", a.input_tokens, a.output_tokens),
                        "cost": format!("{:.6}", a.cost_usd),
                        "latency_ms": format!("{:.1}", a.latency_ms),
                    })
                })
                .collect();
            let mut row = call_row(c);
            row["offset_ms"] = json!(c.created_ms.saturating_sub(first));
            row["running"] = json!(running);
            row["attempt_rows"] = json!(atts);
            row
        })
        .collect();
    let cost: f64 = calls.iter().map(|c| c.cost_usd).sum();
    let n_attempts = calls.iter().fold(0i64, |n, c| n.saturating_add(c.attempts));
    let depth = nodes
        .iter()
        .filter_map(|n| n["running"].as_u64())
        .max()
        .unwrap_or(0);
    ui.page(
        StatusCode::OK,
        &format!("Trace {id}"),
        "trace.html",
        json!({
            "id": id,
            "segment": segment(&id),
            "calls": nodes,
            "n_calls": calls.len(),
            "n_attempts": n_attempts,
            "cost": format!("{cost:.6}{}", if calls.iter().any(|c| c.unpriced) { " +unpriced" } else { "" }),
            "from": timestamp(first),
            "fan_out": depth + 1,
        }),
        Some(&who),
    )
}
