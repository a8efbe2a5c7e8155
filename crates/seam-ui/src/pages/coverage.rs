//! Coverage (`seam coverage`, docs/failures.md): the silent-failure signals over the period
//! as flagged calls per signal per day (per hour up to 48 h), then the flagged user turns'
//! clusters held against the eval datasets in `[evals] dir`, the uncovered ones first, each
//! with an Export button for those who operate its calls' tenants (`coverage_export.rs`).
//! The report is `seam_control::failures::coverage`'s, shared with the CLI; a viewer sees
//! only their tenants. Every text a user sent is escaped by the templates.

use super::charts::with_svg;
use super::*;
use crate::svg::{self, Series, Unit};
use seam_control::Actor;
use seam_control::failures::{self, CoverageReport, coverage::ClusterView};
use seam_evals::dataset::Dataset;
use seam_store::{FlagQuery, FlagRecord, Tenants};
use std::collections::BTreeMap;
use std::path::PathBuf;

const HOUR_MS: i64 = 3_600_000;
/// The longest period the page scans: each view reads every call of the period with its
/// content, so a year is the CLI's job.
const MAX_SINCE_MS: i64 = 31 * DAY_MS;

/// A coverage report as the signed-in person may read it, with its period and scope.
pub(crate) struct Loaded {
    pub report: CoverageReport,
    pub scope: Tenants,
}

/// The period `since` (1h to 31d) ending now, as (since_ms, until_ms).
pub(crate) fn period(since: &str) -> Result<(i64, i64), String> {
    match since_ms(since) {
        Ok(ms) if (HOUR_MS..=MAX_SINCE_MS).contains(&ms) => {
            let until = seam_store::now_ms();
            Ok((until - ms, until))
        }
        _ => Err(format!("since `{since}`: give 1h to 31d, such as 7d")),
    }
}

/// The datasets of `[evals] dir`, or only `name` among them. A name is matched against the
/// files listed there, never read as a path: the page must not open other files.
fn datasets(dir: Option<PathBuf>, name: Option<&str>) -> Result<Vec<Dataset>, String> {
    let listed = match &dir {
        Some(d) if d.is_dir() => seam_evals::dataset::list(d)?,
        _ => Vec::new(),
    };
    let stem = |p: &PathBuf| {
        p.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let chosen: Vec<&PathBuf> = match name {
        None => listed.iter().collect(),
        Some(n) => {
            let want = n.strip_suffix(".jsonl").unwrap_or(n);
            let found: Vec<&PathBuf> = listed.iter().filter(|p| stem(p) == want).collect();
            if found.is_empty() {
                let names: Vec<String> = listed.iter().map(stem).collect();
                return Err(format!(
                    "dataset `{n}`: no such dataset in [evals] dir (datasets: {})",
                    if names.is_empty() {
                        "none".into()
                    } else {
                        names.join(", ")
                    }
                ));
            }
            found
        }
    };
    chosen
        .into_iter()
        .map(|p| Dataset::load(p).map_err(|e| e.to_string()))
        .collect()
}

/// Scans the period, clusters its flagged calls and matches the datasets, as `who` may read.
/// A refusal or a bad filter comes back as its page.
pub(crate) async fn load(
    ui: &Ui,
    who: &Signed,
    since: &str,
    dataset: Option<&str>,
) -> Result<Loaded, Response> {
    let bad = |text: String| ui.message(StatusCode::BAD_REQUEST, &text, Some(who));
    let (since_ms, until_ms) = period(since).map_err(bad)?;
    let scope = who
        .actor
        .read_scope("reading failure clusters")
        .map_err(|e| control_error(ui, who, e))?;
    // Reading and parsing the dataset files is blocking work.
    let (dir, name) = (ui.evals_dir(), dataset.map(str::to_string));
    let sets = match tokio::task::spawn_blocking(move || datasets(dir, name.as_deref())).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(bad(e)),
        Err(_) => {
            return Err(ui.message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the datasets could not be read; the gateway's log says why",
                Some(who),
            ));
        }
    };
    let cfg = ui.failures();
    let opts = failures::coverage_options(&cfg);
    // Clustering a week of turns is CPU work: on a blocking thread, not on the threads that
    // serve calls (the store's futures are driven from there through the runtime's handle).
    let (store, tenants, rt) = (
        ui.store.clone(),
        scope.clone(),
        tokio::runtime::Handle::current(),
    );
    let report = tokio::task::spawn_blocking(move || {
        rt.block_on(failures::coverage(
            store.as_ref(),
            &tenants,
            since_ms,
            until_ms,
            &sets,
            &opts,
            None,
        ))
    })
    .await;
    match report {
        Ok(Ok(mut report)) => {
            // Embedding a week of turns on a page load would spend the route's money on every
            // visit: the page clusters lexically, and says so when a route is configured.
            report.similarity = failures::embed::lexical(
                &cfg,
                Some("the dashboard clusters lexically; `seam coverage` embeds"),
            );
            Ok(Loaded { report, scope })
        }
        Ok(Err(e)) => Err(control_error(ui, who, e)),
        Err(_) => Err(ui.message(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the coverage report failed; the gateway's log says why",
            Some(who),
        )),
    }
}

