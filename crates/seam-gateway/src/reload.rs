//! Reloading the config file and the prompts directory without a restart: on a change seen
//! by the file watch (checked every [`WATCH_EVERY`]), on SIGHUP, or on `POST /api/reload`
//! (`seam reload`). A reload is all or nothing: the new config and every prompt file must
//! be valid, or nothing changes, the refusal is logged and put on the change timeline
//! (`config_reload_refused`). An applied reload swaps one snapshot ([`crate::Live`]) that new
//! calls take; calls in flight finish on the one they started on. Counters, retry windows
//! and session pins carry over.

use crate::Live;
use crate::events::Events;
use crate::observe::{Metrics, Reason};
use crate::render::ReleaseCache;
use seam_config::Config;
use seam_store::{EventRecord, Store};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub const WATCH_EVERY: Duration = Duration::from_secs(1);
pub const REFUSED_EVENT: seam_vocab::EventKind = seam_vocab::EventKind::ConfigReloadRefused;

#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("this gateway was not started from a config file")]
    NoConfigFile,
    #[error("reload refused, the running config stays:\n  - {}", .0.join("\n  - "))]
    Refused(Vec<String>),
}

/// What an applied reload did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub file: String,
    pub sha256: String,
    /// The config file differs from the last one on the audit chain.
    pub config_changed: bool,
    pub prompts: usize,
    /// `(prompt, release)` put on the live channel.
    pub released: Vec<(String, String)>,
}

impl Outcome {
    pub fn to_json(&self) -> Value {
        let released: Vec<Value> = self
            .released
            .iter()
            .map(|(p, r)| json!({"prompt": p, "release": r}))
            .collect();
        json!({"applied": true, "file": self.file, "sha256": self.sha256,
            "config_changed": self.config_changed, "prompts": self.prompts, "released": released})
    }
}

/// Keys a running gateway cannot change; a reload that changes them is refused.
fn fixed_keys(old: &Config, new: &Config) -> Vec<String> {
    let mut out = Vec::new();
    let mut fixed = |key: &str, same: bool| {
        if !same {
            out.push(format!(
                "{key}: cannot change on a running gateway; restart to apply it"
            ));
        }
    };
    fixed("server.listen", old.server.listen == new.server.listen);
    fixed(
        "server.max_connections",
        old.server.max_connections == new.server.max_connections,
    );
    fixed("store.url", old.store.url == new.store.url);
    fixed(
        "store.batch_size / queue_capacity / flush_interval_ms",
        old.store.batch_size == new.store.batch_size
            && old.store.queue_capacity == new.store.queue_capacity
            && old.store.flush_interval == new.store.flush_interval,
    );
    fixed(
        "limits.backend / limits.key_prefix",
        old.limits.backend == new.limits.backend && old.limits.key_prefix == new.limits.key_prefix,
    );
    out
}

/// The config snapshot new calls take, and what swaps it: everything a reload reads and
/// writes, and nothing else of the gateway.
pub struct Reloader {
    live: std::sync::RwLock<Arc<Live>>,
    /// The config file a reload reads, when the gateway was started from one.
    path: std::sync::OnceLock<std::path::PathBuf>,
    /// One reload at a time.
    one_at_a_time: tokio::sync::Mutex<()>,
    metrics: Arc<Metrics>,
    store: Arc<dyn Store>,
    releases: Arc<ReleaseCache>,
    events: Events,
}

impl Reloader {
    pub fn new(
        live: Live,
        metrics: Arc<Metrics>,
        store: Arc<dyn Store>,
        releases: Arc<ReleaseCache>,
        events: Events,
    ) -> Reloader {
        Reloader {
            live: std::sync::RwLock::new(Arc::new(live)),
            path: std::sync::OnceLock::new(),
            one_at_a_time: tokio::sync::Mutex::new(()),
            metrics,
            store,
            releases,
            events,
        }
    }

