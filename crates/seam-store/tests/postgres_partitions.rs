//! PostgreSQL's monthly record partitions: made ahead, dropped whole when expired, and made by
//! migration 16 from a store with records; and retention's lease and batches. Each test runs in
//! a schema of its own, dropped afterwards, so that it never touches another test's rows in
//! the shared database. Fails (never skips) when PostgreSQL is unreachable: set
//! SEAM_TEST_POSTGRES to point elsewhere than postgres://postgres@127.0.0.1:5432/test.

use seam_store::conformance::{sample_attempt, sample_call, sample_stream, sole_attempt};
use seam_store::{
    CallRecord, ContentRecord, Deleted, Expiry, Priority, RecordBatch, Records, Retention,
    SqlStore, Store,
};
use sqlx::Executor;
use std::sync::{Arc, Mutex};

/// 2025-06-15T00:00:00Z, 2025-09-01, 2025-10-15 and 2025-11-01 (`date -d ... +%s`).
const JUNE_15: i64 = 1_749_945_600_000;
const SEPTEMBER_1: i64 = 1_756_684_800_000;
const OCTOBER_15: i64 = 1_760_486_400_000;
const NOVEMBER_1: i64 = 1_761_955_200_000;

struct Schema {
    admin: SqlStore,
    name: String,
    url: String,
}

async fn schema(tag: &str) -> Schema {
    let base = std::env::var("SEAM_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let name = format!("seam_{tag}_{}", std::process::id());
    let admin = SqlStore::connect(&base).await.unwrap_or_else(|e| {
        panic!("PostgreSQL at {base} is unreachable ({e}); start it (see README: Tests) or set SEAM_TEST_POSTGRES")
    });
    admin
        .pool()
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
        )))
        .await
        .expect("create schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{name}");
    Schema { admin, name, url }
}

impl Schema {
    async fn drop(self, store: SqlStore) {
        store.pool().close().await;
        self.admin
            .pool()
            .execute(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA {} CASCADE",
                self.name
            )))
            .await
            .expect("drop schema");
    }
}

