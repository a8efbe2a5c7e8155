//! `seam report streams`: what streams felt like to clients, next to tokens per second, so
//! a change users feel shows even when tokens per second is flat.

use crate::cli::StoreArgs;
use crate::format::{parse_since, table, timestamp};
use seam_store::streams::groups;

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
