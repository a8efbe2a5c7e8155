//! `seam report streams`' figures (the CLI's and the dashboard's): per route, provider and
//! served model, what streams felt like to clients, next to tokens per second, so a change
//! users feel shows even when tokens per second is flat.

use crate::StreamRecord;
use seam_vocab::{SloOutcome, SloVerdict};
use serde::Serialize;
use std::collections::BTreeMap;

/// One route, provider and served model over the window.
#[derive(Debug, Serialize)]
pub struct StreamGroup {
    pub route: String,
    pub provider: String,
    pub served_model: String,
    pub streams: usize,
    pub client_disconnects: usize,
    /// Streams checked against the route's SLO, and how many met it.
    pub slo_checked: usize,
    pub slo_met: usize,
    /// `slo_met / slo_checked`; `None` without an SLO on the route.
    pub slo_attainment: Option<f64>,
    /// Medians over the streams of each stream's own figure.
    pub tokens_per_sec_p50: Option<f64>,
    pub gap_p50_ms: f64,
    pub gap_p95_ms: f64,
    pub chars_per_chunk_p50: f64,
    pub tokens_per_chunk: f64,
    pub ttft_ms_p50: Option<f64>,
    pub gap_max_ms: f64,
    pub stalls: i64,
    /// The most common breach, when any.
    pub top_breach: Option<String>,
}

/// The median of `v` (`None` when empty).
pub fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// One group per route, provider and served model, in that order.
pub fn groups(rows: &[StreamRecord]) -> Vec<StreamGroup> {
    let mut by: BTreeMap<(String, String, String), Vec<&StreamRecord>> = BTreeMap::new();
    for r in rows {
        by.entry((
            r.route.clone(),
            r.provider.clone(),
            r.served_model.clone().unwrap_or_else(|| "-".into()),
        ))
        .or_default()
        .push(r);
    }
    by.into_iter()
        .map(|((route, provider, served_model), rs)| summarise(route, provider, served_model, &rs))
        .collect()
}

/// The figures of `rs`, any set of streams (a group of [`groups`], one route's streams in a
/// time bucket), under the given names.
pub fn summarise(
    route: String,
    provider: String,
    served_model: String,
    rs: &[&StreamRecord],
) -> StreamGroup {
    let col =
        |f: fn(&StreamRecord) -> Option<f64>| rs.iter().filter_map(|r| f(r)).collect::<Vec<f64>>();
    let slo: Vec<&SloVerdict> = rs.iter().filter_map(|r| r.slo.as_ref()).collect();
    let slo_met = slo
        .iter()
        .filter(|s| s.outcome() == SloOutcome::Met)
        .count();
    let mut breaches: BTreeMap<String, usize> = BTreeMap::new();
    for b in slo.iter().filter_map(|s| s.breaches()) {
        for part in b.split("; ") {
            let kind = part.split(' ').take(2).collect::<Vec<_>>().join(" ");
            *breaches.entry(kind).or_default() += 1;
        }
    }
    StreamGroup {
        route,
        provider,
        served_model,
        streams: rs.len(),
        client_disconnects: rs.iter().filter(|r| r.client_closed).count(),
        slo_checked: slo.len(),
        slo_met,
        slo_attainment: (!slo.is_empty()).then(|| slo_met as f64 / slo.len() as f64),
        tokens_per_sec_p50: median(col(|r| r.tokens_per_sec)),
        gap_p50_ms: median(col(|r| Some(r.gap_p50_ms))).unwrap_or(0.0),
        gap_p95_ms: median(col(|r| Some(r.gap_p95_ms))).unwrap_or(0.0),
        chars_per_chunk_p50: median(col(|r| Some(r.chars_p50))).unwrap_or(0.0),
        tokens_per_chunk: median(col(|r| Some(r.tokens_per_chunk))).unwrap_or(0.0),
        ttft_ms_p50: median(col(|r| r.ttft_ms)),
        gap_max_ms: rs.iter().map(|r| r.gap_max_ms).fold(0.0, f64::max),
        stalls: rs.iter().fold(0i64, |n, r| n.saturating_add(r.stalls)),
        top_breach: breaches
            .into_iter()
            .max_by_key(|(_, n)| *n)
            .map(|(k, n)| format!("{k} ({n})")),
    }
}
