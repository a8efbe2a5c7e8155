//! Audit: the chain of control-plane actions, newest first and paged (admins, as `seam audit
//! log` and `/api/audit`: its records name every tenant's keys, users and sessions), and its
//! verification (`seam audit verify`, `/api/audit/verify`: any signed-in user).

use super::*;

/// GET /ui/audit?limit=50&before=SEQ&verify=1.
pub(crate) async fn audit(
    State(ui): State<Arc<Ui>>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let who = match signed(&ui, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let verify = param(&q, "verify").is_some_and(|v| v != "0");
    let limit = match param(&q, "limit").map(str::parse::<usize>) {
        None => 50,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => {
            return ui.message(
                StatusCode::BAD_REQUEST,
                "limit: give 1 to 1000 records",
                Some(&who),
            );
        }
    };
    let before = match param(&q, "before").map(str::parse::<i64>).transpose() {
        Ok(b) => b,
        Err(_) => {
            return ui.message(
                StatusCode::BAD_REQUEST,
                "before: give a record's number",
                Some(&who),
            );
        }
    };
    // Someone who may not read the chain may still have it verified.
    let refusal = match (who.actor.require_admin("reading the audit log"), verify) {
        (Ok(()), _) => None,
        (Err(e), true) => Some(e.to_string()),
        (Err(e), false) => return control_error(&ui, &who, e),
    };
    let verdict = if verify {
        match ui.store.verify_audit().await {
            Ok(v) => Some(json!({
                "intact": v.intact,
                "records": v.records,
                "head": v.head,
                "keyed": match v.keyed_from {
                    Some(1) => "every record signed with SEAM_AUDIT_KEY".to_string(),
                    Some(k) => format!("signed with SEAM_AUDIT_KEY from record {k}"),
                    None => "unkeyed (SHA-256)".to_string(),
                },
                "releases": v.releases,
                "approvals": v.approvals,
                "deploys": v.deploys,
                "problems": v.problems.iter().map(|p| format!("{}: {}", p.at, p.reason)).collect::<Vec<_>>(),
            })),
            Err(e) => return control_error(&ui, &who, e.into()),
        }
    } else {
        None
    };
    let mut rows = Vec::new();
    let mut older = None;
    if refusal.is_none() {
        let chain = match ui.store.list_audit().await {
            Ok(c) => c,
            Err(e) => return control_error(&ui, &who, e.into()),
        };
        let page: Vec<_> = chain
            .iter()
            .rev()
            .filter(|r| before.is_none_or(|b| r.seq < b))
            .take(limit + 1)
            .collect();
        if page.len() > limit {
            older = page.get(limit - 1).map(|r| r.seq);
        }
        rows = page
            .iter()
            .take(limit)
            .map(|r| {
                json!({
                    "seq": r.seq,
                    "time": timestamp(r.created_ms),
                    "actor": r.actor,
                    "action": r.action,
                    "subject": r.subject,
                    "before": r.before.as_deref().unwrap_or("-"),
                    "after": r.after.as_deref().unwrap_or("-"),
                    "hash": r.hash.get(..12).unwrap_or(&r.hash),
                    "key": r.key_id.as_deref().unwrap_or("-"),
                })
            })
            .collect();
    }
    ui.page(
        StatusCode::OK,
        "Audit",
        "audit.html",
        json!({
            "records": rows,
            "reads_chain": refusal.is_none(),
            "refusal": refusal,
            "verdict": verdict,
            "limit": limit,
            "older": older,
        }),
        Some(&who),
    )
}
