//! The calls search over a window of a million calls. Without a filter the calls' time index
//! gives the newest at once; a filter by route, tenant, outcome or an error status would read every call of the
//! window that does not match. The hourly rollups say which hours hold a matching call, so only
//! those hours are read, newest first, until the page is full: a route with no call in the
//! window reads no call at all.

use crate::Ui;
use seam_store::{CallHour, CallQuery, CallRecord, HOUR_MS, Tenants};
use seam_vocab::Outcome;
use std::collections::BTreeSet;

fn matches(h: &CallHour, q: &CallQuery) -> bool {
    h.calls > 0
        && q.route.as_ref().is_none_or(|r| *r == h.route)
        && q.tenant.as_ref().is_none_or(|t| *t == h.tenant)
        && q.outcome.as_ref().is_none_or(|o| *o == h.outcome)
        // A call answered 400 or above did not end `ok` (it failed, was refused or rejected,
        // or its client left): an hour of `ok` calls only holds none of them.
        && q.status.is_none_or(|(from, _)| from < 400 || h.outcome != Outcome::Ok.as_str())
}

/// `list_calls_in`, reading only the hours that hold a call the filters can match.
pub(crate) async fn calls(
    ui: &Ui,
    q: &CallQuery,
    scope: &Tenants,
) -> seam_store::Result<Vec<CallRecord>> {
    if q.route.is_none() && q.tenant.is_none() && q.outcome.is_none() && q.status.is_none() {
        return ui.store.list_calls_in(q, scope).await;
    }
    let hours = ui.store.hours_in(q.since_ms, scope).await?;
    let with: BTreeSet<i64> = hours
        .calls
        .iter()
        .filter(|h| matches(h, q))
        .map(|h| h.hour_ms)
        .collect();
    // Runs of consecutive hours, newest first: one query each.
    let mut runs: Vec<(i64, i64)> = Vec::new();
    for &h in with.iter().rev() {
        match runs.last_mut() {
            Some((start, _)) if *start == h + HOUR_MS => *start = h,
            _ => runs.push((h, h + HOUR_MS)),
        }
    }
    let mut found = Vec::new();
    for (start, end) in runs {
        let left = q.limit - i64::try_from(found.len()).unwrap_or(q.limit);
        if left <= 0 {
            break;
        }
        let part = CallQuery {
            since_ms: start.max(q.since_ms),
            until_ms: Some(q.until_ms.map_or(end, |u| u.min(end))),
            limit: left,
            ..q.clone()
        };
        found.extend(ui.store.list_calls_in(&part, scope).await?);
    }
    Ok(found)
}
