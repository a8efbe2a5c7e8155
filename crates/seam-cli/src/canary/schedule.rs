//! Canaries inside `seam serve` (docs/canaries.md "When"): every golden replayed on
//! `[canaries] every`, after a deploy to its prompt's channel, and after a served-model change
//! on its route, through this gateway with `[canaries] key_env`'s key. With several gateways
//! on one store, a lease per golden and trigger (`Canaries::try_lease`) lets exactly one of
//! them run each replay. Time is read from tokio's clock (anchored to the wall clock at
//! start), so a test drives the schedule on a paused clock.

use super::golden::{self, Golden};
use super::replay::Replayer;
use super::run::{Judged, Since, judge, since, store_run};
use crate::eval::client::Gateway;
use seam_evals::Grader;
use seam_store::{EventRecord, Store};
use seam_vocab::{CanaryTrigger, EventKind};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// How often the timeline is read for deploys and served-model changes, and the schedule
/// checked.
pub const POLL: Duration = Duration::from_secs(5);
/// How long a lease on a golden's event-triggered replay holds: gateways that read the same
/// event a poll later find it taken.
const EVENT_LEASE_MS: i64 = 60_000;

/// A golden to replay now, and the lease that makes one gateway of several run it.
#[derive(Debug, Clone, PartialEq)]
pub struct Due {
    pub golden: String,
    pub trigger: CanaryTrigger,
    pub lease: String,
    pub lease_ms: i64,
}

/// What the schedule needs to know of a golden.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub prompt: Option<String>,
    pub routes: Vec<String>,
}

impl Target {
    pub fn of(g: &Golden) -> Target {
        Target {
            name: g.name.clone(),
            prompt: g.prompt().map(str::to_string),
            routes: g.routes().into_iter().map(str::to_string).collect(),
        }
    }
}

/// Every golden, when the schedule's tick changed. The lease holds for half a period: the
/// gateways that reach the same tick later find it taken, and the next tick finds it free.
pub fn due_on_tick(targets: &[Target], every_ms: i64) -> Vec<Due> {
    targets
        .iter()
        .map(|t| Due {
            golden: t.name.clone(),
            trigger: CanaryTrigger::Schedule,
            lease: format!("canary:{}:schedule", t.name),
            lease_ms: (every_ms / 2).max(1),
        })
        .collect()
}

/// The goldens `events` concern: a deploy (or rollback) of a golden's prompt, a served-model
/// change on one of its routes. One replay per golden, the first trigger found.
pub fn due_on_events(
    targets: &[Target],
    events: &[EventRecord],
    on_deploy: bool,
    on_model_change: bool,
) -> Vec<Due> {
    let mut out: Vec<Due> = Vec::new();
    for e in events {
        let (trigger, hits): (CanaryTrigger, Vec<&Target>) = match e.kind {
            EventKind::ReleaseDeploy | EventKind::ReleaseRollback if on_deploy => {
                let prompt = serde_json::from_str::<serde_json::Value>(&e.details)
                    .ok()
                    .and_then(|d| d["prompt"].as_str().map(str::to_string));
                (
                    CanaryTrigger::Deploy,
                    targets
                        .iter()
                        .filter(|t| t.prompt.is_some() && t.prompt == prompt)
                        .collect(),
                )
            }
            EventKind::ServedModelChanged if on_model_change => (
                CanaryTrigger::ServedModelChanged,
                targets
                    .iter()
                    .filter(|t| e.route.as_ref().is_some_and(|r| t.routes.contains(r)))
                    .collect(),
            ),
            _ => continue,
        };
        for t in hits {
            if out.iter().any(|d| d.golden == t.name) {
                continue;
            }
            out.push(Due {
                golden: t.name.clone(),
                trigger,
                lease: format!("canary:{}:{}", t.name, trigger.as_str()),
                lease_ms: EVENT_LEASE_MS,
            });
        }
    }
    out
}

/// The schedule's state: where it has read the timeline to, and the tick it last ran.
pub struct Scheduler {
    pub store: Arc<dyn Store>,
    pub config: seam_config::Config,
    /// This gateway's name in the leases.
    pub holder: String,
    wall_at_start: i64,
    started: tokio::time::Instant,
    last_tick: Option<i64>,
    seen_ms: i64,
    seen_ids: HashSet<String>,
}

