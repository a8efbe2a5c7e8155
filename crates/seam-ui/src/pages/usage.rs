//! Usage and limits: `seam report usage` (live traffic, and eval traffic apart), the tenants
//! and keys against the limits in force (what each spent in its current calendar window, as
//! the limiter counts it when it re-counts from the records), and the top traces by fan-out
//! and by cost (`seam traces`). A viewer sees only their tenants.

use super::*;
use seam_config::{Limits, Metric, TenantLimit, window_of, window_start};
use seam_store::{
    KeyRecord, SpendQuery, SpendRow, Tenants, TraceQuery, TraceSummary, UsageBy, UsageRow,
};
use seam_vocab::Purpose;
use std::collections::BTreeSet;

/// How many traces each top list shows.
const TOP: usize = 10;

fn usage_row(r: &UsageRow) -> Value {
    json!({
        "key": if r.key.is_empty() { "-" } else { r.key.as_str() },
        "calls": r.calls,
        "refused": r.refused,
        "failed": r.failed,
        "attempts": r.attempts,
        "per_call": format!("{:.2}", if r.calls > 0 { r.attempts as f64 / r.calls as f64 } else { 0.0 }),
        "input_tokens": format!("{}{}", r.input_tokens, if r.tokens_estimated { "*" } else { "" }),
        "output_tokens": r.output_tokens,
        "cost": format!("{:.6}{}", r.cost_usd, if r.unpriced_calls > 0 { " +unpriced" } else { "" }),
    })
}

fn trace_row(t: &TraceSummary) -> Value {
    json!({
        "id": t.trace_id,
        "segment": segment(&t.trace_id),
        "tenant": t.tenant,
        "calls": t.calls,
        "attempts": t.attempts,
        "last": timestamp(t.last_ms),
        "cost": format!("{:.6}{}", t.cost_usd, if t.unpriced_calls > 0 { " +unpriced" } else { "" }),
    })
}

/// What a spend row counts toward `metric`, as the limiter counts it: eval and canary
/// traffic's cost only when their `count_in_budgets` says so (seam-gateway's `admit::reseed`).
fn amount(cfg: &Limits, metric: Metric, r: &SpendRow) -> f64 {
    match metric {
        Metric::Cost => r.counted_cost(cfg.count_evals_in_cost, cfg.count_canaries_in_cost),
        Metric::Requests => r.requests as f64,
        Metric::Attempts => r.attempts as f64,
        Metric::InputTokens => r.input_tokens as f64,
        Metric::OutputTokens => r.output_tokens as f64,
        Metric::Tokens => r.input_tokens.saturating_add(r.output_tokens) as f64,
    }
}

/// Each limit of the tenants and keys `scope` covers, with what it has used of it now.
async fn budgets(
    ui: &Ui,
    cfg: &Limits,
    scope: &Tenants,
    tenant: Option<&str>,
    now: i64,
) -> Result<Vec<Value>, ControlError> {
    let shown = |t: &str| scope.allows(t) && tenant.is_none_or(|x| x == t);
    let keys: Vec<(KeyRecord, Vec<TenantLimit>)> =
        seam_control::forecast::keys_with_limits(ui.store.list_keys().await?)
            .into_iter()
            .filter(|(k, _)| shown(&k.tenant))
            .collect();
    let mut starts: Vec<i64> = cfg
        .tenant_default
        .iter()
        .chain(cfg.tenants.values().flatten())
        .chain(keys.iter().flat_map(|(_, l)| l))
        .map(|l| window_start(l.window, now))
        .collect();
    if starts.is_empty() {
        return Ok(Vec::new());
    }
    starts.sort_unstable();
    starts.dedup();
    // Windows that start on an hour (hour, day, month) from the hourly rollups; minute
    // windows from the calls of that minute.
    let (hourly, minutes): (Vec<i64>, Vec<i64>) = starts
        .iter()
        .partition(|s| **s == seam_store::hour_floor(**s));
    let mut spend = seam_store::Spend {
        windows: Vec::new(),
        traces: Vec::new(),
    };
    if let Some(first) = hourly.first() {
        spend.windows = ui.store.hours_in(*first, scope).await?.spend(&hourly);
    }
    if !minutes.is_empty() {
        let recent = ui
            .store
            .spend(&SpendQuery {
                window_starts: minutes,
                until_ms: now.saturating_add(1),
                traces_since_ms: now,
            })
            .await?;
        spend.windows.extend(recent.windows);
    }
    // The tenants to show: those configured, those with keys, those that spent.
    let mut tenants: BTreeSet<&str> = cfg.tenants.keys().map(String::as_str).collect();
    tenants.extend(keys.iter().map(|(k, _)| k.tenant.as_str()));
    tenants.extend(spend.windows.iter().map(|r| r.tenant.as_str()));
    if let Tenants::Only(ts) = scope {
        tenants.extend(ts.iter().map(String::as_str));
    }
    let row = |who: String, l: &TenantLimit, rows: &mut dyn Iterator<Item = &SpendRow>| {
        let start = window_start(l.window, now);
        // Folded from 0.0: an empty f64 sum is -0.0.
        let used = rows
            .filter(|r| r.since_ms == start)
            .fold(0.0, |n, r| n + amount(cfg, l.metric, r));
        let share = if l.max > 0.0 { used / l.max } else { 1.0 };
        json!({
            "who": who,
            "limit": format!("{} per {}", l.metric.as_str(), l.window.as_str()),
            "max": l.max.to_string(),
            "used": if l.metric == Metric::Cost { format!("{used:.6}") } else { format!("{used}") },
            "share": pct(share),
            "over": used >= l.max,
            "resets": timestamp(window_of(l.window, now).1),
        })
    };
    let mut out = Vec::new();
    for t in tenants.into_iter().filter(|t| shown(t)) {
        for l in cfg.for_tenant(t) {
            let mut rows = spend.windows.iter().filter(|r| r.tenant == t);
            out.push(row(format!("tenant {t}"), l, &mut rows));
        }
    }
    for (k, limits) in &keys {
        for l in limits {
            let mut rows = spend
                .windows
                .iter()
                .filter(|r| r.key_id.as_deref() == Some(k.id.as_str()));
            out.push(row(
                format!("key {} ({}…, tenant {})", k.id, k.prefix, k.tenant),
                l,
                &mut rows,
            ));
        }
    }
    Ok(out)
}

