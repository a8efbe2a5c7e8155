//! The conformance suite on the embedded SQLite backend.

#[tokio::test]
async fn sqlite_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("seam.db").display());
    let store = seam_store::open(&url).await.expect("open");
    seam_store::conformance::run_all(&store).await;
    // Records go through a writer of the backend's own, and through the store's pool.
    let shared = std::sync::Arc::new(store.clone());
    let sink = seam_store::record_sink(&url, shared.clone()).expect("sink");
    seam_store::conformance::sink_round_trip(&store, sink, 50_000_000).await;
    let pooled = std::sync::Arc::new(seam_store::StoreSink(shared));
    seam_store::conformance::sink_round_trip(&store, pooled, 50_001_000).await;
    seam_store::conformance::audit_chain(&store).await;
    seam_store::conformance::unknown_words_are_errors(&store).await;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .expect("pragma");
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn sqlite_retention_takes_one_lease_holder_and_deletes_in_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("seam.db").display());
    let store = seam_store::open(&url).await.expect("open");
    seam_store::conformance::leases_one_holder_at_a_time(&store).await;
    seam_store::conformance::expired_records_go_in_batches(&store).await;
    seam_store::conformance::failures_expire_with_records(&store).await;
}

/// The record writer copies its WAL back into the database every ~300 pages, so that no
/// single commit spends long doing it (see `sqlite_sink::WAL_AUTOCHECKPOINT`): after some
/// 2,000 pages of batches the WAL file has never grown past a few hundred pages. At SQLite's
/// default (1,000 pages) it would hold over 4 MB.
#[tokio::test]
async fn the_record_writer_keeps_its_wal_small() {
    use seam_store::conformance::{sample_call, sole_attempt};
    use seam_store::{Priority, RecordBatch};
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("seam.db");
    let url = format!("sqlite://{}", db.display());
    let store = std::sync::Arc::new(seam_store::open(&url).await.expect("open"));
    let sink = seam_store::record_sink(&url, store.clone()).expect("sink");
    for batch in 0..100 {
        let mut calls: Vec<_> = (0..256)
            .map(|i| sample_call(&format!("call_wal_{batch}_{i}"), 1_000 * batch + i, "wal"))
            .collect();
        let attempts = calls.iter_mut().map(|c| sole_attempt(c, false)).collect();
        let b = RecordBatch {
            calls,
            attempts,
            streams: Vec::new(),
            contents: Vec::new(),
        };
        sink.write(std::sync::Arc::new(b), Priority::Normal)
            .await
            .expect("write");
    }
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(store.pool())
        .await
        .expect("page_count");
    assert!(pages > 1_800, "the batches took only {pages} pages");
    let wal = std::fs::metadata(dir.path().join("seam.db-wal"))
        .expect("wal")
        .len();
    assert!(wal < 2_000_000, "the WAL grew to {wal} bytes");
}