impl Scheduler {
    pub fn new(store: Arc<dyn Store>, config: seam_config::Config, holder: String) -> Scheduler {
        Scheduler::starting_at(store, config, holder, seam_store::now_ms())
    }

    /// A schedule whose clock reads `wall` now (tests start it at a time of their own).
    pub fn starting_at(
        store: Arc<dyn Store>,
        config: seam_config::Config,
        holder: String,
        wall: i64,
    ) -> Scheduler {
        let every = every_ms(&config);
        Scheduler {
            store,
            config,
            holder,
            wall_at_start: wall,
            started: tokio::time::Instant::now(),
            // The tick it starts in is not run: a restart does not replay everything.
            last_tick: every.map(|e| wall / e),
            seen_ms: wall,
            seen_ids: HashSet::new(),
        }
    }

    /// Now, on tokio's clock.
    pub fn now_ms(&self) -> i64 {
        self.wall_at_start + self.started.elapsed().as_millis() as i64
    }

    /// The goldens due at `now` that this gateway won the lease of.
    pub async fn poll(&mut self, targets: &[Target], now: i64) -> seam_store::Result<Vec<Due>> {
        let pending = self.pending(now).await?;
        self.decide(targets, pending, now).await
    }

    /// What happened since the last poll: the schedule's tick (its period) when it turned,
    /// and the timeline's new events. Reads no golden: most polls find nothing to do.
    pub async fn pending(&mut self, now: i64) -> seam_store::Result<Pending> {
        let mut tick = None;
        if let Some(every) = every_ms(&self.config) {
            let t = now / every;
            if self.last_tick != Some(t) {
                self.last_tick = Some(t);
                tick = Some(every);
            }
        }
        let events = self.store.list_events(self.seen_ms, 1_000).await?;
        let fresh: Vec<EventRecord> = events
            .into_iter()
            .filter(|e| !self.seen_ids.contains(&e.id))
            .collect();
        if let Some(last) = fresh.iter().map(|e| e.created_ms).max()
            && last > self.seen_ms
        {
            self.seen_ms = last;
            self.seen_ids.clear();
        }
        self.seen_ids.extend(
            fresh
                .iter()
                .filter(|e| e.created_ms == self.seen_ms)
                .map(|e| e.id.clone()),
        );
        Ok(Pending {
            tick,
            events: fresh,
        })
    }

    /// The goldens `pending` makes due, those whose lease this gateway won.
    pub async fn decide(
        &self,
        targets: &[Target],
        pending: Pending,
        now: i64,
    ) -> seam_store::Result<Vec<Due>> {
        let mut due = pending
            .tick
            .map_or_else(Vec::new, |every| due_on_tick(targets, every));
        let c = &self.config.canaries;
        for d in due_on_events(targets, &pending.events, c.on_deploy, c.on_model_change) {
            if !due.iter().any(|x: &Due| x.golden == d.golden) {
                due.push(d);
            }
        }
        let mut won = Vec::new();
        for d in due {
            if self
                .store
                .try_lease(&d.lease, &self.holder, now, d.lease_ms)
                .await?
            {
                won.push(d);
            }
        }
        Ok(won)
    }
}

/// What a poll found, before the goldens are read.
pub struct Pending {
    /// The schedule's period (ms) when its tick turned.
    tick: Option<i64>,
    events: Vec<EventRecord>,
}

impl Pending {
    /// Nothing that could make a golden due.
    pub fn is_quiet(&self) -> bool {
        self.tick.is_none()
            && !self.events.iter().any(|e| {
                matches!(
                    e.kind,
                    EventKind::ReleaseDeploy
                        | EventKind::ReleaseRollback
                        | EventKind::ServedModelChanged
                )
            })
    }
}

fn every_ms(config: &seam_config::Config) -> Option<i64> {
    config.canaries.every.map(|d| (d.as_millis() as i64).max(1))
}

