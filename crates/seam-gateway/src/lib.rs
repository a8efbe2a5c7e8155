//! Seam's data plane. A call runs the lifecycle phases in order, one module each, and
//! [`pipeline`] is the one place that sequences them: [`authenticate`] -> `request` ->
//! [`render`] (+ [`session`]) -> [`resolve`] -> [`admit`] -> [`dispatch`] (+ [`pinned`]) ->
//! [`relay`] -> [`account`] -> [`finish`] (record and observe). [`App`] is wiring: it holds
//! the handles each phase is given.

pub mod account;
pub mod admit;
mod api;
pub mod authenticate;
pub mod budget;
mod call;
pub mod capture;
mod control_api;
pub mod dispatch;
pub mod divergence;
pub mod drift;
pub mod edge;
pub mod errors;
pub mod events;
pub mod fanout;
mod feedback;
pub mod finish;
pub mod observe;
pub mod otlp;
pub mod outbound;
pub mod pinned;
mod pipeline;
pub mod rechunk;
pub mod record;
pub mod relay;
pub mod reload;
pub mod render;
mod request;
pub mod resolve;
pub mod retention;
mod server;
pub mod session;
pub mod shape;
pub mod tasks;
pub mod telemetry;
mod throttle;
pub mod untrusted;

pub use server::{Running, router};
pub use tasks::Stopped;

use authenticate::KeyCache;
use observe::Metrics;
use record::Recorder;
use seam_config::Config;
use seam_providers::Registry;
use seam_store::Store;
use std::sync::Arc;
use std::time::Duration;

/// Maps looked up on every call, keyed by names from config (routes, providers, tenants) or
/// by key digests: foldhash instead of SipHash (~1,500 instructions per call less), still
/// seeded per process. Maps keyed by what a client sends (trace ids) keep SipHash.
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// What a config file decides, swapped whole by a reload. A call takes the snapshot once,
/// when it starts, and finishes on it.
pub struct Live {
    pub config: Arc<Config>,
    pub routes: resolve::RouteTable,
    pub registry: Registry,
    /// Which calls keep their content, resolved per (tenant, route).
    pub capture: capture::Policies,
}

/// The gateway's parts, wired once at start and shared by all requests; the sequencer
/// ([`pipeline`]) hands each phase the parts it uses.
pub struct App {
    /// The config snapshot and what reloads it.
    pub reloader: Arc<reload::Reloader>,
    pub keys: KeyCache,
    pub metrics: Arc<Metrics>,
    pub store: Arc<dyn Store>,
    /// Tenant, key and trace limits; a caller without any costs one check.
    pub limiter: Arc<admit::Limiter>,
    pub releases: Arc<render::ReleaseCache>,
    pub pins: session::Pins,
    pub alerts: pinned::ModelAlerts,
    /// The end of every call: records, metrics, detectors.
    pub end: Arc<finish::Finisher>,
    /// The background tasks, stopped and awaited by [`Running::shutdown`].
    pub tasks: tasks::Tasks,
}

impl App {
    /// The current snapshot of config and routes.
    pub fn live(&self) -> Arc<Live> {
        self.reloader.live()
    }
}

/// How often the key snapshot is refreshed from the store.
pub const KEY_REFRESH: Duration = Duration::from_secs(1);