/// GET /ui/usage?since=24h&by=tenant&tenant=.
pub(crate) async fn usage(
    State(ui): State<Arc<Ui>>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let who = match signed(&ui, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let bad = |text: &str| ui.message(StatusCode::BAD_REQUEST, text, Some(&who));
    let since = param(&q, "since").unwrap_or("24h");
    let window = match since_ms(since) {
        Ok(w) => w,
        Err(e) => return bad(&e),
    };
    let by_name = param(&q, "by").unwrap_or("tenant");
    let by = match by_name {
        "tenant" => UsageBy::Tenant,
        "route" => UsageBy::Route,
        "trace" => UsageBy::Trace,
        other => return bad(&format!("by `{other}`: use tenant, route or trace")),
    };
    let tenant = param(&q, "tenant");
    let scope = match who.actor.scope_for(tenant, "reading the usage report") {
        Ok(s) => s,
        Err(e) => return control_error(&ui, &who, e),
    };
    let now = seam_store::now_ms();
    // By tenant or route: the usage tables, from the hourly rollups, from the start of the
    // hour `since` falls in. By trace: the top named traces by fan-out and by cost, from the
    // calls (the rollups keep no trace).
    let since_at = match by {
        UsageBy::Trace => now - window,
        _ => seam_store::hour_floor(now - window),
    };
    let rows = match by {
        UsageBy::Trace => Ok(Vec::new()),
        _ => ui
            .store
            .hours_in(since_at, &scope)
            .await
            .map(|h| h.usage(by).unwrap_or_default()),
    };
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return control_error(&ui, &who, e.into()),
    };
    let of = |p: Purpose| rows.iter().filter(move |r| r.purpose == p).map(usage_row);
    let (live, eval, canary): (Vec<Value>, Vec<Value>, Vec<Value>) = (
        of(Purpose::Live).collect(),
        of(Purpose::Eval).collect(),
        of(Purpose::Canary).collect(),
    );
    let limits = ui.limits.as_ref().map(|f| f());
    let budget_rows = match &limits {
        Some(cfg) => match budgets(&ui, cfg, &scope, tenant, now).await {
            Ok(b) => b,
            Err(e) => return control_error(&ui, &who, e),
        },
        None => Vec::new(),
    };
    let tq = TraceQuery {
        since_ms: since_at,
        tenant: tenant.map(str::to_string),
        limit: 1000,
    };
    let traces = match by {
        UsageBy::Trace => ui.store.list_traces_in(&tq, &scope).await,
        _ => Ok(Vec::new()),
    };
    let mut traces = match traces {
        Ok(t) => t,
        Err(e) => return control_error(&ui, &who, e.into()),
    };
    traces.sort_by(|a, b| b.calls.cmp(&a.calls).then(b.attempts.cmp(&a.attempts)));
    let by_fan_out: Vec<Value> = traces.iter().take(TOP).map(trace_row).collect();
    traces.sort_by(|a, b| b.cost_usd.total_cmp(&a.cost_usd));
    let by_cost: Vec<Value> = traces.iter().take(TOP).map(trace_row).collect();
    ui.page(
        StatusCode::OK,
        "Usage and limits",
        "usage.html",
        json!({
            "f": {"since": since, "by": by_name, "tenant": tenant.unwrap_or("")},
            "key": by_name,
            "by_trace": by == UsageBy::Trace,
            "traces_read": traces.len(),
            "traces_max": tq.limit,
            "since_utc": timestamp(since_at),
            "live": live,
            "eval": eval,
            "canary": canary,
            "limits_known": limits.is_some(),
            "count_evals": limits.as_ref().is_some_and(|l| l.count_evals_in_cost),
            "count_canaries": limits.as_ref().is_some_and(|l| l.count_canaries_in_cost),
            "budgets": budget_rows,
            "by_fan_out": by_fan_out,
            "by_cost": by_cost,
        }),
        Some(&who),
    )
}
