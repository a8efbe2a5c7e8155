//! Home: the last 24 hours' reliability per route with its sparklines, refusals by code,
//! pending approvals, failing gates, failing canaries, the audit chain's status (admins) and
//! the latest changes.

use super::charts::{series, with_svg};
use super::*;
use crate::svg;
use seam_control::owners::Trust;
use seam_store::Buckets;
use std::collections::BTreeSet;

pub(crate) const HOUR_MS: i64 = 3_600_000;

/// GET /ui/: per route over the last 24 h, first-attempt against final error rate and the
/// retry tax (`seam report reliability`) with hourly sparklines; refusals by code; pending
/// approvals; failing gates; failing canaries; the audit chain's status; the latest changes.
pub(crate) async fn home(State(ui): State<Arc<Ui>>, headers: HeaderMap) -> Response {
    let who = match signed(&ui, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    // Someone with no role in a tenant (a prompt's owner, often) still gets Home: without
    // the records' parts, and told why.
    let (scope, no_role) = match who.actor.read_scope("reading the reliability report") {
        Ok(s) => (s, None),
        Err(ControlError::Forbidden(why)) => (seam_store::Tenants::Only(Vec::new()), Some(why)),
        Err(e) => return control_error(&ui, &who, e),
    };
    let now = seam_store::now_ms();
    // The last 24 whole hours, this one included: read from the hourly rollups (a few rows
    // per hour, however many calls there were).
    let since = seam_store::hour_floor(now) - 23 * HOUR_MS;
    let buckets = match ui
        .store
        .reliability_buckets_in(since, HOUR_MS, &scope)
        .await
    {
        Ok(b) => b,
        Err(e) => return control_error(&ui, &who, e.into()),
    };
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
    let found = async {
        let pending = pending_approvals(&ui, &who, now).await?;
        let gates = failing_gates(&ui, &changes).await?;
        let canaries = super::canaries::failing(&ui).await?;
        let audit = audit_status(&ui, &who).await?;
        Ok::<_, ControlError>((pending, gates, canaries, audit))
    };
    let (pending, gates, canaries, audit) = match found.await {
        Ok(f) => f,
        Err(e) => return control_error(&ui, &who, e),
    };
    let routes = route_rows(&buckets, since, now);
    let refusals = buckets.refusals_by_code();
    let bars: Vec<(String, f64)> = refusals
        .iter()
        .map(|(code, n)| (code.clone(), *n as f64))
        .collect();
    let latest: Vec<Value> = changes.iter().rev().take(10).map(event_row).collect();
    let data = json!({
        "changes": latest,
        "since_utc": timestamp(since),
        "no_role": no_role,
        "refresh": "/ui/",
        "refusals": refusals.iter().map(|(c, n)| json!({"code": c, "calls": n})).collect::<Vec<_>>(),
        "pending": pending,
        "gates": gates,
        "canaries": canaries,
        "audit": audit,
    });
    let mut svgs = Vec::new();
    if !bars.is_empty() {
        let chart = svg::bar_chart(&bars, svg::Unit::Number, "refused calls by code, last 24 h");
        svgs.push(("refusals", chart));
    }
    let ctx = minijinja::context! { routes => routes, ..with_svg(&data, svgs) };
    ui.page(StatusCode::OK, "Home", "home.html", ctx, Some(&who))
}

/// Each route's row of the 24 h table, with the hourly sparklines of its first-attempt and
/// final error rates (a gap for an hour without a dispatched call).
fn route_rows(buckets: &Buckets, since: i64, now: i64) -> Vec<minijinja::Value> {
    let over = buckets.over_time();
    let starts = buckets.starts(since, now, 25);
    buckets
        .total()
        .iter()
        .map(|r| {
            let line = |f: fn(&seam_store::RouteReliability) -> f64, what: &str| {
                let v: Vec<f64> = series(&over, &starts, &r.route, true, f)
                    .into_iter()
                    .map(|p| p.1)
                    .collect();
                svg::sparkline(&v, &format!("{what} per hour, last 24 h"))
            };
            let row = json!({
                "route": r.route,
                "query": serde_urlencoded::to_string([("route", &r.route)]).unwrap_or_default(),
                "calls": r.calls_by_outcome.values().sum::<i64>(),
                "first": pct(r.first_attempt_error_rate),
                "final": pct(r.final_error_rate),
                "amplification": format!("{:.2}", r.retry_amplification),
                "retry_tax": pct(r.retry_tax),
                "cost": format!("{:.6}", r.cost_usd),
                "budget_refusals": r.budget_refusals,
            });
            with_svg(
                &row,
                vec![
                    (
                        "first",
                        line(|r| r.first_attempt_error_rate, "first-attempt error rate"),
                    ),
                    ("final", line(|r| r.final_error_rate, "final error rate")),
                ],
            )
        })
        .collect()
}

/// Releases of the last 30 days with no approval that counts (`Trust::valid_approvals`) and
/// on no channel: of every prompt deployed somewhere or given a release in that time.
async fn pending_approvals(ui: &Ui, who: &Signed, now: i64) -> Result<Vec<Value>, ControlError> {
    let since = now - 30 * DAY_MS;
    let deploys = ui.store.current_deploys().await?;
    let mut prompts: BTreeSet<String> = deploys.iter().map(|d| d.prompt.clone()).collect();
    for e in ui.store.list_events(since, 10_000).await? {
        if e.kind == seam_vocab::EventKind::ReleaseCreate
            && let Some(p) = serde_json::from_str::<Value>(&e.details)
                .ok()
                .and_then(|d| d["prompt"].as_str().map(str::to_string))
        {
            prompts.insert(p);
        }
    }
    let on_channel: BTreeSet<&str> = deploys.iter().map(|d| d.release_id.as_str()).collect();
    let mut out = Vec::new();
    for prompt in prompts {
        let trust = Trust::of(ui.store.as_ref(), &prompt).await?;
        for r in ui.store.list_releases(&prompt).await? {
            if r.created_ms < since || on_channel.contains(r.id.as_str()) {
                continue;
            }
            let approvals = ui.store.list_approvals(&r.id).await?;
            if !trust
                .valid_approvals(ui.store.as_ref(), approvals)
                .await?
                .is_empty()
            {
                continue;
            }
            out.push(json!({
                "prompt": prompt,
                "link": segment(&prompt),
                "release": r.id,
                "author": r.author,
                "time": timestamp(r.created_ms),
                "needs": trust.approvers(),
                "yours": trust.may_approve(&who.actor) && r.author != who.actor.name,
            }));
        }
    }
    Ok(out)
}

/// Gate decisions of the last 7 days (found through the timeline's `eval_gate_*` events)
/// whose newest stored decision for the same candidate and baseline release is not a pass.
async fn failing_gates(ui: &Ui, changes: &[Value]) -> Result<Vec<Value>, ControlError> {
    let mut pairs: BTreeSet<(String, String)> = BTreeSet::new();
    for e in changes {
        if !e["kind"]
            .as_str()
            .is_some_and(|k| k.starts_with("eval_gate_"))
        {
            continue;
        }
        let d = &e["details"];
        if let (Some(c), Some(b)) = (
            d["candidate_release"].as_str(),
            d["baseline_release"].as_str(),
        ) {
            pairs.insert((c.to_string(), b.to_string()));
        }
    }
    let mut out = Vec::new();
    for (candidate, baseline) in pairs {
        let decisions = ui.store.eval_gates_between(&candidate, &baseline).await?;
        if let Some(d) = decisions.first().filter(|d| d.decision != "pass") {
            out.push(json!({
                "time": timestamp(d.created_ms),
                "candidate": candidate,
                "baseline": baseline,
                "dataset": d.dataset,
                "decision": d.decision,
                "runs": format!("{} against {}", d.candidate_run, d.baseline_run),
            }));
        }
    }
    Ok(out)
}

/// `seam audit verify`'s verdict, for an admin only (the chain is theirs to read).
async fn audit_status(ui: &Ui, who: &Signed) -> Result<Value, ControlError> {
    if !who.actor.admin {
        return Ok(Value::Null);
    }
    let now = seam_store::now_ms();
    let cached = ui
        .audit_verdict
        .lock()
        .ok()
        .and_then(|c| c.clone())
        .filter(|(at, _)| now - at < AUDIT_VERDICT_MS);
    if let Some((_, verdict)) = cached {
        return Ok(verdict);
    }
    let v = ui.store.verify_audit().await?;
    let verdict = json!({
        "checked": timestamp(now),
        "intact": v.intact,
        "records": v.records,
        "head": v.head.get(..16).unwrap_or(&v.head),
        "keyed": v.keyed_from.is_some(),
        "problems": v.problems.iter().take(5).map(|p| format!("{}: {}", p.at, p.reason)).collect::<Vec<_>>(),
        "more": v.problems.len().saturating_sub(5),
    });
    if let Ok(mut c) = ui.audit_verdict.lock() {
        *c = Some((now, verdict.clone()));
    }
    Ok(verdict)
}

/// How long Home shows the audit chain's last verdict before verifying it again.
const AUDIT_VERDICT_MS: i64 = 60_000;
