//! Retention on a paused clock against SQLite: records at fixed times, rounds driven by
//! moving the clock. The store's work and the test's waits run on blocking threads: tokio does
//! not move a paused clock while one runs, so time moves only when the test moves it (the
//! connection pool's own timeouts cannot fire in the middle of a query).

use super::*;
use seam_store::conformance::{sample_attempt, sample_call, sample_stream};
use seam_store::{CallRecord, ContentRecord, Events as _, RecordBatch, Records, SqlStore, Store};
use std::future::Future;
use std::sync::Mutex;

/// 2030-01-01T00:00:00Z: where the test's clock starts.
const BASE_MS: i64 = 1_893_456_000_000;

/// Wall time that moves only with tokio's paused clock.
struct Paused(tokio::time::Instant);

impl Clock for Paused {
    fn now_ms(&self) -> i64 {
        BASE_MS + self.0.elapsed().as_millis() as i64
    }
}

fn days_ago(days: i64) -> i64 {
    BASE_MS - days * DAY_MS
}

/// `n` calls at `at` (a millisecond apart), each with two attempts, a stream and content.
fn records(prefix: &str, at: i64, n: i64) -> RecordBatch {
    let calls: Vec<CallRecord> = (0..n)
        .map(|i| sample_call(&format!("call_{prefix}_{i}"), at + i, "t"))
        .collect();
    RecordBatch {
        attempts: calls
            .iter()
            .flat_map(|c| [sample_attempt(c, 1, false), sample_attempt(c, 2, true)])
            .collect(),
        streams: calls.iter().map(sample_stream).collect(),
        contents: calls
            .iter()
            .map(|c| ContentRecord {
                call_id: c.id.clone(),
                created_ms: c.created_ms,
                format: ContentRecord::FORMAT,
                bytes: 2,
                truncated: false,
                redactions: 0,
                body: vec![1, 2],
            })
            .collect(),
        calls,
    }
}

/// A store with five calls from 40 days ago, four from 10 days ago and two from yesterday;
/// then the clock is paused.
async fn store(dir: &tempfile::TempDir) -> Arc<SqlStore> {
    let url = format!("sqlite://{}", dir.path().join("seam.db").display());
    let store = Arc::new(seam_store::open(&url).await.expect("open"));
    for b in [
        records("old", days_ago(40), 5),
        records("mid", days_ago(10), 4),
        records("new", days_ago(1), 2),
    ] {
        store.insert_batch(&b).await.expect("insert");
    }
    tokio::time::pause();
    store
}

struct Gateway {
    tasks: Tasks,
    metrics: Arc<Metrics>,
    rounds: watch::Receiver<u64>,
}

fn gateway(
    store: &Arc<SqlStore>,
    settings: &Arc<Mutex<Settings>>,
    holder: &str,
    clock: &Arc<Paused>,
) -> Gateway {
    let tasks = Tasks::new();
    let metrics = Metrics::new();
    let shared: Arc<dyn Store> = store.clone();
    let events = Events::new(metrics.clone(), shared, tasks.clone());
    let read = settings.clone();
    let rounds = Retention {
        store: store.clone(),
        settings: Arc::new(move || *read.lock().expect("settings")),
        clock: clock.clone(),
        events,
        metrics: metrics.clone(),
        holder: holder.into(),
        // Small, so that a round takes several batches.
        batch: 3,
    }
    .spawn(&tasks);
    Gateway {
        tasks,
        metrics,
        rounds,
    }
}

/// Moves the clock `d` and a millisecond on: a timer's deadline is rounded up to the next
/// millisecond of the runtime's clock, and the clock only moves when the test moves it.
async fn advance(d: Duration) {
    tokio::time::advance(d + Duration::from_millis(1)).await;
}

/// Runs `f` on a blocking thread, so that the clock stays where the test put it.
async fn blocking<T: Send + 'static>(f: impl Future<Output = T> + Send + 'static) -> T {
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || handle.block_on(f))
        .await
        .expect("blocking")
}

