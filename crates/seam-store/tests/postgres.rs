//! The conformance suite on PostgreSQL, in a schema of its own that is dropped afterwards.
//! Fails (never skips) when PostgreSQL is unreachable: set SEAM_TEST_POSTGRES to point
//! elsewhere than postgres://postgres@127.0.0.1:5432/test.

use sqlx::Executor;

#[tokio::test]
async fn postgres_passes_the_conformance_suite() {
    let base = std::env::var("SEAM_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("seam_conformance_{}", std::process::id());
    let admin = seam_store::SqlStore::connect(&base).await.unwrap_or_else(|e| {
        panic!("PostgreSQL at {base} is unreachable ({e}); start it (see README: Tests) or set SEAM_TEST_POSTGRES")
    });
    admin
        .pool()
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        )))
        .await
        .expect("create schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
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
    store.pool().close().await;
    admin
        .pool()
        .execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .await
        .expect("drop schema");
}

#[tokio::test]
async fn a_refused_connection_is_said_at_once() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://postgres:secret-pw@127.0.0.1:{port}/test");
    let started = std::time::Instant::now();
    let err = match seam_store::open_for_use(&url, 4).await {
        Ok(_) => panic!("connected to a port nothing listens on"),
        Err(e) => e.to_string(),
    };
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}: {err}",
        started.elapsed()
    );
    assert!(err.to_lowercase().contains("connection refused"), "{err}");
    assert!(!err.contains("secret-pw"), "{err}");
}
