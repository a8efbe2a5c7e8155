//! The seed's streaming story: the provider starts sending one token per chunk instead of
//! four at the same tokens per second. Tokens per second stays green; Seam shows the
//! smoothness SLO breaking and the chunk-shape drift event, and with re-chunking on the
//! client gets steady word chunks again.

use super::{BASE_SCENARIO, Script};
use futures_util::future::join_all;
use seam_store::{Events, Records};
use serde_json::{Value, json};
use std::time::Duration;

const STORY: &str = "Once upon a midnight dreary while I pondered weak and weary over many a quaint \
and curious volume of forgotten lore while I nodded nearly napping suddenly there came a tapping";

fn shape(tokens_per_chunk: usize, interval_ms: u64) -> String {
    format!(
        "[model]\nfingerprint = \"fp_demo_1\"\n[stream]\ntokens_per_chunk = {tokens_per_chunk}\ninterval_ms = {interval_ms}\n"
    )
}

impl Script<'_> {
    /// Streams one call on `route`; returns the content deltas the client got.
    async fn story(&self, route: &str) -> anyhow::Result<Vec<String>> {
        let r = self
            .client
            .post(format!("{}/chat/completions", self.base))
            .bearer_auth(self.key)
            .json(&json!({"model": route, "stream": true, "messages": [{"role": "user", "content": STORY}]}))
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "stream on {route}: {}", r.status());
        let body = r.text().await?;
        Ok(body
            .split("\n\n")
            .filter_map(|e| e.trim().strip_prefix("data: "))
            .filter_map(|d| serde_json::from_str::<Value>(d).ok())
            .filter_map(|v| {
                v["choices"][0]["delta"]["content"]
                    .as_str()
                    .map(str::to_string)
            })
            .filter(|t| !t.is_empty())
            .collect())
    }

    async fn stories(&self, route: &str, n: usize) -> anyhow::Result<()> {
        for r in join_all((0..n).map(|_| self.story(route))).await {
            r?;
        }
        Ok(())
    }
}

fn line(label: &str, rows: &[seam_store::StreamRecord]) {
    let g = seam_store::streams::groups(rows);
    let Some(g) = g.first() else {
        return;
    };
    println!(
        "  {label:<24} tokens/s {:>5.0}   chars/chunk {:>4.1}   gap p95 {:>3.0} ms   SLO met {:>3.0}%{}",
        g.tokens_per_sec_p50.unwrap_or(0.0),
        g.chars_per_chunk_p50,
        g.gap_p95_ms,
        g.slo_attainment.unwrap_or(0.0) * 100.0,
        g.top_breach
            .as_ref()
            .map(|b| format!("   breached: {b}"))
            .unwrap_or_default()
    );
}

pub(super) async fn chunk_shape(
    script: &Script<'_>,
    store: &(impl Records + Events + ?Sized),
) -> anyhow::Result<()> {
    println!(
        "\nStreams: route `story` has a smoothness SLO (gap p95 <= 150 ms, median >= 8 characters per chunk)."
    );
    println!("  the provider streams 4 tokens per chunk every 40 ms");
    script.set_scenario(&shape(4, 40)).await?;
    let t0 = seam_store::now_ms();
    script.stories("story", 10).await?;
    println!("  ...then 1 token per chunk every 10 ms: the same tokens per second");
    script.set_scenario(&shape(1, 10)).await?;
    let t1 = seam_store::now_ms();
    script.stories("story", 10).await?;
    let mut first = script.story("story-smooth").await?;
    script.stories("story-smooth", 4).await?;
    script.set_scenario(BASE_SCENARIO).await?;
    tokio::time::sleep(Duration::from_millis(400)).await;

    let rows = store.list_streams(t0).await?;
    let on = |route: &str, from: i64, to: i64| {
        rows.iter()
            .filter(|r| r.route == route && r.created_ms >= from && r.created_ms < to)
            .cloned()
            .collect::<Vec<_>>()
    };
    println!("  seam report streams:");
    line("4 tokens/chunk", &on("story", t0, t1));
    line("1 token/chunk", &on("story", t1, i64::MAX));
    line(
        "1 token/chunk, rechunked",
        &on("story-smooth", t1, i64::MAX),
    );
    for e in store
        .list_events(t0, 100)
        .await?
        .iter()
        .filter(|e| e.kind == seam_vocab::EventKind::StreamShapeChanged)
    {
        println!("  event: {} — {}", e.kind, e.message);
    }
    first.truncate(6);
    println!(
        "  with re-chunking (route story-smooth, word boundaries) the client got: {}",
        first
            .iter()
            .map(|d| format!("{d:?}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    Ok(())
}