/// Waits (in real time, at most 10 s) until `g` has ended `n` rounds.
async fn rounds(g: &Gateway, n: u64) {
    let rx = g.rounds.clone();
    let ended = tokio::task::spawn_blocking(move || {
        for _ in 0..2_000 {
            if *rx.borrow() >= n {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        false
    })
    .await
    .expect("wait");
    assert!(
        ended,
        "round {n} did not end (ended: {})",
        *g.rounds.borrow()
    );
}

/// A series' value in the gateway's /metrics text (0 when absent).
fn metric(g: &Gateway, series: &str) -> f64 {
    g.metrics
        .render()
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// The retention events on the timeline once there are `n` (their writes are jobs; waited
/// for, at most 10 s).
async fn timeline(store: &Arc<SqlStore>, n: usize) -> Vec<seam_store::EventRecord> {
    let store = store.clone();
    blocking(async move {
        for _ in 0..1_000 {
            let events: Vec<_> = store
                .list_events(0, 100)
                .await
                .expect("events")
                .into_iter()
                .filter(|e| e.kind == EventKind::RetentionDeleted)
                .collect();
            if events.len() >= n {
                return events;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("fewer than {n} retention events");
    })
    .await
}

/// (calls, contents) stored now.
async fn counts(store: &Arc<SqlStore>) -> (usize, usize) {
    let store = store.clone();
    blocking(async move {
        let calls = store
            .list_calls(&seam_store::CallQuery::default())
            .await
            .expect("calls");
        let mut contents = 0;
        for c in &calls {
            contents += store.get_content(&c.id).await.expect("content").is_some() as usize;
        }
        (calls.len(), contents)
    })
    .await
}

#[tokio::test]
async fn retention_runs_on_its_clock_in_batches_and_follows_a_reload() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(&dir).await;
    let clock = Arc::new(Paused(tokio::time::Instant::now()));
    // Content for a week; records kept (for now).
    let settings = Arc::new(Mutex::new(Settings {
        records_days: None,
        capture_days: Some(7),
    }));
    let g = gateway(&store, &settings, "gw_a", &clock);

    advance(FIRST_ROUND - Duration::from_secs(1)).await;
    assert_eq!(*g.rounds.borrow(), 0, "no round before FIRST_ROUND");
    assert_eq!(counts(&store).await, (11, 11));

    advance(Duration::from_secs(1)).await;
    rounds(&g, 1).await;
    assert_eq!(
        counts(&store).await,
        (11, 2),
        "content older than 7 days is gone (three batches of 3), every call stays"
    );
    assert_eq!(
        metric(&g, "seam_retention_deleted_total{table=\"contents\"}"),
        9.0
    );
    assert_eq!(
        metric(&g, "seam_retention_deleted_total{table=\"calls\"}"),
        0.0
    );
    assert_eq!(
        metric(&g, "seam_retention_rounds_total{reason=\"ran\"}"),
        1.0
    );
    let events = timeline(&store, 1).await;
    assert_eq!(
        events[0].message,
        "retention deleted 0 calls, 0 attempts, 0 streams and 9 contents (records: kept; content: older than 7 days)"
    );
    let details: serde_json::Value = serde_json::from_str(&events[0].details).expect("json");
    assert_eq!(details["deleted"]["contents"], 9);
    // The round's time (60 s and the test's two milliseconds after start), less a week.
    assert_eq!(
        details["contents_before_ms"],
        days_ago(7) + FIRST_ROUND.as_millis() as i64 + 2
    );

    // A reload sets [records] retention_days: the next round applies it, not earlier.
    settings.lock().expect("settings").records_days = Some(30);
    advance(INTERVAL - Duration::from_secs(1)).await;
    assert_eq!(*g.rounds.borrow(), 1);
    assert_eq!(counts(&store).await.0, 11);
    advance(Duration::from_secs(1)).await;
    rounds(&g, 2).await;
    assert_eq!(
        counts(&store).await,
        (6, 2),
        "the calls older than 30 days are gone"
    );
    for (table, n) in [
        ("calls", 5.0),
        ("attempts", 10.0),
        ("streams", 5.0),
        ("contents", 9.0),
    ] {
        assert_eq!(
            metric(
                &g,
                &format!("seam_retention_deleted_total{{table=\"{table}\"}}")
            ),
            n,
            "{table}"
        );
    }
    let old = store.clone();
    let gone = blocking(async move { old.get_call("call_old_0").await.expect("get") }).await;
    assert_eq!(gone, None);

    // Nothing expired: a round runs and puts nothing on the timeline.
    advance(INTERVAL).await;
    rounds(&g, 3).await;
    assert_eq!(
        metric(&g, "seam_retention_rounds_total{reason=\"ran\"}"),
        3.0
    );
    assert_eq!(timeline(&store, 2).await.len(), 2);

    // Three weeks on, the calls of 10 days ago are 31 days old: one round (not one per
    // missed interval) deletes them.
    advance(Duration::from_secs(21 * 86_400)).await;
    rounds(&g, 4).await;
    assert_eq!(
        counts(&store).await,
        (2, 0),
        "yesterday's calls stay (22 days old), their content goes"
    );
    assert_eq!(
        metric(&g, "seam_retention_deleted_total{table=\"calls\"}"),
        9.0
    );
    assert_eq!(
        metric(&g, "seam_retention_deleted_total{table=\"contents\"}"),
        11.0
    );
    assert_eq!(*g.rounds.borrow(), 4);
    let tasks = g.tasks.clone();
    let stopped = blocking(async move { tasks.shutdown(Duration::from_secs(5)).await }).await;
    assert_eq!(stopped.aborted, Vec::<&str>::new());
}

#[tokio::test]
async fn two_gateways_on_one_store_never_both_run_a_round() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(&dir).await;
    let clock = Arc::new(Paused(tokio::time::Instant::now()));
    let settings = Arc::new(Mutex::new(Settings {
        records_days: Some(30),
        capture_days: None,
    }));
    let a = gateway(&store, &settings, "gw_a", &clock);
    let b = gateway(&store, &settings, "gw_b", &clock);
    let ran = |g: &Gateway| metric(g, "seam_retention_rounds_total{reason=\"ran\"}");
    let skipped = |g: &Gateway| metric(g, "seam_retention_rounds_total{reason=\"skipped\"}");
    let calls = |g: &Gateway| metric(g, "seam_retention_deleted_total{table=\"calls\"}");

    // Both are due at once: one takes the lease and runs, the other skips.
    advance(FIRST_ROUND).await;
    rounds(&a, 1).await;
    rounds(&b, 1).await;
    assert_eq!((ran(&a) + ran(&b), skipped(&a) + skipped(&b)), (1.0, 1.0));
    let (holder, other) = if ran(&a) == 1.0 { (&a, &b) } else { (&b, &a) };
    assert_eq!((calls(holder), calls(other)), (5.0, 0.0));

    // The holder keeps the lease from round to round.
    for n in 2..=3 {
        advance(INTERVAL).await;
        rounds(&a, n).await;
        rounds(&b, n).await;
        assert_eq!((ran(holder), skipped(other)), (n as f64, n as f64));
    }

    // A holder that stops gives the lease up: the other runs the next round.
    let tasks = holder.tasks.clone();
    blocking(async move { tasks.shutdown(Duration::from_secs(5)).await }).await;
    advance(INTERVAL).await;
    rounds(other, 4).await;
    assert_eq!((ran(other), skipped(other)), (1.0, 3.0));
    let tasks = other.tasks.clone();
    blocking(async move { tasks.shutdown(Duration::from_secs(5)).await }).await;
}