async fn count(store: &SqlStore, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn exists(store: &SqlStore, relation: &str) -> bool {
    let found: Option<String> = sqlx::query_scalar("SELECT to_regclass($1::text)::text")
        .bind(relation)
        .fetch_one(store.pool())
        .await
        .expect("to_regclass");
    found.is_some()
}

fn content(call: &CallRecord) -> ContentRecord {
    ContentRecord {
        call_id: call.id.clone(),
        created_ms: call.created_ms,
        format: ContentRecord::FORMAT,
        bytes: 4,
        truncated: false,
        redactions: 1,
        body: vec![9, 0, 9, 0],
    }
}

/// `n` calls from `at` on, each with two attempts (the attempts table), a stream and content.
fn records(prefix: &str, at: i64, n: i64) -> RecordBatch {
    let calls: Vec<CallRecord> = (0..n)
        .map(|i| sample_call(&format!("call_{prefix}_{i}"), at + i, "part"))
        .collect();
    RecordBatch {
        attempts: calls
            .iter()
            .flat_map(|c| [sample_attempt(c, 1, false), sample_attempt(c, 2, true)])
            .collect(),
        streams: calls.iter().map(sample_stream).collect(),
        contents: calls.iter().map(content).collect(),
        calls,
    }
}

#[tokio::test]
async fn postgres_retention_takes_one_lease_holder_and_deletes_in_batches() {
    let s = schema("retention").await;
    let store = seam_store::open(&s.url).await.expect("open");
    seam_store::conformance::leases_one_holder_at_a_time(&store).await;
    seam_store::conformance::expired_records_go_in_batches(&store).await;
    seam_store::conformance::failures_expire_with_records(&store).await;
    s.drop(store).await;
}

#[tokio::test]
async fn postgres_drops_an_expired_month_whole_and_keeps_the_rest() {
    let s = schema("partitions").await;
    let store = seam_store::open(&s.url).await.expect("open");
    let kind: String =
        sqlx::query_scalar("SELECT relkind::text FROM pg_class WHERE oid = 'calls'::regclass")
            .fetch_one(store.pool())
            .await
            .expect("relkind");
    assert_eq!(kind, "p", "a new store's calls table is partitioned");

    // June 2025's partitions (and the two months after), then records in June, in the
    // default partition (1970) and now.
    let made = store.prepare_partitions(JUNE_15).await.expect("prepare");
    for t in ["calls", "attempts", "streams", "contents"] {
        for m in ["202506", "202507", "202508"] {
            assert!(made.contains(&format!("{t}_p{m}")), "{t}_p{m} in {made:?}");
        }
    }
    assert!(
        store
            .prepare_partitions(JUNE_15)
            .await
            .expect("again")
            .is_empty(),
        "made once"
    );
    let june = records("june", JUNE_15, 5);
    let early = records("early", 60_000_000, 1);
    let now = records("now", seam_store::now_ms() - 1_000, 3);
    for b in [&june, &early, &now] {
        store.insert_batch(b).await.expect("insert");
    }
    assert_eq!(count(&store, "SELECT COUNT(*) FROM calls_p202506").await, 5);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM attempts_p202506").await,
        10
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM contents_p202506").await,
        5
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM calls_default").await, 1);

    // A row of a month that has no partition yet waits in the default partition, and moves
    // into the month's partition when it is made.
    let ahead = seam_store::now_ms() + 200 * 86_400_000;
    let later = records("later", ahead, 1);
    store.insert_batch(&later).await.expect("insert ahead");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM calls_default").await, 2);
    let made = store
        .prepare_partitions(ahead)
        .await
        .expect("prepare ahead");
    assert_eq!(made.len(), 12, "three months of four tables: {made:?}");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM calls_default").await, 1);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM attempts_default").await,
        2
    );
    let (call, tries) = store
        .get_call(&later.calls[0].id)
        .await
        .expect("get")
        .expect("moved, not lost");
    assert_eq!((call, tries.len()), (later.calls[0].clone(), 2));

    // Expired by 1 September: June's month (and the empty July and August) are dropped whole.
    let dropped = store
        .drop_expired_partitions(Expiry::Records, SEPTEMBER_1)
        .await
        .expect("drop");
    let mut names = dropped.partitions.clone();
    names.sort();
    let mut want: Vec<String> = ["attempts", "calls", "contents", "streams"]
        .iter()
        .flat_map(|t| ["202506", "202507", "202508"].map(|m| format!("{t}_p{m}")))
        .collect();
    want.sort();
    assert_eq!(names, want);
    assert_eq!(
        dropped.rows,
        Deleted {
            calls: 5,
            attempts: 10,
            streams: 5,
            contents: 5,
            ..Deleted::default()
        }
    );
    assert!(!exists(&store, "calls_p202506").await);
    for c in &june.calls {
        assert_eq!(store.get_call(&c.id).await.expect("get"), None);
        assert_eq!(store.get_stream(&c.id).await.expect("get"), None);
        assert_eq!(store.get_content(&c.id).await.expect("get"), None);
    }
    for c in now.calls.iter().chain(&later.calls).chain(&early.calls) {
        assert!(
            store.get_call(&c.id).await.expect("get").is_some(),
            "{}",
            c.id
        );
        assert!(
            store.get_content(&c.id).await.expect("get").is_some(),
            "{}",
            c.id
        );
    }
    // What is older but outside a month partition (the default partition) goes in batches.
    let d = store
        .delete_expired(Expiry::Records, SEPTEMBER_1, 100)
        .await
        .expect("delete");
    assert_eq!(
        d,
        Deleted {
            calls: 1,
            attempts: 2,
            streams: 1,
            contents: 1,
            ..Deleted::default()
        }
    );
    assert_eq!(
        store
            .list_calls(&Default::default())
            .await
            .expect("list")
            .len(),
        4,
        "now's three and the one ahead"
    );

    // Content expires alone: October's content partition goes, its calls stay. This one was
    // detached by a round that stopped before it dropped it: the next round drops it.
    store.prepare_partitions(OCTOBER_15).await.expect("prepare");
    let october = records("october", OCTOBER_15, 2);
    store.insert_batch(&october).await.expect("insert");
    store
        .pool()
        .execute("ALTER TABLE contents DETACH PARTITION contents_p202510")
        .await
        .expect("detach");
    let dropped = store
        .drop_expired_partitions(Expiry::Contents, NOVEMBER_1)
        .await
        .expect("drop contents");
    assert_eq!(dropped.partitions, ["contents_p202510"]);
    assert_eq!(
        dropped.rows,
        Deleted {
            contents: 2,
            ..Deleted::default()
        }
    );
    for c in &october.calls {
        assert!(store.get_call(&c.id).await.expect("get").is_some());
        assert_eq!(store.get_content(&c.id).await.expect("get"), None);
    }
    s.drop(store).await;
}

