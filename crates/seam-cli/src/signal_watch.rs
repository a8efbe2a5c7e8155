//! Silent-failure signals inside `seam serve` (docs/failures.md): every `[failures]
//! interval_secs`, one gateway of those sharing a store (the lease [`LEASE`]) scans the calls
//! of the last few minutes and stores their flags, so the dashboard and `seam failures`
//! find them without scanning. Off the request path: the pass reads the store like any
//! reader, and a failed pass is logged and tried again next time.

use seam_control::failures;
use seam_store::Store;
use std::sync::Arc;
use std::time::Duration;

const LEASE: &str = "failure-signals";

/// Runs a pass every `[failures] interval_secs` while this gateway holds the lease.
pub fn spawn(
    store: Arc<dyn Store>,
    config_now: Arc<dyn Fn() -> seam_config::Config + Send + Sync>,
) -> tokio::task::JoinHandle<()> {
    let holder = format!("gw-{}", uuid::Uuid::now_v7().simple());
    tokio::spawn(async move {
        loop {
            let config = config_now();
            let every = Duration::from_secs(config.failures.interval_secs);
            tokio::time::sleep(every).await;
            let config = config_now();
            if !config.failures.enabled {
                continue;
            }
            let now = seam_store::now_ms();
            let interval_ms = i64::try_from(every.as_millis()).unwrap_or(i64::MAX / 4);
            match store.take_lease(LEASE, &holder, now, interval_ms * 2).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!("failure signals: cannot take the lease: {e}");
                    continue;
                }
            }
            let opts = failures::signal_options(&config.failures);
            let since = now - failures::lookback_ms(&opts, config.failures.interval_secs);
            let all = seam_store::Tenants::All;
            match failures::scan(store.as_ref(), since, now, &all, &opts).await {
                Ok(s) => tracing::debug!(calls = s.calls, flags = s.flags, "failure signals pass"),
                Err(e) => tracing::warn!("failure signals: the pass failed: {e}"),
            }
        }
    })
}