/// Starts a gateway on `listener` with providers from `registry`.
pub async fn start(
    config: Config,
    store: Arc<dyn Store>,
    registry: Registry,
    listener: tokio::net::TcpListener,
) -> anyhow::Result<Running> {
    let mut problems = Vec::new();
    reload::check_prompts(&config, &mut problems);
    if !problems.is_empty() {
        anyhow::bail!(
            "not starting: the prompt files are not valid (a reload would refuse them too):\n  - {}",
            problems.join("\n  - ")
        );
    }
    account::warm_up();
    let metrics = Metrics::new();
    metrics.zero_routes(&config);
    account::warn_unpriced(&config);
    let tasks = tasks::Tasks::new();
    let keys = KeyCache::default();
    keys.refresh(store.as_ref()).await?;
    keys.spawn_refresh(&tasks, store.clone(), KEY_REFRESH);
    let events = events::Events::new(metrics.clone(), store.clone(), tasks.clone());
    let sinks = record::Sinks {
        sink: seam_store::record_sink(&config.store.url, store.clone())?,
        spool: open_spool(&config)?,
        events: events.clone(),
        durability: config.records.durability,
    };
    let (recorder, mut writer) = Recorder::spawn(sinks, &config.store, metrics.clone());
    let routes =
        resolve::RouteTable::build(&config, &registry, None).map_err(anyhow::Error::msg)?;
    let drift = drift::Drift::load(store.as_ref()).await?;
    let releases = Arc::new(render::ReleaseCache::default());
    releases.refresh(store.as_ref()).await?;
    releases.spawn_refresh(&tasks, store.clone(), KEY_REFRESH);
    let fan_out = Arc::new(fanout::FanOut::default());
    fan_out.spawn_sweeper(&tasks, metrics.clone());
    // Always there: keys can carry limits of their own, created at run time.
    let limiter =
        Arc::new(admit::Limiter::new(&config.limits, metrics.clone()).map_err(anyhow::Error::msg)?);
    // What was spent before this start still counts (bounded wait; never on a call's path),
    // including what a previous run left in the records spool.
    writer.caught_up(Duration::from_secs(10)).await;
    limiter
        .seed_at_start(&config.limits, store.clone(), keys.clone(), &tasks)
        .await;
    let clock: Arc<dyn session::Clock> = Arc::new(session::SystemClock);
    session::spawn_gauge(
        &tasks,
        store.clone(),
        metrics.clone(),
        clock.clone(),
        KEY_REFRESH,
    );
    let otlp = match &config.telemetry.otlp {
        Some(cfg) => {
            Some(otlp::Exporter::start(cfg, metrics.clone(), &tasks).map_err(anyhow::Error::msg)?)
        }
        None => None,
    };
    let end = Arc::new(finish::Finisher {
        metrics: metrics.clone(),
        recorder,
        events: events.clone(),
        fan_out,
        drift,
        divergence: divergence::Detector::default(),
        shape: shape::ShapeDrift::default(),
        otlp,
        cutting: std::sync::atomic::AtomicBool::new(false),
    });
    let capture = capture::Policies::build(&config).map_err(|e| anyhow::anyhow!("capture: {e}"))?;
    let live = Live {
        config: Arc::new(config),
        routes,
        registry,
        capture,
    };
    let app = Arc::new(App {
        reloader: Arc::new(reload::Reloader::new(
            live,
            metrics.clone(),
            store.clone(),
            releases.clone(),
            events.clone(),
        )),
        keys,
        metrics,
        pins: session::Pins {
            sessions: session::Sessions::new(clock),
            releases: releases.clone(),
            store: store.clone(),
            events: events.clone(),
        },
        store,
        limiter,
        releases,
        alerts: pinned::ModelAlerts::new(events.clone()),
        end,
        tasks,
    });
    let reloader = app.reloader.clone();
    retention::Retention {
        store: app.store.clone(),
        settings: Arc::new(move || retention::Settings::of(&reloader.live().config)),
        clock: Arc::new(session::SystemClock),
        events,
        metrics: app.metrics.clone(),
        holder: retention::holder_name(),
        batch: retention::BATCH,
    }
    .spawn(&app.tasks);
    Ok(server::start(app, listener, writer).await?)
}

/// The records spool: `[records] spool_dir`, else beside the store; none for an in-memory store.
fn open_spool(config: &Config) -> anyhow::Result<Option<seam_store::spool::Spool>> {
    let dir = match &config.records.spool_dir {
        Some(d) => d.clone(),
        None => match seam_store::spool::default_dir(&config.store.url) {
            Some(d) => d,
            None => return Ok(None),
        },
    };
    let spool = seam_store::spool::Spool::open(&dir, config.records.spool_max_bytes)?;
    if !spool.is_empty() {
        tracing::warn!(
            dir = %dir.display(),
            bytes = spool.bytes(),
            "the records spool holds records a previous run could not store; writing them first"
        );
    }
    Ok(Some(spool))
}
