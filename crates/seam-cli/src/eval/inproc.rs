//! The gateway an eval run's calls go through: `--gateway URL`, or without it a gateway
//! started in this process on the same config and store, listening on 127.0.0.1:0. Either way
//! the calls cross loopback HTTP through the same client (`client.rs`), so they are
//! authenticated, priced and recorded as any call is. The in-process gateway is shut down
//! (`Running::shutdown`: calls finished or cut, records flushed) before the command ends,
//! also after Ctrl-C.

use crate::cli::StoreArgs;
use seam_store::Keys;
use std::path::PathBuf;
use std::sync::Arc;

/// Where the run's calls go.
pub(crate) enum Through {
    Remote(String),
    Local(Local),
}

pub(crate) struct Local {
    running: seam_gateway::Running,
    base: String,
    /// The records spool of its own: a spool is one process's, and `seam serve` may hold the
    /// config's.
    spool: PathBuf,
}

impl Through {
    /// `--gateway URL`, else a gateway started here. Everything that can be refused (a missing
    /// or unknown key, a missing provider secret, invalid prompt files) is, before any call.
    pub async fn open(
        gateway: Option<&str>,
        key: Option<&str>,
        store_args: &StoreArgs,
    ) -> anyhow::Result<Through> {
        if let Some(url) = gateway {
            return Ok(Through::Remote(url.to_string()));
        }
        // Its logs would break the progress line: errors only (SEAM_LOG overrides).
        crate::init_logging("error");
        let path = &store_args.config;
        let mut config = seam_config::load(path, &seam_config::process_env).map_err(|e| {
            anyhow::anyhow!(
                "the in-process gateway (no --gateway) runs on {}: {e}",
                path.display()
            )
        })?;
        let (url, max) = store_args.url()?;
        config.store.url = url;
        config.store.max_connections = max;
        let store = Arc::new(store_args.open_to_write().await?);
        match key {
            None if config.server.keyless_tenant.is_none() => anyhow::bail!(
                "the in-process gateway (no --gateway) takes calls only with a key, as {} says ([server] keyless_tenant is not set): pass --key KEY or set SEAM_KEY (`seam keys create TENANT` makes one)",
                path.display()
            ),
            None => {}
            Some(k) => {
                let hash = seam_gateway::authenticate::hash_key(k);
                match store.key_by_hash(&hash).await? {
                    Some(rec) if rec.revoked_ms.is_none() => {}
                    Some(rec) => anyhow::bail!(
                        "--key/SEAM_KEY is key {} of tenant `{}`, which is revoked",
                        rec.id,
                        rec.tenant
                    ),
                    None => anyhow::bail!(
                        "--key/SEAM_KEY is not a key of this store (see `seam keys list`)"
                    ),
                }
            }
        }
        let spool = std::env::temp_dir().join(format!(
            "seam-eval-spool-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        config.records.spool_dir = Some(spool.clone());
        let registry = seam_providers::Registry::from_config(&config.providers)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| {
                anyhow::anyhow!("cannot listen on 127.0.0.1 for the in-process gateway: {e}")
            })?;
        let running = seam_gateway::start(config, store, registry, listener)
            .await
            .map_err(|e| anyhow::anyhow!("cannot start the in-process gateway: {e}"))?;
        Ok(Through::Local(Local {
            base: format!("http://{}", running.addr),
            running,
            spool,
        }))
    }

    /// The base URL the client calls.
    pub fn base(&self) -> &str {
        match self {
            Through::Remote(url) => url,
            Through::Local(l) => &l.base,
        }
    }

    /// For the run's first line: "http://..." or "an in-process gateway (http://...)".
    pub fn describe(&self) -> String {
        match self {
            Through::Remote(url) => crate::format::clean(url).into_owned(),
            Through::Local(l) => format!("an in-process gateway ({})", l.base),
        }
    }

    /// How to resume a run made through this gateway.
    pub fn resume_hint(&self) -> &'static str {
        match self {
            Through::Remote(_) => " --gateway URL",
            Through::Local(_) => "",
        }
    }

    /// Shuts an in-process gateway down: in-flight calls finished or cut, every record
    /// written. What could not be is said on standard error.
    pub async fn close(self) {
        let Through::Local(l) = self else { return };
        let stopped = l.running.shutdown().await;
        if !stopped.aborted.is_empty() {
            eprintln!(
                "the in-process gateway's tasks {} did not stop in time and were aborted",
                stopped.aborted.join(", ")
            );
        }
        if spooled(&l.spool) {
            eprintln!(
                "the store did not take every call record of this run: they wait in the records spool {}; point a gateway's [records] spool_dir at it to store them",
                l.spool.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&l.spool);
        }
    }
}

/// Whether a spool directory holds records (a non-empty segment).
fn spooled(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            e.path().extension().is_some_and(|x| x == "spool")
                && e.metadata().is_ok_and(|m| m.len() > 0)
        })
}