    /// The current snapshot of config and routes.
    pub fn live(&self) -> Arc<Live> {
        match self.live.read() {
            Ok(l) => l.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set_live(&self, live: Live) {
        let live = Arc::new(live);
        match self.live.write() {
            Ok(mut l) => *l = live,
            Err(poisoned) => *poisoned.into_inner() = live,
        }
    }

    /// The config file reloads read from now on; false if one was set already.
    pub fn set_path(&self, path: std::path::PathBuf) -> bool {
        self.path.set(path).is_ok()
    }
}

/// Reads and checks everything a reload would apply, changing nothing.
fn prepare(
    app: &Reloader,
    path: &Path,
) -> Result<(Live, String, Vec<seam_prompts::Prompt>), Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| vec![format!("{}: cannot read the file: {e}", path.display())])?;
    // One read: what is validated is what is hashed for the audit record.
    let mut config = seam_config::parse(&text, path, &seam_config::process_env).map_err(|e| {
        e.problems
            .iter()
            .map(|p| format!("{}: {p}", e.file))
            .collect::<Vec<_>>()
    })?;
    let old = app.live();
    // The record writer and its spool are set up once, at start: `[records]` applies at the
    // next start, and the snapshot keeps saying what runs.
    // Likewise `[audit]`: `seam serve` anchors with what it started with.
    // The span exporter too (its queue and task are the process's).
    if config.telemetry != old.config.telemetry {
        tracing::warn!("[telemetry] changed in the config file; it applies at the next start");
        config.telemetry = old.config.telemetry.clone();
    }
    config.records = records_on_reload(&old.config.records, &config.records);
    if config.audit != old.config.audit {
        tracing::warn!("[audit] changed in the config file; it applies at the next start");
        config.audit = old.config.audit.clone();
    }

    let mut problems = fixed_keys(&old.config, &config);
    let prompts = check_prompts(&config, &mut problems);
    let registry = old
        .registry
        .rebuild(&old.config.providers, &config.providers)
        .map_err(|e| vec![e])?;
    let routes = crate::resolve::RouteTable::build(&config, &registry, Some(&old.routes))
        .map_err(|e| vec![e])?;
    if !problems.is_empty() {
        return Err(problems);
    }
    let capture =
        crate::capture::Policies::build(&config).map_err(|e| vec![format!("capture: {e}")])?;
    let live = Live {
        config: Arc::new(config),
        routes,
        registry,
        capture,
    };
    Ok((live, hex::encode(Sha256::digest(text.as_bytes())), prompts))
}

/// Every prompt file must parse and lint clean and name a route of the config: checked the
/// same way when a gateway starts ([`crate::start`]) as on every reload, so that a file a
/// reload would refuse cannot be served from the start.
pub fn check_prompts(config: &Config, problems: &mut Vec<String>) -> Vec<seam_prompts::Prompt> {
    let dir = &config.prompts_dir;
    if !dir.exists() {
        return Vec::new();
    }
    let (prompts, errors) = match seam_prompts::load_dir(dir) {
        Ok(x) => x,
        Err(e) => {
            problems.push(e.to_string());
            return Vec::new();
        }
    };
    problems.extend(errors.iter().map(ToString::to_string));
    for p in &prompts {
        for f in seam_prompts::lint(p)
            .into_iter()
            .filter(|f| f.severity == seam_prompts::Severity::Error)
        {
            problems.push(format!("{}: {}: {}", f.file, f.key, f.message));
        }
        if config.route(&p.route).is_none() {
            problems.push(format!(
                "{}: route: `{}` is not a route of the config",
                p.file.display(),
                p.route
            ));
        }
    }
    prompts
}

/// Reloads now. `actor` is who asked (a user, `file-watch` or `sighup`).
pub async fn reload(app: &Reloader, actor: &str, trigger: &str) -> Result<Outcome, ReloadError> {
    let path = app.path.get().ok_or(ReloadError::NoConfigFile)?;
    let _one_at_a_time = app.one_at_a_time.lock().await;
    let file = path.display().to_string();
    // A reload is audited once applied: refuse it first if the store would refuse the record.
    let audit = app
        .store
        .check_audit_key()
        .await
        .map_err(|e| vec![format!("cannot audit a reload: {e}")]);
    let (live, sha256, prompts) = match audit.and_then(|()| prepare(app, path)) {
        Ok(x) => x,
        Err(problems) => {
            refused(app, actor, trigger, &file, &problems);
            return Err(ReloadError::Refused(problems));
        }
    };
    let config = live.config.clone();
    app.set_live(live);
    app.metrics.zero_routes(&config);
    crate::account::warn_unpriced(&config);
    let store = app.store.as_ref();
    let config_changed = seam_control::config_loaded(store, actor, &file, &sha256)
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "reload applied, but it could not be audited");
            false
        });
    let released = match &config.live_channel {
        None => Vec::new(),
        Some(channel) => seam_control::put_live(store, actor, channel, &prompts)
            .await
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, channel, "could not put the prompt files on the live channel");
                Vec::new()
            }),
    };
    if !released.is_empty()
        && let Err(e) = app.releases.refresh(store).await
    {
        tracing::warn!(error = %e, "released, but the release snapshot is not refreshed yet");
    }
    let outcome = Outcome {
        file,
        sha256,
        config_changed,
        prompts: prompts.len(),
        released,
    };
    let how = if outcome.config_changed || !outcome.released.is_empty() {
        "applied"
    } else {
        if let Err(e) =
            seam_control::config_reloaded(store, actor, &outcome.file, &outcome.sha256, trigger)
                .await
        {
            tracing::error!(error = %e, "reload applied, but it could not be audited");
        }
        "unchanged"
    };
    app.metrics
        .reloads
        .get_or_create(&Reason { reason: how.into() })
        .inc();
    tracing::info!(actor, trigger, file = %outcome.file, config_changed = outcome.config_changed,
        released = outcome.released.len(), "reload {how}");
    Ok(outcome)
}