/// Starts the schedule in `seam serve`, replaying through the gateway at `base`; None (and
/// why, logged) when the config gives it no key to replay with.
pub fn spawn(
    store: Arc<dyn Store>,
    config: seam_config::Config,
    base: String,
    metrics: Arc<seam_gateway::observe::Metrics>,
) -> Option<tokio::task::JoinHandle<()>> {
    let Some(key) = config.canaries.key.as_ref().map(|k| k.expose().to_string()) else {
        if config.canaries.every.is_some() {
            tracing::warn!(
                "[canaries] every is set and key_env is not: seam serve replays no golden (set key_env to the variable holding a Seam key)"
            );
        }
        return None;
    };
    let holder = format!("gw-{}", uuid::Uuid::now_v7().simple());
    Some(tokio::spawn(async move {
        let mut gateway = match Gateway::new(&base, Some(key)) {
            Ok(g) => g,
            Err(e) => {
                tracing::error!("canaries: cannot make the replay client: {e}");
                return;
            }
        };
        gateway.purpose = "canary";
        let notifier = match seam_notify::Notifier::new(&config.notify.webhooks) {
            Ok(n) => n,
            Err(e) => {
                tracing::error!("canaries: cannot make the webhooks' client: {e}");
                return;
            }
        };
        let mut scheduler = Scheduler::new(store, config, holder);
        let mut ticks = tokio::time::interval(POLL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut counted = seam_notify::Stats::default();
        loop {
            ticks.tick().await;
            // The webhooks' deliveries since the last poll, on the gateway's /metrics.
            let now = notifier.stats();
            metrics.webhooks.add(
                now.delivered.saturating_sub(counted.delivered),
                now.failed.saturating_sub(counted.failed),
                now.attempts.saturating_sub(counted.attempts),
                now.in_flight,
            );
            counted = now;
            let now = scheduler.now_ms();
            let pending = match scheduler.pending(now).await {
                Ok(p) if p.is_quiet() => continue,
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!("canaries: cannot read the timeline: {e}");
                    continue;
                }
            };
            // The goldens are read only when something could make one due.
            let goldens: Vec<Golden> = match golden::load_dir(&scheduler.config.canaries.dir) {
                Ok(all) => all.into_iter().filter_map(Result::ok).collect(),
                Err(e) => {
                    tracing::warn!("canaries: cannot read the goldens: {e}");
                    continue;
                }
            };
            let targets: Vec<Target> = goldens.iter().map(Target::of).collect();
            let due = match scheduler.decide(&targets, pending, now).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!("canaries: cannot take a lease: {e}");
                    continue;
                }
            };
            for d in due {
                let Some(g) = goldens.iter().find(|g| g.name == d.golden) else {
                    continue;
                };
                replay(&scheduler, &gateway, &notifier, g, d.trigger).await;
            }
        }
    }))
}

/// One scheduled replay of a golden, stored; failures are logged, never fatal.
async fn replay(
    s: &Scheduler,
    gateway: &Gateway,
    notifier: &seam_notify::Notifier,
    g: &Golden,
    trigger: CanaryTrigger,
) {
    match replay_and_store(s, gateway, notifier, g, trigger).await {
        Ok((_, _, r)) => tracing::info!(
            golden = %g.name,
            trigger = trigger.as_str(),
            verdict = r.verdict.as_str(),
            run = %r.id,
            "canary replayed"
        ),
        Err(e) => tracing::error!(golden = %g.name, "canary: cannot store the run: {e}"),
    }
}

/// Replays `g` as the schedule does and stores the run; what was judged, the changes since
/// the recording and the stored run.
pub async fn replay_and_store(
    s: &Scheduler,
    gateway: &Gateway,
    notifier: &seam_notify::Notifier,
    g: &Golden,
    trigger: CanaryTrigger,
) -> anyhow::Result<(Judged, Since, seam_store::CanaryRunRecord)> {
    let replayer = Replayer {
        gateway,
        grader: Grader {
            backend: gateway,
            judge_route: s.config.evals.judge_route.as_deref(),
            embedding_route: s.config.canaries.embedding_route.as_deref(),
        },
        config: &s.config,
    };
    let started = seam_store::now_ms();
    let judged = judge(&replayer, g, s.config.canaries.repeat).await;
    let since = since(s.store.as_ref(), g).await?;
    let record = store_run(
        s.store.as_ref(),
        notifier,
        g,
        &judged,
        &since,
        started,
        trigger,
    )
    .await?;
    Ok((judged, since, record))
}

#[cfg(test)]
mod tests;
