//! `seam serve`.

use anyhow::Context;
use seam_store::{Audit, Events, Users};
use std::path::Path;
use std::sync::Arc;

pub async fn run(config_path: &Path) -> anyhow::Result<()> {
    crate::init_logging("info");
    // Listening for SIGTERM from the start (see `shutdown_signal`).
    let stop = crate::shutdown_signal();
    let config = seam_config::load(config_path, &seam_config::process_env)?;
    let audit_key = crate::audit::key_from_env()?;
    crate::cli::sqlite_dir_exists(&config.store.url)?;
    let store = seam_store::open_for_use(&config.store.url, config.store.max_connections)
        .await
        .with_context(|| {
            format!(
                "cannot open the store {}",
                seam_config::redact_url(&config.store.url)
            )
        })?
        .with_audit_key(audit_key);
    // At start rather than at the first deploy: this gateway could not record one.
    store
        .check_audit_key()
        .await
        .context("cannot record control-plane actions on this store")?;
    record_config(&store, config_path).await?;
    let anchors = crate::anchor::Anchors::new(&config.audit)?;
    let registry = seam_providers::Registry::from_config(&config.providers)
        .map_err(|e| anyhow::anyhow!("{}: {e}", config_path.display()))?;
    let listen = config.server.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let store = Arc::new(store);
    let canaries = config.clone();
    let running = seam_gateway::start(config, store.clone(), registry, listener).await?;
    // Goldens replayed on a schedule and after deploys and model changes, through this gateway.
    crate::canary::schedule::spawn(
        store.clone(),
        canaries,
        format!("http://{}", running.addr),
        running.metrics(),
    );
    // Cost and token limits projected to their windows' resets, every 15 minutes.
    crate::budget_watch::spawn(store.clone(), running.config_now());
    // Silent-failure signals over recent calls, every [failures] interval_secs.
    crate::signal_watch::spawn(
        store.clone(),
        running.config_now(),
        format!("http://{}", running.addr),
    );
    if let Some(anchors) = anchors {
        anchors.spawn(store);
    }
    running.watch_config(config_path.to_path_buf());
    if let Some(warning) = plain_http_warning(running.addr) {
        tracing::warn!("{warning}");
    }
    tracing::info!(addr = %running.addr, "seam is serving; OpenAI base_url is http://{}/v1", running.addr);
    tracing::info!(config = %config_path.display(), "reloads on a change to the config or its prompts directory, on SIGHUP, and on `seam reload`");
    running.run_until(stop).await;
    tracing::info!("stopped; records flushed");
    Ok(())
}

/// Seam speaks plain HTTP: keys, prompts and answers cross the network in the clear unless a
/// TLS-terminating proxy sits in front, which an address beyond this host suggests is missing.
fn plain_http_warning(addr: std::net::SocketAddr) -> Option<String> {
    (!addr.ip().is_loopback()).then(|| {
        format!(
            "seam serves plain HTTP on {addr}, which is reachable from other hosts: Seam keys, prompts and answers cross the network unencrypted unless a TLS-terminating proxy is in front and the port is reachable only from it (docs/production.md, \"TLS\")"
        )
    })
}

/// The config this gateway runs goes on the audit chain when it changed (see
/// `seam_control::config_loaded`); the actor is the `SEAM_TOKEN` user, else `operator`.
async fn record_config(
    store: &(impl Users + Audit + Events + ?Sized),
    path: &Path,
) -> anyhow::Result<()> {
    use sha2::{Digest, Sha256};
    let hash = hex::encode(Sha256::digest(std::fs::read(path)?));
    let actor = match std::env::var("SEAM_TOKEN").ok().filter(|t| !t.is_empty()) {
        Some(t) => seam_control::user_by_token(store, &t)
            .await?
            .map(|u| u.name),
        None => None,
    }
    .unwrap_or_else(|| "operator".into());
    seam_control::config_loaded(store, &actor, &path.display().to_string(), &hash).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn plain_http_beyond_loopback_is_warned_about() {
        let warn = |a: &str| super::plain_http_warning(a.parse().unwrap());
        assert_eq!(warn("127.0.0.1:4000"), None);
        assert_eq!(warn("[::1]:4000"), None);
        for a in ["0.0.0.0:4000", "10.1.2.3:4000", "[::]:4000"] {
            assert!(warn(a).is_some_and(|w| w.contains("TLS")), "{a}");
        }
    }
}