/// Whether `actor` may export `c`'s calls as cases: operator of every tenant among them.
fn may_export(actor: &Actor, c: &ClusterView, tenant_of: &HashMap<&str, &str>) -> bool {
    actor.admin
        || c.calls.iter().all(|id| {
            tenant_of
                .get(id.as_str())
                .is_some_and(|t| actor.can_operate(t))
        })
}

fn cluster_row(c: &ClusterView, export: bool) -> Value {
    let signals: Vec<String> = c.signals.iter().map(|(s, n)| format!("{s} {n}")).collect();
    let list = |v: &[String]| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.join(", ")
        }
    };
    json!({
        "id": c.id,
        "covered": c.covered,
        "size": c.size,
        "share": pct(c.share),
        "signals": signals.join(", "),
        "routes": list(&c.routes),
        "releases": list(&c.releases),
        "terms": c.top_terms.join(", "),
        "nearest": c.nearest_case.as_ref().map(|n| format!("{} / {}", n.dataset, n.case_id)),
        "similarity": format!("{:.2}", c.similarity),
        "examples": c.examples.iter().map(|e| json!({
            "call": e.call_id, "segment": segment(&e.call_id), "text": e.text,
        })).collect::<Vec<_>>(),
        "export": export,
    })
}

/// The chart's bucket for a period, with its name: days, hours up to 48 h, ten minutes up to
/// 6 h (so a short period still has a line).
fn bucket(since: i64, until: i64) -> (i64, &'static str) {
    match until - since {
        p if p <= 6 * HOUR_MS => (HOUR_MS / 6, "10 minutes"),
        p if p <= 48 * HOUR_MS => (HOUR_MS, "hour"),
        _ => (DAY_MS, "day"),
    }
}

