//! `seam sessions` and `seam sessions migrate`.

use crate::cli::StoreArgs;
use crate::format::{clean, table, timestamp};
use std::collections::BTreeMap;

fn age(ms: i64) -> String {
    let s = (ms / 1000).max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

pub async fn list(
    store_args: &StoreArgs,
    prompt: Option<String>,
    release: Option<String>,
    json: bool,
) -> anyhow::Result<()> {
    let (store, who) = crate::actor::open_as(store_args).await?;
    let now = seam_store::now_ms();
    let sessions = seam_control::sessions::list(
        &store,
        &who,
        &seam_store::SessionQuery {
            live_at_ms: now,
            prompt,
            release_id: release,
            session_id: None,
        },
    )
    .await?;
    let current: BTreeMap<(String, String), String> = seam_store::Releases::current_deploys(&store)
        .await?
        .into_iter()
        .map(|d| ((d.prompt, d.channel), d.release_id))
        .collect();
    let is_current = |s: &seam_store::SessionRecord| {
        current.get(&(s.prompt.clone(), s.channel.clone())) == Some(&s.release_id)
    };
    if json {
        let out: Vec<serde_json::Value> = sessions
            .iter()
            .map(|s| {
                let mut v = serde_json::to_value(s).unwrap_or_default();
                v["age_ms"] = now.saturating_sub(s.started_ms).into();
                v["idle_ms"] = now.saturating_sub(s.last_ms).into();
                v["draining"] = (!is_current(s)).into();
                v
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"now_ms": now, "sessions": out}))?
        );
        return Ok(());
    }
    if sessions.is_empty() {
        println!("no sessions in flight");
        return Ok(());
    }
    let mut per_release: BTreeMap<(String, String, String), (usize, bool)> = BTreeMap::new();
    for s in &sessions {
        let e = per_release
            .entry((s.prompt.clone(), s.channel.clone(), s.release_id.clone()))
            .or_insert((0, is_current(s)));
        e.0 += 1;
    }
    let rows: Vec<Vec<String>> = per_release
        .iter()
        .map(|((p, c, r), (n, cur))| {
            vec![
                format!("{p}@{c}"),
                r.clone(),
                n.to_string(),
                if *cur { "serving" } else { "draining" }.into(),
            ]
        })
        .collect();
    println!(
        "{}",
        table(&["PROMPT", "RELEASE", "SESSIONS", "STATE"], &rows)
    );
    println!();
    let rows: Vec<Vec<String>> = sessions
        .iter()
        .map(|s| {
            vec![
                s.session_id.clone(),
                s.tenant.clone(),
                format!("{}@{}", s.prompt, s.channel),
                s.release_id.clone(),
                age(now.saturating_sub(s.started_ms)),
                format!("{} ago", age(now.saturating_sub(s.last_ms))),
                timestamp(s.expires_ms),
            ]
        })
        .collect();
    println!(
        "{}",
        table(
            &[
                "SESSION",
                "TENANT",
                "PROMPT",
                "RELEASE",
                "AGE",
                "LAST CALL",
                "EXPIRES (UTC)"
            ],
            &rows
        )
    );
    Ok(())
}

pub async fn migrate(
    store_args: &StoreArgs,
    id: &str,
    to: &str,
    tenant: Option<String>,
    channel: Option<String>,
    json_out: bool,
) -> anyhow::Result<()> {
    let (store, who) = crate::actor::open_to_act(store_args).await?;
    let target = seam_control::sessions::MigrateTarget {
        session_id: id,
        tenant: tenant.as_deref(),
        channel: channel.as_deref(),
    };
    let before = seam_control::sessions::migrate(&store, &who, &target, to).await?;
    if json_out {
        println!(
            "{}",
            serde_json::json!({
                "session": id, "tenant": before.tenant, "prompt": before.prompt,
                "channel": before.channel, "from": before.release_id, "to": to,
                "sync_secs": seam_gateway::session::PIN_SYNC.as_secs(),
            })
        );
        return Ok(());
    }
    println!(
        "session {} (tenant {}, {}@{}): {} -> {to}; gateways serve it within {}s",
        clean(id),
        clean(&before.tenant),
        clean(&before.prompt),
        clean(&before.channel),
        before.release_id,
        seam_gateway::session::PIN_SYNC.as_secs()
    );
    Ok(())
}
