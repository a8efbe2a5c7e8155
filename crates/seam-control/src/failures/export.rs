//! Candidate eval cases from a cluster's calls (`seam coverage export`, the dashboard's export
//! button): each call's captured input in the dataset format, `expected` left empty and tagged
//! `needs-review`, for a person to complete before it joins a dataset.

use super::coverage::ClusterView;
use crate::calls::Content;
use crate::{Actor, Result};
use seam_store::Records;
use serde_json::Value;
use std::collections::HashSet;

/// The tag every candidate carries until a person has written what a good answer is.
pub const NEEDS_REVIEW: &str = "needs-review";

/// Candidates written, and the calls that gave none.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Candidates {
    pub cases: Vec<Value>,
    /// Calls whose content is gone (retention) or does not decode.
    pub without_content: usize,
    /// Calls whose input repeats one already written.
    pub duplicates: usize,
}

/// At most `limit` candidates from `cluster`'s calls, the examples (nearest its centre)
/// first. Inputs that are the same are written once.
/// `actor` must operate every tenant whose calls are written: a case holds their content.
pub async fn candidates(
    store: &(impl Records + ?Sized),
    actor: &Actor,
    cluster: &ClusterView,
    limit: usize,
) -> Result<Candidates> {
    let examples = cluster.examples.iter().map(|e| &e.call_id);
    let mut order: Vec<&String> = examples.collect();
    let first: HashSet<&String> = order.iter().copied().collect();
    order.extend(cluster.calls.iter().filter(|c| !first.contains(c)));
    let tags = [NEEDS_REVIEW.to_string(), format!("coverage:{}", cluster.id)];
    let mut out = Candidates::default();
    let mut seen = HashSet::new();
    for id in order {
        if out.cases.len() >= limit {
            break;
        }
        let Some((call, _)) = store.get_call(id).await? else {
            out.without_content += 1;
            continue;
        };
        actor.require_operator(&call.tenant, "exporting candidate cases from a cluster")?;
        let Some(content) = store
            .get_content(id)
            .await?
            .as_ref()
            .map(Content::from_record)
        else {
            out.without_content += 1;
            continue;
        };
        let Ok(body) = &content.body else {
            out.without_content += 1;
            continue;
        };
        let mut case =
            crate::case_of_call::build(&call, body, content.captured_ms, content.truncated, &tags);
        if !seen.insert(case["input"].to_string()) {
            out.duplicates += 1;
            continue;
        }
        // Input only: what the model answered is what the cluster says went wrong.
        case["expected"] = Value::Null;
        case["id"] = format!("coverage:{}:{}", cluster.id, call.id).into();
        case["source"]["cluster"] = cluster.id.clone().into();
        out.cases.push(case);
    }
    Ok(out)
}