fn refused(app: &Reloader, actor: &str, trigger: &str, file: &str, problems: &[String]) {
    tracing::error!(actor, trigger, file, problems = ?problems, "reload refused; the running config stays");
    app.metrics
        .reloads
        .get_or_create(&Reason {
            reason: "refused".into(),
        })
        .inc();
    let message = format!(
        "{actor}: reload of {file} refused ({} problem{}: {}); the running config stays",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" },
        problems.first().map(String::as_str).unwrap_or("")
    );
    let details = json!({"actor": actor, "trigger": trigger, "file": file, "problems": problems});
    app.events
        .emit(EventRecord::new(REFUSED_EVENT, message, details));
}

/// What the watch compares: the config file, its calendar files and every prompt file, by
/// content.
fn fingerprint(app: &Reloader, path: &Path) -> String {
    let mut h = Sha256::new();
    h.update(std::fs::read(path).unwrap_or_default());
    for f in &app.live().config.calendar.files {
        h.update(f.to_string_lossy().as_bytes());
        h.update(std::fs::read(f).unwrap_or_default());
    }
    let dir = app.live().config.prompts_dir.clone();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut files: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for f in files
            .iter()
            .filter(|f| f.extension().is_some_and(|x| x == "toml"))
        {
            h.update(f.to_string_lossy().as_bytes());
            h.update(std::fs::read(f).unwrap_or_default());
        }
    }
    hex::encode(h.finalize())
}

/// Starts reloading from `path`: the file watch and SIGHUP, until the gateway stops. A reload
/// under way is finished, never cut: only the waits between them end on the signal.
pub fn watch(app: Arc<Reloader>, tasks: &crate::tasks::Tasks, path: std::path::PathBuf) {
    if !app.set_path(path.clone()) {
        return;
    }
    // Weak: the watches end with the gateway.
    let watched = Arc::downgrade(&app);
    let mut last = fingerprint(&app, &path);
    tasks.spawn("config file watch", move |mut stop| async move {
        let mut tick = tokio::time::interval(WATCH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait() => return,
            }
            let Some(app) = watched.upgrade() else { return };
            let now = fingerprint(&app, &path);
            if now != last {
                last = now;
                let _ = reload(&app, "file-watch", "watch").await;
            }
        }
    });
    #[cfg(unix)]
    let watched = Arc::downgrade(&app);
    #[cfg(unix)]
    tasks.spawn("SIGHUP reload", move |mut stop| async move {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP; reload with the file watch or `seam reload`");
            return;
        };
        loop {
            tokio::select! {
                got = hup.recv() => if got.is_none() { return },
                _ = stop.wait() => return,
            }
            let Some(app) = watched.upgrade() else { return };
            let _ = reload(&app, "sighup", "signal").await;
        }
    });
}

/// `[records]` as a reload applies it: as it started, but for `retention_days`, which the
/// retention task reads at each round.
fn records_on_reload(
    old: &seam_config::Records,
    new: &seam_config::Records,
) -> seam_config::Records {
    let mut records = old.clone();
    records.retention_days = new.retention_days;
    if *new != records {
        tracing::warn!("[records] changed in the config file; it applies at the next start");
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reload_applies_records_retention_and_keeps_the_rest_of_records() {
        let old = seam_config::Records::default();
        let new = seam_config::Records {
            spool_max_bytes: 1 << 20,
            durability: seam_config::Durability::Acknowledged,
            retention_days: Some(30),
            ..old.clone()
        };
        let applied = records_on_reload(&old, &new);
        assert_eq!(applied.retention_days, Some(30));
        assert_eq!(
            (applied.spool_max_bytes, applied.durability),
            (old.spool_max_bytes, old.durability),
            "the spool and durability are the writer's, set up at start"
        );
        let back = records_on_reload(&applied, &old);
        assert_eq!(back.retention_days, None, "unset again: kept forever");
    }
}
