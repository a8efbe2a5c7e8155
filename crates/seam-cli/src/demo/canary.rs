//! The seed's story "the demo you recorded in March": a conversation with support-bot is
//! recorded as a golden while release 1 and sim-large-2026-01 serve it. Since then the
//! provider moved the model and a new release renamed the tool; the canary that the deploy
//! triggers (the schedule `seam serve` runs, read from the timeline) fails, shows what changed
//! in the answers and lists the changes since the recording.

use super::{ALIAS_MOVED, BASE_SCENARIO, Script};
use crate::canary::golden;
use crate::canary::run::report;
use crate::canary::schedule::{Scheduler, Target, replay_and_store};
use crate::cli::StoreArgs;
use crate::eval::client::Gateway;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;

const GOLDEN: &str = "invoice-lookup";
const TOOL_CALLS: &str = "\n[content]\nmode = \"tool_call\"\nanswer_tool_results = true\n";

/// A model that calls the tool it is offered, then answers with what the tool returned.
fn tool_scenario(base: &str) -> String {
    format!("{base}{TOOL_CALLS}")
}

/// Two turns with support-bot, the second after the tool's result, recorded as a golden.
/// Returns when it was recorded.
pub(super) async fn record(script: &Script<'_>, config: &Path) -> anyhow::Result<i64> {
    script.set_scenario(&tool_scenario(BASE_SCENARIO)).await?;
    let trace = format!("trc_demo_golden_{}", seam_store::now_ms());
    let ask = json!([{"role": "user", "content": "Find invoice inv_42 for Acme"}]);
    let first = call(script, &trace, &ask).await?;
    let tool_call = first
        .pointer("/choices/0/message/tool_calls/0")
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("the demo's first turn made no tool call: {first}"))?;
    let id = tool_call["id"].as_str().unwrap_or("call_1").to_string();
    let mut turns = ask.as_array().cloned().unwrap_or_default();
    turns.push(json!({"role": "assistant", "content": null, "tool_calls": [tool_call]}));
    turns.push(json!({"role": "tool", "tool_call_id": id,
                      "content": "{\"id\": \"inv_42\", \"status\": \"paid\", \"total\": 120}"}));
    call(script, &trace, &Value::Array(turns)).await?;
    script.set_scenario(BASE_SCENARIO).await?;
    // The writer flushes every 100 ms: the calls and their content are stored by then.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    println!(
        "  a support conversation (a tool call, then its answer) is recorded as golden `{GOLDEN}`:"
    );
    println!("  seam canary record {trace} --name {GOLDEN}");
    let store_args = StoreArgs {
        config: config.to_path_buf(),
        store: None,
    };
    crate::canary::record_golden(&store_args, &trace, GOLDEN).await?;
    Ok(seam_store::now_ms())
}

async fn call(script: &Script<'_>, trace: &str, messages: &Value) -> anyhow::Result<Value> {
    let r = script
        .client
        .post(format!("{}/chat/completions", script.base))
        .bearer_auth(script.key)
        .header("x-seam-trace", trace)
        .json(&json!({"model": "prompt:support-bot", "messages": messages,
                      "seam_variables": {"customer": "Acme"}}))
        .send()
        .await?;
    anyhow::ensure!(
        r.status().is_success(),
        "the golden's call failed: {}",
        r.status()
    );
    Ok(r.json().await?)
}

/// The canary the deploys since the recording trigger, as `seam serve`'s schedule runs it.
pub(super) async fn replay(
    script: &Script<'_>,
    store: Arc<dyn seam_store::Store>,
    config_path: &Path,
    recorded_ms: i64,
) -> anyhow::Result<()> {
    println!(
        "\nCanary: golden `{GOLDEN}` was recorded against support-bot's first release; since then the provider moved its model and a release renamed lookup_invoice to find_invoice."
    );
    let config = seam_config::load(config_path, &seam_config::process_env)?;
    let path = golden::path_of(&config.canaries.dir, GOLDEN);
    let g = golden::load(&path)?;
    // The schedule as it would have run in `seam serve` since the recording: the timeline
    // since then makes the golden due.
    let mut scheduler = Scheduler::starting_at(store, config, "demo".into(), recorded_ms);
    let due = scheduler
        .poll(&[Target::of(&g)], seam_store::now_ms())
        .await?;
    let Some(d) = due.into_iter().find(|d| d.golden == GOLDEN) else {
        anyhow::bail!("nothing on the timeline made golden `{GOLDEN}` due");
    };
    println!(
        "  seam serve replays it after the {} ({} replays):",
        d.trigger.as_str().replace('_', " "),
        scheduler.config.canaries.repeat
    );
    // Today's world: the provider serves the moved model; it still calls the tool it is offered.
    script.set_scenario(&tool_scenario(ALIAS_MOVED)).await?;
    let mut gateway = Gateway::new(script.base.trim_end_matches("/v1"), Some(script.key.into()))?;
    gateway.purpose = "canary";
    let notifier = seam_notify::Notifier::new(&[]).map_err(anyhow::Error::msg)?;
    let replayed = replay_and_store(&scheduler, &gateway, &notifier, &g, d.trigger).await;
    script.set_scenario(BASE_SCENARIO).await?;
    let (judged, since, record) = replayed?;
    for line in report(&g, &judged, &since).lines() {
        println!("  {line}");
    }
    println!(
        "  stored as run {} (seam canary history {GOLDEN}); canary_failed is on the timeline",
        record.id
    );
    Ok(())
}
