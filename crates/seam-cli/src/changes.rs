//! `seam changes`: the change timeline (deploys, reloads, drift, outages), with each deploy's
//! drain.

use crate::cli::StoreArgs;
use crate::format::{parse_since, table, timestamp};

pub async fn changes(store: &StoreArgs, since: &str, json: bool) -> anyhow::Result<()> {
    let window = parse_since(since)?;
    let (store, who) = crate::actor::open_as(store).await?;
    let since_ms = seam_store::now_ms() - window.as_millis() as i64;
    let events = seam_control::sessions::changes(&store, &who, since_ms, 10_000).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&events)?);
        return Ok(());
    }
    if events.is_empty() {
        println!("no changes recorded since {} UTC", timestamp(since_ms));
        return Ok(());
    }
    let text = |e: &serde_json::Value, k: &str| e[k].as_str().unwrap_or("-").to_string();
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            let mut what = text(e, "message");
            if let Some(d) = e.get("drain") {
                what.push_str(&drain_text(d));
            }
            vec![
                timestamp(e["created_ms"].as_i64().unwrap_or(0)),
                text(e, "kind"),
                text(e, "route"),
                text(e, "provider"),
                what,
            ]
        })
        .collect();
    println!(
        "{}",
        table(&["TIME (UTC)", "EVENT", "ROUTE", "PROVIDER", "WHAT"], &rows)
    );
    Ok(())
}

fn sessions(n: i64) -> String {
    format!("{n} session{}", if n == 1 { "" } else { "s" })
}

/// A deploy's drain as `seam changes` shows it: live while its old release is not served
/// again, else over, with what it was at the deploy.
fn drain_text(d: &serde_json::Value) -> String {
    let release = d["release"].as_str().unwrap_or("-");
    let at_deploy = d["at_deploy"].as_i64();
    if let Some(ended) = d["ended"]["at_ms"].as_i64() {
        return format!(
            " [drain over: back on {release} since {} UTC{}]",
            timestamp(ended),
            at_deploy
                .map(|n| format!("; {} on it at the deploy", sessions(n)))
                .unwrap_or_default()
        );
    }
    let of = at_deploy
        .map(|n| format!("; {n} at the deploy"))
        .unwrap_or_default();
    match d["sessions"].as_i64().unwrap_or(0) {
        0 => format!(" [drained: no session left on {release}{of}]"),
        n => format!(" [draining: {} still on {release}{of}]", sessions(n)),
    }
}

#[cfg(test)]
mod tests {
    use super::drain_text;
    use serde_json::json;

    #[test]
    fn a_drain_reads_as_live_drained_or_over() {
        let live = drain_text(&json!({"release": "rel_a", "sessions": 2, "at_deploy": 3}));
        assert_eq!(
            live,
            " [draining: 2 sessions still on rel_a; 3 at the deploy]"
        );
        let drained = drain_text(&json!({"release": "rel_a", "sessions": 0, "at_deploy": 1}));
        assert_eq!(
            drained,
            " [drained: no session left on rel_a; 1 at the deploy]"
        );
        // After a rollback to rel_a, its sessions are not draining: the drain is over.
        let over = drain_text(&json!({"release": "rel_a", "at_deploy": 1,
            "ended": {"at_ms": 1_767_225_600_000_i64}}));
        assert_eq!(
            over,
            " [drain over: back on rel_a since 2026-01-01 00:00:00 UTC; 1 session on it at the deploy]"
        );
        // An event from before the count at the deploy was kept.
        let old = drain_text(&json!({"release": "rel_a", "sessions": 1}));
        assert_eq!(old, " [draining: 1 session still on rel_a]");
    }
}