#[tokio::test]
async fn postgres_migration_16_partitions_a_store_with_records() {
    let s = schema("convert").await;
    let store = SqlStore::connect(&s.url).await.expect("connect");
    let quiet: seam_store::Progress<'_> = &|_| ();
    let at = seam_store::conformance::migrate_to(&store, 15, quiet)
        .await
        .expect("to 15");
    assert_eq!(at, 15);
    // The record writer and the readers use today's columns: those added since migration
    // 16 (20's `purpose`, 26's `request_hash`) are added ahead, as columns 16 must carry
    // across like any other.
    sqlx::raw_sql(
        "ALTER TABLE calls ADD COLUMN purpose TEXT; ALTER TABLE calls ADD COLUMN request_hash TEXT",
    )
    .execute(store.pool())
    .await
    .expect("purpose ahead");

    // Records at version 15: June's and now's through the record writer (a call's sole
    // attempt kept in its row), and one from 1970.
    let sink = seam_store::record_sink(&s.url, Arc::new(store.clone())).expect("sink");
    let mut june = records("june", JUNE_15, 4);
    let mut solo = sample_call("call_solo", JUNE_15 + 100, "part");
    solo.purpose = seam_vocab::Purpose::Eval;
    solo.request_hash = Some("00ff00ff00ff00ff".into());
    june.attempts.push(sole_attempt(&mut solo, false));
    june.calls.push(solo.clone());
    let june = Arc::new(june);
    sink.write(june.clone(), Priority::Normal)
        .await
        .expect("write june");
    let now = Arc::new(records("now", seam_store::now_ms() - 1_000, 3));
    sink.write(now.clone(), Priority::Normal)
        .await
        .expect("write now");
    let early = records("early", 60_000_000, 1);
    store.insert_batch(&early).await.expect("insert early");
    let ids: Vec<String> = june
        .calls
        .iter()
        .chain(&now.calls)
        .chain(&early.calls)
        .map(|c| c.id.clone())
        .collect();
    let mut before = Vec::new();
    for id in &ids {
        before.push((
            store.get_call(id).await.expect("get"),
            store.get_stream(id).await.expect("stream"),
            store.get_content(id).await.expect("content"),
        ));
    }
    let trace = sample_call("x", 0, "t").trace_id.expect("trace");
    let trace_before = store.trace(&trace).await.expect("trace");

    let said = Mutex::new(Vec::<String>::new());
    let progress = |line: &str| said.lock().expect("lines").push(line.to_string());
    assert_eq!(
        store.migrate_with(&progress).await.expect("migrate"),
        seam_store::SCHEMA_VERSION
    );
    let said = said.into_inner().expect("lines");
    assert!(
        said.iter().any(
            |l| l.starts_with("migration 16: calls: 9 of 9 rows moved into monthly partitions")
        ),
        "{said:#?}"
    );
    assert!(
        said.iter()
            .any(|l| l.starts_with("migration 16: attempts: 16 of 16 rows moved")),
        "{said:#?}"
    );

    for t in ["calls", "attempts", "streams", "contents"] {
        let kind: String = sqlx::query_scalar(
            "SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1::text)",
        )
        .bind(t)
        .fetch_one(store.pool())
        .await
        .expect("relkind");
        assert_eq!(kind, "p", "{t}");
        assert!(exists(&store, &format!("{t}_p202506")).await, "{t}");
        assert!(exists(&store, &format!("{t}_default")).await, "{t}");
    }
    assert_eq!(count(&store, "SELECT COUNT(*) FROM calls_p202506").await, 5);
    // Each month that holds calls gets its partition, 1970's too.
    assert_eq!(count(&store, "SELECT COUNT(*) FROM calls_p197001").await, 1);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM calls_default").await, 0);
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() \
         AND tablename IN ('calls', 'attempts', 'streams', 'contents') ORDER BY 1",
    )
    .fetch_all(store.pool())
    .await
    .expect("indexes");
    assert_eq!(
        indexes,
        [
            "attempts_pkey",
            "calls_created",
            "calls_pkey",
            "calls_trace",
            "contents_created",
            "contents_pkey",
            "streams_created",
            "streams_pkey"
        ]
    );

    // Every record reads back as it did, through the view of attempts made again.
    for (id, was) in ids.iter().zip(&before) {
        let is = (
            store.get_call(id).await.expect("get"),
            store.get_stream(id).await.expect("stream"),
            store.get_content(id).await.expect("content"),
        );
        assert_eq!(&is, was, "{id}");
    }
    assert_eq!(store.trace(&trace).await.expect("trace"), trace_before);
    let (solo_back, tries) = store
        .get_call("call_solo")
        .await
        .expect("get")
        .expect("solo");
    assert_eq!((solo_back, tries.len()), (solo, 1));

    // Written again after the change, a batch is stored once.
    sink.write(now.clone(), Priority::Normal)
        .await
        .expect("write again");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM calls").await, 9);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM attempts").await, 16);
    assert_eq!(
        store.migrate().await.expect("again"),
        seam_store::SCHEMA_VERSION
    );
    s.drop(store).await;
}
