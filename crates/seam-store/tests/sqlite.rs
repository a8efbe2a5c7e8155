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
