//! Silent-failure signals inside `seam serve` (docs/failures.md): every `[failures]
//! interval_secs`, one gateway of those sharing a store (the lease [`LEASE`]) scans the calls
//! of the last few minutes and stores their flags, so the dashboard and `seam failures`
//! find them without scanning. Off the request path: the pass reads the store like any
//! reader, on a blocking thread of its own (its scan is seconds of CPU on a busy gateway, which
//! must not hold up the event loop), and a failed pass is logged and tried again next time.
//! A pass reads at most `[failures] pass_max_calls` calls: where the window holds more, the
//! next pass goes on from where this one stopped, so memory and time stay bounded however busy
//! the gateway is (a pass once read every call of its 12-minute window: 2.3 GB on a saturated
//! bench gateway, and its throughput fell to a quarter while it ran). With `[failures]
//! embedding_route`, the pass embeds through this gateway (`base`) with `[failures] key_env`'s
//! key, as eval traffic; a route that fails makes the pass lexical, logged as a warning.

use crate::eval::client::Gateway;
use seam_control::failures::{self, Embedder};
use seam_evals::{Backend, NoBackend};
use seam_store::Store;
use std::sync::Arc;
use std::time::Duration;

const LEASE: &str = "failure-signals";

/// Runs a pass every `[failures] interval_secs` while this gateway holds the lease.
pub fn spawn(
    store: Arc<dyn Store>,
    config_now: Arc<dyn Fn() -> seam_config::Config + Send + Sync>,
    base: String,
) -> tokio::task::JoinHandle<()> {
    let holder = format!("gw-{}", uuid::Uuid::now_v7().simple());
    tokio::spawn(async move {
        // Where the last pass stopped short of its window's end, if it did.
        let mut resume: Option<i64> = None;
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
            let mut opts = failures::signal_options(&config.failures);
            opts.max_calls = Some(config.failures.pass_max_calls);
            let window_start = now - failures::lookback_ms(&opts, config.failures.interval_secs);
            let since = resume.map_or(window_start, |r| r.max(window_start));
            let pass = {
                let store = store.clone();
                let base = base.clone();
                let rt = tokio::runtime::Handle::current();
                tokio::task::spawn_blocking(move || {
                    let all = seam_store::Tenants::All;
                    let (backend, why_not) = backend(&config, &base);
                    let mut embedder = Embedder::new(backend.as_ref(), &config.failures);
                    if let (Some(e), Some(why)) = (embedder.as_mut(), why_not) {
                        e.fail(why);
                    }
                    let scanned = rt.block_on(failures::scan(
                        store.as_ref(),
                        since,
                        now,
                        &all,
                        &opts,
                        embedder.as_mut(),
                    ));
                    let lexical = embedder.as_ref().is_some_and(|e| e.failed().is_some());
                    (scanned, lexical)
                })
            };
            match pass.await {
                Ok((Ok(s), lexical)) => {
                    resume = s.stopped_at_ms;
                    if let Some(at) = s.stopped_at_ms {
                        tracing::info!(
                            calls = s.calls,
                            flags = s.flags,
                            "failure signals: the pass read its {} calls up to {}; the next \
                             pass goes on from there ([failures] pass_max_calls)",
                            s.calls,
                            seam_store::timestamp(at),
                        );
                    }
                    if lexical {
                        // The reason names the route and its answer, never a text.
                        tracing::warn!(
                            calls = s.calls,
                            flags = s.flags,
                            "failure signals pass: similarity {}",
                            s.similarity
                        );
                    } else {
                        tracing::debug!(calls = s.calls, flags = s.flags, similarity = %s.similarity, "failure signals pass");
                    }
                }
                Ok((Err(e), _)) => tracing::warn!("failure signals: the pass failed: {e}"),
                Err(e) => tracing::warn!("failure signals: the pass stopped: {e}"),
            }
        }
    })
}

/// The embedding calls' client: this gateway with `[failures] key_env`'s key (none needed with
/// `[server] keyless_tenant`); without a route, or without a key, none (and why).
fn backend(config: &seam_config::Config, base: &str) -> (Box<dyn Backend>, Option<String>) {
    let Some(route) = &config.failures.embedding_route else {
        return (Box::new(NoBackend), None);
    };
    let key = config.failures.key.as_ref().map(|k| k.expose().to_string());
    if key.is_none() && config.server.keyless_tenant.is_none() {
        let why = format!(
            "embedding route `{route}` not used: set [failures] key_env to the variable holding a Seam key to embed with"
        );
        return (Box::new(NoBackend), Some(why));
    }
    match Gateway::new(base, key) {
        Ok(g) => (Box::new(g), None),
        Err(e) => (
            Box::new(NoBackend),
            Some(format!("embedding route `{route}` not used: {e}")),
        ),
    }
}
