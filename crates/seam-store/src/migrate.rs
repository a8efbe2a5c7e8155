//! Versioned schema migrations, embedded in the binary and applied in order, once each.

use sqlx::AnyPool;

/// (version, name, SQL). Append only: a released migration never changes.
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/0001_init.sql")),
    (
        2,
        "retries_and_events",
        include_str!("../migrations/0002_retries_and_events.sql"),
    ),
    (
        3,
        "key_limits",
        include_str!("../migrations/0003_key_limits.sql"),
    ),
    (
        4,
        "served_models",
        include_str!("../migrations/0004_served_models.sql"),
    ),
    (
        5,
        "users_and_audit",
        include_str!("../migrations/0005_users_and_audit.sql"),
    ),
    (
        6,
        "releases",
        include_str!("../migrations/0006_releases.sql"),
    ),
    (
        7,
        "sessions",
        include_str!("../migrations/0007_sessions.sql"),
    ),
    (8, "streams", include_str!("../migrations/0008_streams.sql")),
];

pub(crate) async fn run(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)",
    )
    .execute(pool)
    .await?;
    let applied: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            .fetch_one(pool)
            .await?;
    let mut current = applied;
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > applied) {
        let mut tx = pool.begin().await?;
        sqlx::raw_sql(*sql).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_ms) VALUES ($1, $2, $3)",
        )
        .bind(*version)
        .bind(*name)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        current = *version;
    }
    Ok(current)
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
