//! `seam serve`.

use anyhow::Context;
use std::path::Path;
use std::sync::Arc;

pub async fn run(config_path: &Path) -> anyhow::Result<()> {
    crate::init_logging("info");
    let config = seam_config::load(config_path, &seam_config::process_env)?;
    let store = seam_store::open(&config.store.url)
        .await
        .with_context(|| format!("cannot open the store {}", config.store.url))?;
    record_config(&store, config_path).await?;
    let registry = seam_providers::Registry::from_config(&config.providers)
        .map_err(|e| anyhow::anyhow!("{}: {e}", config_path.display()))?;
    let listen = config.server.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let running = seam_gateway::start(config, Arc::new(store), registry, listener).await?;
    tracing::info!(addr = %running.addr, "seam is serving; OpenAI base_url is http://{}/v1", running.addr);
    running.run_until(crate::shutdown_signal()).await;
    tracing::info!("stopped; records flushed");
    Ok(())
}

/// A config that differs from the one the store last ran with is a control-plane change: it
/// goes on the audit chain (with both hashes) and the change timeline. The file holds no
/// secrets (only the names of the variables that do), so its hash says nothing of them.
async fn record_config(store: &seam_store::SqlStore, path: &Path) -> anyhow::Result<()> {
    use seam_store::Store;
    use sha2::{Digest, Sha256};
    let text = std::fs::read(path)?;
    let hash = hex::encode(Sha256::digest(&text));
    let last = store
        .list_audit()
        .await?
        .into_iter()
        .rev()
        .find(|r| r.action == "config.change")
        .and_then(|r| r.after)
        .and_then(|a| serde_json::from_str::<serde_json::Value>(&a).ok())
        .and_then(|a| a.get("sha256").and_then(|h| h.as_str()).map(str::to_string));
    if last.as_deref() == Some(hash.as_str()) {
        return Ok(());
    }
    let actor = match std::env::var("SEAM_TOKEN").ok().filter(|t| !t.is_empty()) {
        Some(t) => seam_control::user_by_token(store, &t)
            .await?
            .map(|u| u.name)
            .unwrap_or_else(|| "operator".into()),
        None => "operator".into(),
    };
    let now = seam_gateway::now_ms();
    let before = last.map(|h| serde_json::json!({"sha256": h}).to_string());
    let after = serde_json::json!({"sha256": hash, "file": path.display().to_string()});
    store
        .append_audit(
            &actor,
            "config.change",
            &path.display().to_string(),
            before.clone(),
            Some(after.to_string()),
            now,
        )
        .await?;
    store
        .insert_event(&seam_store::EventRecord {
            id: format!("evt_cfg_{now}"),
            created_ms: now,
            kind: "config_changed".into(),
            route: None,
            provider: None,
            message: format!(
                "{actor}: the gateway now runs {} (sha256 {})",
                path.display(),
                &hash[..12]
            ),
            details: serde_json::json!({"actor": actor, "before": before, "after": after})
                .to_string(),
        })
        .await?;
    Ok(())
}