/// Flagged calls per signal in each bucket of `[since, until)`, a chart per three signals
/// (the line chart draws three), the signals with the most flags first.
fn signal_charts(flags: &[FlagRecord], since: i64, until: i64) -> (String, Vec<Value>, Vec<Value>) {
    let (bucket, _) = bucket(since, until);
    let start = since.div_euclid(bucket) * bucket;
    let n = usize::try_from((until - start + bucket - 1) / bucket).unwrap_or(0);
    let mut counts: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for f in flags {
        let k = usize::try_from((f.created_ms - start) / bucket).unwrap_or(usize::MAX);
        if let Some(slot) = counts
            .entry(f.signal.as_str())
            .or_insert_with(|| vec![0.0; n])
            .get_mut(k)
        {
            *slot += 1.0;
        }
    }
    let mut ordered: Vec<(&str, Vec<f64>, f64)> = counts
        .into_iter()
        .map(|(s, v)| {
            let total = v.iter().sum();
            (s, v, total)
        })
        .collect();
    ordered.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(b.0)));
    let charts: String = ordered
        .chunks(3)
        .map(|group| {
            let series: Vec<Series> = group
                .iter()
                .map(|(s, v, _)| Series {
                    label: s,
                    points: (0..n).map(|i| (start + i as i64 * bucket, v[i])).collect(),
                })
                .collect();
            svg::line_chart(&series, start, until, Unit::Number)
        })
        .collect();
    let totals = ordered
        .iter()
        .map(|(s, _, t)| json!({"signal": s, "flagged": *t as u64}))
        .collect();
    // The charts' numbers, bucket by bucket (those with a flag), newest first.
    let rows = (0..n)
        .rev()
        .filter_map(|i| {
            let here: Vec<String> = ordered
                .iter()
                .filter(|(_, v, _)| v[i] > 0.0)
                .map(|(s, v, _)| format!("{s} {}", v[i] as u64))
                .collect();
            (!here.is_empty()).then(|| {
                json!({"time": timestamp(start + i as i64 * bucket), "flagged": here.join(", ")})
            })
        })
        .collect();
    (charts, totals, rows)
}

/// GET /ui/coverage?since=7d&dataset=NAME.
pub(crate) async fn coverage(
    State(ui): State<Arc<Ui>>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let who = match signed(&ui, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let since = param(&q, "since").unwrap_or("7d");
    let dataset = param(&q, "dataset");
    let Loaded { report: r, scope } = match load(&ui, &who, since, dataset).await {
        Ok(l) => l,
        Err(resp) => return resp,
    };
    // After the scan, so the chart counts the flags it stored.
    let query = FlagQuery {
        since_ms: r.since_ms,
        until_ms: r.until_ms,
        signal: None,
        route: None,
        limit: i64::MAX,
    };
    let flags = match ui.store.list_flags_in(&query, &scope).await {
        Ok(f) => f,
        Err(e) => return control_error(&ui, &who, e.into()),
    };
    let tenant_of: HashMap<&str, &str> = flags
        .iter()
        .map(|f| (f.call_id.as_str(), f.tenant.as_str()))
        .collect();
    let (charts, totals, buckets) = signal_charts(&flags, r.since_ms, r.until_ms);
    let c = &r.scanned.coverage;
    let data = json!({
        "f": {"since": since, "dataset": dataset.unwrap_or("")},
        "csrf": who.csrf,
        "from": timestamp(r.since_ms),
        "until": timestamp(r.until_ms),
        "bucket": bucket(r.since_ms, r.until_ms).1,
        "totals": totals,
        "buckets": buckets,
        "datasets": if r.datasets.is_empty() { "none".to_string() } else { r.datasets.join(", ") },
        "cases": r.cases,
        "flagged": r.flagged_calls,
        "with_text": r.flagged_with_text,
        "covered_share": pct(r.covered_share),
        "cover_threshold": format!("{:.2}", r.cover_threshold),
        "clusters": r.clusters.iter().map(|c| cluster_row(c, may_export(&who.actor, c, &tenant_of))).collect::<Vec<_>>(),
        "small_clusters": r.small_clusters,
        "small_calls": r.small_cluster_calls,
        "method": r.method,
        "compared_by": r.similarity,
        "scanned": {
            "calls": r.scanned.calls,
            "text": c.text_turns,
            "metadata_only": c.metadata_only_turns,
            "undecodable": r.scanned.undecodable,
            "unchecked": c.unchecked.iter().map(|u| json!({
                "signal": u.signal.as_str(), "turns": u.turns, "reason": u.reason,
            })).collect::<Vec<_>>(),
        },
    });
    ui.page(
        StatusCode::OK,
        "Coverage",
        "coverage.html",
        with_svg(&data, vec![("signals", charts)]),
        Some(&who),
    )
}
