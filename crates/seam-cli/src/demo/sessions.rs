//! The seed's hot-reload story: a long tool-using conversation is in flight when a new
//! release renames a tool. The conversation finishes on the release it started on; new
//! conversations get the new one; the old release drains, visibly.

use super::{DEMO_PROMPT, Script};
use seam_store::{Audit, Evals, Events, Releases, SessionQuery, Sessions, Users};
use serde_json::{Value, json};
use std::path::Path;

impl Script<'_> {
    /// One turn of conversation `session`; returns (release, tool names the provider got).
    async fn session_turn(&self, session: &str, turn: usize) -> anyhow::Result<(String, String)> {
        let mut messages = Vec::new();
        for i in 0..turn {
            messages.push(json!({"role": "user", "content": format!("And invoice {i}?")}));
            messages.push(json!({"role": "assistant", "content": null, "tool_calls": [{"id": format!("call_{i}"),
                "type": "function", "function": {"name": "lookup_invoice", "arguments": format!("{{\"id\":\"{i}\"}}")}}]}));
            messages.push(
                json!({"role": "tool", "tool_call_id": format!("call_{i}"), "content": "paid"}),
            );
        }
        messages.push(json!({"role": "user", "content": format!("And invoice {turn}?")}));
        let r = self
            .client
            .post(format!("{}/chat/completions", self.base))
            .bearer_auth(self.key)
            .header("x-seam-session", session)
            .json(&json!({"model": "prompt:support-bot", "messages": messages,
                "seam_variables": {"customer": "Acme"}}))
            .send()
            .await?;
        let status = r.status();
        let release = r
            .headers()
            .get("x-seam-release")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_string();
        let _ = r.bytes().await;
        if !status.is_success() {
            anyhow::bail!("session {session} turn {turn}: {status}");
        }
        let stats: Value = self
            .client
            .get(format!("{}/_sim/stats", self.sim))
            .send()
            .await?
            .json()
            .await?;
        let tools: Vec<&str> = stats["last_body"]["tools"]
            .as_array()
            .map(|ts| {
                ts.iter()
                    .filter_map(|t| t["function"]["name"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        Ok((release, tools.join(",")))
    }
}

pub(super) async fn hot_reload(
    script: &Script<'_>,
    store: &(impl Users + Audit + Releases + Sessions + Events + Evals + ?Sized),
    dir: &Path,
) -> anyhow::Result<()> {
    println!(
        "\nHot reload: conversation conv-7 (x-seam-session) is working through invoices with the lookup_invoice tool."
    );
    for turn in 0..3 {
        let (release, tools) = script.session_turn("conv-7", turn).await?;
        println!(
            "  conv-7 turn {:>2}: release {release}, tools sent: {tools}",
            turn + 1
        );
    }
    println!(
        "  11:46pm: ana renames the tool to find_invoice, releases it, ben approves, ana deploys (mode drain)"
    );
    let release = super::ship(
        store,
        dir,
        &DEMO_PROMPT.replace("lookup_invoice", "find_invoice"),
        &seam_control::Actor::user("ben"),
        &seam_control::Actor::user("ana"),
    )
    .await?;
    for turn in 3..6 {
        let (release, tools) = script.session_turn("conv-7", turn).await?;
        println!(
            "  conv-7 turn {:>2}: release {release}, tools sent: {tools}   (pinned: it keeps its contract)",
            turn + 1
        );
    }
    let (new_release, tools) = script.session_turn("conv-8", 0).await?;
    println!(
        "  conv-8 turn  1: release {new_release}, tools sent: {tools}   (a new conversation gets the new release)"
    );

    println!("  seam sessions:");
    let now = seam_store::now_ms();
    for s in store
        .list_sessions(&SessionQuery {
            live_at_ms: now,
            prompt: Some("support-bot".into()),
            ..SessionQuery::default()
        })
        .await?
    {
        let state = if s.release_id == release.id {
            "serving"
        } else {
            "draining"
        };
        println!(
            "    {:<8} {} ({state}), started {}s ago, last call {}s ago",
            s.session_id,
            s.release_id,
            (now - s.started_ms) / 1000,
            (now - s.last_ms) / 1000
        );
    }
    if let Some(deploy) =
        seam_control::sessions::changes(store, &seam_control::Actor::admin("bootstrap"), 0, 1000)
            .await?
            .iter()
            .rfind(|e| e["kind"] == "release_deploy")
    {
        println!(
            "  seam changes: {} [draining: {} session(s) still on {}]",
            deploy["message"].as_str().unwrap_or(""),
            deploy["drain"]["sessions"],
            deploy["drain"]["release"].as_str().unwrap_or("-")
        );
    }
    Ok(())
}
