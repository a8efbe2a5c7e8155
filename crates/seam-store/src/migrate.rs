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

/// The newest schema this build knows.
pub const LATEST: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// The schema version a database is at (0 when it has none).
pub(crate) async fn applied(pool: &AnyPool, postgres: bool) -> Result<i64, sqlx::Error> {
    let has_table: i64 = sqlx::query_scalar(if postgres {
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'"
    } else {
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    })
    .fetch_one(pool)
    .await?;
    if has_table == 0 {
        return Ok(0);
    }
    sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
        .fetch_one(pool)
        .await
}

pub(crate) async fn run(pool: &AnyPool, postgres: bool) -> Result<i64, sqlx::Error> {
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
        let mut tx = crate::sql::begin_write(pool, !postgres).await?;
        if postgres {
            // Two `seam migrate` at once: the second waits, then finds the work done.
            sqlx::query("SELECT pg_advisory_xact_lock(7474001)")
                .execute(&mut *tx)
                .await?;
            let done: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM schema_migrations WHERE version = $1")
                    .bind(*version)
                    .fetch_one(&mut *tx)
                    .await?;
            if done > 0 {
                current = *version;
                continue;
            }
        }
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
