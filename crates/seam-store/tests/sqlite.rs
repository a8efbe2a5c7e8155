//! The conformance suite on the embedded SQLite backend.

#[tokio::test]
async fn sqlite_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("seam.db").display());
    let store = seam_store::open(&url).await.expect("open");
    seam_store::conformance::run_all(&store).await;
    // Records go through a writer with a connection of its own.
    let sink = seam_store::record_sink(&url, std::sync::Arc::new(store.clone())).expect("sink");
    seam_store::conformance::sink_round_trip(&store, sink).await;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .expect("pragma");
    assert_eq!(mode, "wal");
}
