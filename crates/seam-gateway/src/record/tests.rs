use super::*;
use seam_store::{Events as _, Priority, RecordBatch};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A sink whose writes fail or succeed on command, and which remembers each batch's priority
/// and the calls it stored, in order.
#[derive(Default)]
struct FlakySink {
    fail: AtomicBool,
    writes: AtomicUsize,
    priorities: Mutex<Vec<(Priority, usize)>>,
    stored: Mutex<Vec<String>>,
    contents: AtomicUsize,
}

#[async_trait::async_trait]
impl RecordSink for FlakySink {
    async fn write(&self, batch: Arc<RecordBatch>, priority: Priority) -> seam_store::Result<()> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        if self.fail.load(Ordering::Relaxed) {
            return Err(seam_store::StoreError::Invalid("down".into()));
        }
        self.priorities
            .lock()
            .unwrap()
            .push((priority, batch.calls.len()));
        self.contents
            .fetch_add(batch.contents.len(), Ordering::Relaxed);
        let mut stored = self.stored.lock().unwrap();
        for c in &batch.calls {
            if !stored.contains(&c.id) {
                stored.push(c.id.clone());
            }
        }
        Ok(())
    }
}

impl FlakySink {
    fn failing() -> Arc<FlakySink> {
        let s = FlakySink::default();
        s.fail.store(true, Ordering::Relaxed);
        Arc::new(s)
    }
    fn stored(&self) -> Vec<String> {
        self.stored.lock().unwrap().clone()
    }
}

fn entry(id: &str) -> Box<Entry> {
    let call = seam_store::conformance::sample_call(id, 1, "t");
    let attempts = vec![seam_store::conformance::sample_attempt(&call, 1, true)];
    Box::new(Entry {
        call,
        attempts,
        stream: None,
        content: None,
    })
}

fn cfg(capacity: usize) -> StoreConfig {
    StoreConfig {
        url: String::new(),
        max_connections: 1,
        batch_size: 16,
        queue_capacity: capacity,
        flush_interval: Duration::from_millis(10),
    }
}

/// Opened before the test pauses time (a paused clock would time the pool out), then paused.
async fn events_store() -> Arc<seam_store::SqlStore> {
    let store = Arc::new(seam_store::open("sqlite::memory:").await.unwrap());
    tokio::time::pause();
    store
}

