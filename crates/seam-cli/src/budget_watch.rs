//! Budget projections inside `seam serve` (docs/forecasts.md "Budgets"): every
//! [`EVERY`], one gateway of those sharing a store (the lease [`LEASE`]) projects every
//! tenant's and key's cost and token limits to their windows' resets, as `seam forecast`
//! does, and puts `budget_exceed_projected` on the timeline when a limit is at least 80%
//! likely to be passed: once per limit and window, whichever gateway saw it first. The events
//! go to the webhooks that ask for them.

use seam_control::forecast::{self, By, Measure, Query, exceed_events};
use seam_store::{EventRecord, Store};
use std::sync::Arc;
use std::time::Duration;

pub const EVERY: Duration = Duration::from_secs(15 * 60);
const LEASE: &str = "budget-projections";
/// History each limit's series is fitted on.
const HISTORY_DAYS: i64 = 90;

/// The events one round puts on the timeline: the projections of every limit at `now_ms`,
/// less those already there for the same limit and window.
pub async fn round(
    store: &dyn Store,
    config: &seam_config::Config,
    now_ms: i64,
) -> anyhow::Result<Vec<EventRecord>> {
    // Every tenant's and key's limits, from one read of the usage hours.
    let q = Query {
        by: By::Tenant,
        name: None,
        measure: Measure::Cost,
        horizon_hours: 24,
        as_of_ms: None,
        history_days: HISTORY_DAYS,
        now_ms,
        budgets_only: true,
    };
    let all = seam_store::Tenants::All;
    let loaded = forecast::load(store, &config.limits, &config.calendar, &q, &all).await?;
    let budgets = tokio::task::spawn_blocking(move || forecast::compute(loaded))
        .await?
        .budgets;
    let Some(since) = budgets.iter().map(|b| b.window_start_ms).min() else {
        return Ok(Vec::new());
    };
    let earlier = store.list_events(since, 100_000).await?;
    let events = exceed_events(&budgets, &earlier);
    for e in &events {
        store.insert_event(e).await?;
    }
    Ok(events)
}

/// Runs [`round`] every [`EVERY`] while this gateway holds the lease.
pub fn spawn(
    store: Arc<dyn Store>,
    config_now: Arc<dyn Fn() -> seam_config::Config + Send + Sync>,
) -> tokio::task::JoinHandle<()> {
    let holder = format!("gw-{}", uuid::Uuid::now_v7().simple());
    tokio::spawn(async move {
        // The first round a period after start: a gateway starting (or restarting) serves
        // before it fits anything.
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + EVERY, EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let config = config_now();
            let has_limits = !config.limits.tenant_default.is_empty()
                || !config.limits.tenants.is_empty()
                || store
                    .list_keys()
                    .await
                    .is_ok_and(|ks| ks.iter().any(|k| k.limits.is_some()));
            if !has_limits {
                continue;
            }
            let now = seam_store::now_ms();
            let ttl = i64::try_from(EVERY.as_millis()).unwrap_or(i64::MAX / 4) * 2;
            match store.take_lease(LEASE, &holder, now, ttl).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!("budget projections: cannot take the lease: {e}");
                    continue;
                }
            }
            // Made per round, from the config in force: a reload may change the webhooks.
            let notifier = match seam_notify::Notifier::new(&config.notify.webhooks) {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!("budget projections: cannot make the webhooks' client: {e}");
                    continue;
                }
            };
            match round(store.as_ref(), &config, now).await {
                Ok(events) => {
                    for e in &events {
                        tracing::warn!(kind = "budget_exceed_projected", "{}", e.message);
                        notifier.notify(e);
                    }
                    notifier.flush(Duration::from_secs(10)).await;
                }
                Err(e) => tracing::warn!("budget projections failed this round: {e}"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use seam_store::{Events, ImportedHour, UsageHistory};
    use seam_vocab::EventKind;

    const HOUR: i64 = 3_600_000;
    /// 2026-12-10 00:00 UTC.
    const T: i64 = 1_796_860_800_000;

    fn config(month_limit: f64) -> seam_config::Config {
        let text = format!(
            "[[providers]]\nname = \"sim\"\nkind = \"sim\"\nbase_url = \"http://127.0.0.1:9/v1\"\n\
             [[routes]]\nname = \"chat\"\ntargets = [{{ provider = \"sim\", model = \"m\" }}]\n\
             [limits.tenants.acme]\ncost_per_month = {month_limit}\n"
        );
        seam_config::parse(&text, std::path::Path::new("seam.toml"), &|_| None).expect("config")
    }

    #[tokio::test]
    async fn a_round_raises_one_event_per_limit_and_window() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("seam.db").display());
        let store = seam_store::open(&url).await.expect("open");
        // $1 an hour for 60 days: $216 spent by the 10th, about $744 by the month's end.
        let rows: Vec<ImportedHour> = (0..60 * 24)
            .map(|i| ImportedHour {
                hour_ms: T - 60 * 24 * HOUR + i * HOUR,
                tenant: "acme".into(),
                route: "chat".into(),
                key_id: String::new(),
                input_tokens: 100,
                output_tokens: 10,
                cost_usd: 1.0 + 0.1 * ((i as f64) * 1.7).sin(),
                calls: 1,
            })
            .collect();
        store.import_hours(&rows).await.expect("import");

        assert!(
            round(&store, &config(5_000.0), T)
                .await
                .expect("round")
                .is_empty()
        );
        let events = round(&store, &config(500.0), T).await.expect("round");
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].kind, EventKind::BudgetExceedProjected);
        assert!(events[0].message.starts_with("tenant acme cost per month"));
        let stored = store.list_events(0, 10).await.expect("events");
        assert_eq!(stored.len(), 1, "put on the timeline");
        // An hour later, the same window: nothing new.
        let again = round(&store, &config(500.0), T + HOUR)
            .await
            .expect("round");
        assert!(again.is_empty(), "{again:?}");
    }
}
