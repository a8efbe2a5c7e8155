//! `seam report streams`: what streams felt like to clients, next to tokens per second, so
//! a change users feel shows even when tokens per second is flat.

use crate::cli::StoreArgs;
use crate::format::{parse_since, table, timestamp};
use seam_store::StreamRecord;
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

fn median(mut v: Vec<f64>) -> Option<f64> {
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
        .map(|((route, provider, served_model), rs)| {
            let col = |f: fn(&StreamRecord) -> Option<f64>| {
                rs.iter().filter_map(|r| f(r)).collect::<Vec<f64>>()
            };
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
        })
        .collect()
}

pub async fn report(store_args: &StoreArgs, since: &str, json: bool) -> anyhow::Result<()> {
    let window = parse_since(since)?;
    let (store, who) = crate::actor::open_as(store_args).await?;
    let scope = who.read_scope("reading the streams report")?;
    let since_ms = seam_store::now_ms() - window.as_millis() as i64;
    let rows = seam_store::Records::list_streams_in(&store, since_ms, &scope).await?;
    let groups = groups(&rows);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"since_ms": since_ms, "groups": groups})
            )?
        );
        return Ok(());
    }
    if groups.is_empty() {
        println!("no streams recorded since {} UTC", timestamp(since_ms));
        return Ok(());
    }
    let f1 = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.1}"));
    let lines: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            vec![
                g.route.clone(),
                g.provider.clone(),
                g.served_model.clone(),
                g.streams.to_string(),
                match g.slo_attainment {
                    Some(a) => format!("{:.1}% ({}/{})", a * 100.0, g.slo_met, g.slo_checked),
                    None => "no SLO".into(),
                },
                f1(g.tokens_per_sec_p50),
                format!(
                    "{:.0}/{:.0}/{:.0}",
                    g.gap_p50_ms, g.gap_p95_ms, g.gap_max_ms
                ),
                format!("{:.1}", g.chars_per_chunk_p50),
                format!("{:.1}", g.tokens_per_chunk),
                g.stalls.to_string(),
                g.client_disconnects.to_string(),
                g.top_breach.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    println!(
        "{}",
        table(
            &[
                "ROUTE",
                "PROVIDER",
                "SERVED",
                "STREAMS",
                "SLO MET",
                "TOK/S",
                "GAP ms p50/p95/max",
                "CHARS/CHUNK",
                "TOK/CHUNK",
                "STALLS",
                "LEFT",
                "TOP BREACH",
            ],
            &lines
        )
    );
    println!(
        "(per-stream figures, median over streams; gaps between content chunks as clients got them)"
    );
    Ok(())
}
