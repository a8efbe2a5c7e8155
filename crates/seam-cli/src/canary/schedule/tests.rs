use super::*;
use seam_store::SqlStore;
use serde_json::json;

const T0: i64 = 1_796_428_800_000; // 2026-12-05 00:00 UTC, a minute boundary
const MIN: i64 = 60_000;

fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "support".into(),
            prompt: Some("support-bot".into()),
            routes: vec!["chat".into()],
        },
        Target {
            name: "plain".into(),
            prompt: None,
            routes: vec!["fast".into()],
        },
    ]
}

fn config(dir: &std::path::Path, canaries: &str) -> seam_config::Config {
    let path = dir.join("seam.toml");
    std::fs::write(
        &path,
        format!(
            "[[providers]]\nname = \"sim\"\nkind = \"sim\"\nbase_url = \"http://127.0.0.1:9/v1\"\n\n\
             [[routes]]\nname = \"chat\"\ntargets = [{{ provider = \"sim\", model = \"m\" }}]\n\n\
             [canaries]\n{canaries}\n"
        ),
    )
    .expect("config");
    seam_config::load(&path, &|_| None).expect("valid config")
}

fn event(kind: EventKind, at: i64, route: Option<&str>, details: serde_json::Value) -> EventRecord {
    let mut e = EventRecord::new(kind, "test".into(), details);
    e.created_ms = at;
    e.route = route.map(str::to_string);
    e
}

#[test]
fn deploys_and_model_changes_make_the_goldens_they_concern_due() {
    let events = [
        event(
            EventKind::ReleaseDeploy,
            T0,
            None,
            json!({"prompt": "support-bot"}),
        ),
        event(EventKind::ServedModelChanged, T0, Some("fast"), json!({})),
        event(EventKind::ServedModelChanged, T0, Some("other"), json!({})),
        event(
            EventKind::ReleaseCreate,
            T0,
            None,
            json!({"prompt": "support-bot"}),
        ),
    ];
    let due = due_on_events(&targets(), &events, true, true);
    assert_eq!(
        due.iter()
            .map(|d| (d.golden.as_str(), d.trigger))
            .collect::<Vec<_>>(),
        vec![
            ("support", CanaryTrigger::Deploy),
            ("plain", CanaryTrigger::ServedModelChanged)
        ]
    );
    assert_eq!(due[0].lease, "canary:support:deploy");
    // Each trigger can be turned off.
    assert!(due_on_events(&targets(), &events, false, false).is_empty());
    let only_models = due_on_events(&targets(), &events, false, true);
    assert_eq!(only_models.len(), 1);
    assert_eq!(only_models[0].golden, "plain");
}

async fn sqlite(dir: &std::path::Path) -> Arc<dyn Store> {
    let url = format!("sqlite://{}", dir.join("seam.db").display());
    Arc::new(seam_store::open(&url).await.expect("store"))
}

/// Two gateways on one store, polling the same schedule: each tick is run once, by one of
/// them, and a deploy event once.
async fn one_replay_per_tick(store: Arc<dyn Store>, dir: &std::path::Path) {
    let config = config(dir, "every = \"1m\"");
    let mut a = Scheduler::starting_at(store.clone(), config.clone(), "gw-a".into(), T0 + 1);
    let mut b = Scheduler::starting_at(store.clone(), config, "gw-b".into(), T0 + 1);
    let targets = targets();
    // Nothing happened yet: a poll reads no golden.
    assert!(a.pending(T0 + 20_000).await.expect("pending").is_quiet());
    // Within the minute they started in: nothing.
    assert!(
        a.poll(&targets, T0 + 30_000)
            .await
            .expect("poll")
            .is_empty()
    );
    assert!(
        b.poll(&targets, T0 + 31_000)
            .await
            .expect("poll")
            .is_empty()
    );
    let mut runs = 0;
    for tick in 1..=3 {
        let at = T0 + tick * MIN;
        // Gateway a reaches the tick first, b a poll later; then both poll again.
        let won_a = a.poll(&targets, at + 10).await.expect("poll");
        let won_b = b.poll(&targets, at + 5_010).await.expect("poll");
        let again_a = a.poll(&targets, at + 10_010).await.expect("poll");
        let again_b = b.poll(&targets, at + 15_010).await.expect("poll");
        assert_eq!(won_a.len(), 2, "tick {tick}: a runs both goldens");
        assert!(won_b.is_empty() && again_a.is_empty() && again_b.is_empty());
        assert!(won_a.iter().all(|d| d.trigger == CanaryTrigger::Schedule));
        runs += won_a.len() + won_b.len();
    }
    assert_eq!(runs, 6, "3 ticks x 2 goldens, each once");
    // A deploy of support-bot: one replay of `support`, by whichever polls first.
    store
        .insert_event(&event(
            EventKind::ReleaseDeploy,
            T0 + 3 * MIN + 20_000,
            None,
            json!({"prompt": "support-bot"}),
        ))
        .await
        .expect("event");
    let won_b = b.poll(&targets, T0 + 3 * MIN + 21_000).await.expect("poll");
    let won_a = a.poll(&targets, T0 + 3 * MIN + 22_000).await.expect("poll");
    assert_eq!(
        won_b
            .iter()
            .map(|d| (d.golden.as_str(), d.trigger))
            .collect::<Vec<_>>(),
        vec![("support", CanaryTrigger::Deploy)]
    );
    assert!(won_a.is_empty(), "{won_a:?}");
    // Read once: the next poll (in the same minute) does not see it again.
    assert!(
        b.poll(&targets, T0 + 3 * MIN + 40_000)
            .await
            .expect("poll")
            .is_empty()
    );
}

#[tokio::test]
async fn two_gateways_on_sqlite_run_each_tick_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = sqlite(dir.path()).await;
    one_replay_per_tick(store, dir.path()).await;
}

#[tokio::test]
async fn two_gateways_on_postgres_run_each_tick_once() {
    use sqlx::Executor;
    let base = std::env::var("SEAM_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("seam_canary_schedule_{}", std::process::id());
    let admin = SqlStore::connect(&base).await.unwrap_or_else(|e| {
        panic!("PostgreSQL at {base} is unreachable ({e}); start it (see README: Tests) or set SEAM_TEST_POSTGRES")
    });
    admin
        .pool()
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        )))
        .await
        .expect("schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    let store: Arc<dyn Store> = Arc::new(seam_store::open(&url).await.expect("open"));
    let dir = tempfile::tempdir().expect("tempdir");
    one_replay_per_tick(store, dir.path()).await;
    admin
        .pool()
        .execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .await
        .expect("drop schema");
}

#[tokio::test]
async fn the_clock_is_tokios() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = sqlite(dir.path()).await;
    // Paused after the store is open: its pool's timers would fire on a paused clock.
    tokio::time::pause();
    let s = Scheduler::starting_at(store, config(dir.path(), ""), "gw".into(), T0);
    tokio::time::advance(Duration::from_secs(6 * 3600)).await;
    assert_eq!(s.now_ms(), T0 + 6 * 3600 * 1000);
}