/// The timeline, read on a running clock.
async fn timeline(events: &seam_store::SqlStore) -> Vec<seam_store::EventRecord> {
    tokio::time::resume();
    for _ in 0..100 {
        let list = events.list_events(0, 10).await.unwrap();
        if !list.is_empty() {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Vec::new()
}

fn spawn(
    sink: Arc<FlakySink>,
    spool: Option<&std::path::Path>,
    max_bytes: u64,
    events: Arc<seam_store::SqlStore>,
    capacity: usize,
    metrics: Arc<Metrics>,
) -> (Recorder, RecordWriter) {
    let spool = spool.map(|d| Spool::open(d, max_bytes).unwrap());
    Recorder::spawn(
        Sinks {
            sink,
            spool,
            events: crate::events::Events::new(metrics.clone(), events, crate::tasks::Tasks::new()),
            durability: seam_config::Durability::Batched,
        },
        &cfg(capacity),
        metrics,
    )
}

fn dropped(m: &Metrics, reason: &str) -> u64 {
    m.records_dropped
        .get_or_create(&Reason {
            reason: reason.into(),
        })
        .get()
}

fn ids(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

#[tokio::test]
async fn a_full_queue_drops_and_counts() {
    let metrics = Metrics::new();
    let sink = Arc::new(FlakySink::default());
    let (rec, writer) = spawn(
        sink.clone(),
        None,
        0,
        events_store().await,
        1,
        metrics.clone(),
    );
    rec.record(entry("a"));
    rec.record(entry("b"));
    rec.record(entry("c"));
    assert_eq!(
        dropped(&metrics, "queue_full"),
        4,
        "two calls of two rows each"
    );
    writer.finish().await;
    assert_eq!(sink.writes.load(Ordering::Relaxed), 1);
    assert_eq!(metrics.records_written.get(), 2);
    assert_eq!(metrics.record_queue.get(), 0);
}

/// The store is down for a long outage: nothing acknowledged is lost. The queue stays below
/// its capacity because the writer moves it to the spool, and once the store is back the
/// records arrive in the order the calls were recorded, the outage goes on the timeline.
#[tokio::test]
async fn an_outage_spools_and_replays_in_order() {
    let metrics = Metrics::new();
    let dir = tempfile::tempdir().unwrap();
    let sink = FlakySink::failing();
    let events = events_store().await;
    let (rec, writer) = spawn(
        sink.clone(),
        Some(dir.path()),
        1 << 30,
        events.clone(),
        64,
        metrics.clone(),
    );
    let all = ids("c", 2000);
    for chunk in all.chunks(20) {
        for id in chunk {
            rec.record(entry(id));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(dropped(&metrics, "queue_full"), 0);
    assert!(
        metrics.records_spooled.get() > 3000,
        "{}",
        metrics.records_spooled.get()
    );
    assert!(metrics.record_spool_bytes.get() > 0);
    assert!(sink.stored().is_empty());
    // Writes were retried with backoff (0.1, 0.2, 0.4 ... s), not on every tick: 5 s of outage.
    let writes = sink.writes.load(Ordering::Relaxed);
    assert!(
        (4..=10).contains(&writes),
        "{writes} writes during the outage"
    );
    sink.fail.store(false, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(sink.stored(), all, "every call, once, in order");
    assert_eq!(metrics.record_spool_bytes.get(), 0);
    rec.record(entry("after"));
    writer.finish().await;
    assert_eq!(sink.stored().last().map(String::as_str), Some("after"));
    assert!(metrics.records_written.get() >= 2 * 2001);
    // The outage is on the timeline.
    let outage = timeline(&events)
        .await
        .into_iter()
        .find(|e| e.kind.as_str() == "store_outage")
        .expect("a store_outage event");
    let details: serde_json::Value = serde_json::from_str(&outage.details).unwrap();
    assert!(details["spooled_records"].as_u64().unwrap() > 3000);
    assert_eq!(details["dropped_records"], 0);
}

/// Stopping while the store is down spools what is queued; the next start writes it first.
#[tokio::test]
async fn stopping_during_an_outage_spools_for_the_next_start() {
    let metrics = Metrics::new();
    let dir = tempfile::tempdir().unwrap();
    let sink = FlakySink::failing();
    let events = events_store().await;
    let (rec, writer) = spawn(
        sink.clone(),
        Some(dir.path()),
        1 << 30,
        events.clone(),
        64,
        metrics.clone(),
    );
    for id in ids("a", 10) {
        rec.record(entry(&id));
    }
    writer.finish().await;
    assert!(sink.stored().is_empty());
    assert_eq!(metrics.records_spooled.get(), 20);
    assert_eq!(dropped(&metrics, "store_error"), 0);

    let sink = Arc::new(FlakySink::default());
    let (rec, writer) = spawn(
        sink.clone(),
        Some(dir.path()),
        1 << 30,
        events,
        64,
        metrics.clone(),
    );
    rec.record(entry("b"));
    writer.finish().await;
    let mut expected = ids("a", 10);
    expected.push("b".into());
    assert_eq!(sink.stored(), expected);
}

/// Only a full spool drops records; the drop is counted and on the timeline.
#[tokio::test]
async fn a_full_spool_drops_counts_and_tells() {
    let metrics = Metrics::new();
    let dir = tempfile::tempdir().unwrap();
    let sink = FlakySink::failing();
    let events = events_store().await;
    let (rec, writer) = spawn(
        sink.clone(),
        Some(dir.path()),
        20_000,
        events.clone(),
        16,
        metrics.clone(),
    );
    for chunk in ids("c", 400).chunks(8) {
        for id in chunk {
            rec.record(entry(id));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(dropped(&metrics, "spool_full") > 0);
    assert_eq!(dropped(&metrics, "queue_full"), 0);
    sink.fail.store(false, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(6)).await;
    writer.finish().await;
    let stored = sink.stored().len() as u64;
    assert_eq!(
        stored * 2 + dropped(&metrics, "spool_full"),
        800,
        "every row stored or counted"
    );
    let e = timeline(&events)
        .await
        .into_iter()
        .find(|e| e.kind.as_str() == "records_dropped")
        .expect("a records_dropped event");
    assert!(e.message.contains("dropped"), "{}", e.message);
}

/// Without a spool (an in-memory store), a store that stays down drops records only when the
/// queue is half full, and counts them.
#[tokio::test]
async fn without_a_spool_records_wait_in_the_queue() {
    let metrics = Metrics::new();
    let sink = FlakySink::failing();
    let (rec, writer) = spawn(
        sink.clone(),
        None,
        0,
        events_store().await,
        64,
        metrics.clone(),
    );
    for id in ids("a", 10) {
        rec.record(entry(&id));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(dropped(&metrics, "store_error"), 0, "they wait");
    sink.fail.store(false, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(sink.stored(), ids("a", 10));
    writer.finish().await;
}

#[tokio::test]
async fn batches_go_at_background_priority_until_records_pile_up() {
    let metrics = Metrics::new();
    let sink = Arc::new(FlakySink::default());
    // Capacity 64: from 16 queued calls on, batches are urgent; 16 calls per batch, 2 in
    // the background.
    let (rec, writer) = spawn(
        sink.clone(),
        None,
        0,
        events_store().await,
        64,
        metrics.clone(),
    );
    for i in 0..8 {
        rec.record(entry(&format!("few-{i}")));
    }
    tokio::time::sleep(Duration::from_millis(15)).await;
    for i in 0..48 {
        rec.record(entry(&format!("many-{i}")));
    }
    tokio::time::sleep(Duration::from_millis(12)).await;
    rec.record(entry("last"));
    writer.finish().await;
    use Priority::{Background, Normal};
    assert_eq!(
        *sink.priorities.lock().unwrap(),
        vec![
            // 8 queued: background batches of 2 calls
            (Background, 2),
            (Background, 2),
            (Background, 2),
            (Background, 2),
            // 48 queued: full batches at normal priority while 16 or more wait
            (Normal, 16),
            (Normal, 16),
            (Normal, 16),
            // stopping
            (Normal, 1),
        ]
    );
    assert_eq!(metrics.records_written.get(), 2 * 57);
}

/// A call of a route that keeps all content.
fn captured_entry(id: &str) -> Box<Entry> {
    let text = "[[providers]]\nname = \"local\"\nkind = \"sim\"\n[[routes]]\nname = \"chat\"\ntargets = [{ provider = \"local\", model = \"m\" }]\ncapture = { mode = \"full\" }\n";
    let config = seam_config::parse(text, std::path::Path::new("t.toml"), &|_| None).unwrap();
    let policies = crate::capture::Policies::build(&config).unwrap();
    let request = crate::capture::Request {
        bytes: bytes::Bytes::from_static(
            br#"{"model":"chat","messages":[{"role":"user","content":"hi"}]}"#,
        ),
        responses: false,
    };
    let pending = policies.decide("t", "chat", id, request).expect("kept");
    let mut e = entry(id);
    e.content = pending.end(seam_vocab::Outcome::Ok, None);
    assert!(e.content.is_some());
    e
}

/// A writer with half its queue waiting keeps every call and drops their content,
/// counted and put on the timeline; once it has caught up, content is kept again.
#[tokio::test]
async fn a_writer_behind_drops_content_never_calls() {
    let metrics = Metrics::new();
    let sink = Arc::new(FlakySink::default());
    let events = events_store().await;
    let (rec, writer) = spawn(sink.clone(), None, 0, events.clone(), 64, metrics.clone());
    let all = ids("c", 40);
    for id in &all {
        rec.record(captured_entry(id));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    rec.record(captured_entry("later"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    writer.finish().await;
    let mut expected = all.clone();
    expected.push("later".into());
    assert_eq!(sink.stored(), expected, "every call is kept");
    let behind = metrics
        .contents_dropped
        .get_or_create(&Reason {
            reason: "writer_behind".into(),
        })
        .get();
    let kept = sink.contents.load(Ordering::Relaxed) as u64;
    // A batch of 16 taken while 40 waited (32 is half of 64) went without content; those
    // taken while 24, then 8 waited, and the later call, kept theirs.
    assert_eq!((behind, kept), (16, 25));
    assert_eq!(metrics.contents_captured.get(), 25);
    let event = timeline(&events)
        .await
        .into_iter()
        .find(|e| e.kind.as_str() == "content_dropped")
        .expect("a content_dropped event");
    let details: serde_json::Value = serde_json::from_str(&event.details).unwrap();
    assert_eq!(details["contents"], 16);
}
