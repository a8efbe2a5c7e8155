//! Versioned schema migrations, embedded in the binary and applied in order, once each.

use crate::now_ms;
use sqlx::AnyPool;

/// One schema change: SQL per backend (most are the same text on both), and on PostgreSQL
/// optionally work that SQL alone cannot say well (moving rows across in batches, with
/// progress), run after the SQL in the same transaction.
pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
    pub postgres_then: Option<PgStep>,
}

/// Work a PostgreSQL migration does in Rust.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PgStep {
    /// Migration 16: the record tables become partitioned by month (`sql/partitions.rs`).
    PartitionRecords,
}

/// A migration whose SQL is the same on both backends.
const fn both(version: i64, name: &'static str, sql: &'static str) -> Migration {
    Migration {
        version,
        name,
        sqlite: sql,
        postgres: sql,
        postgres_then: None,
    }
}

/// What a long migration says while it runs (`seam migrate` prints it on standard error).
pub type Progress<'a> = &'a (dyn Fn(&str) + Sync);

/// In order. Append only: a released migration never changes.
pub(crate) const MIGRATIONS: &[Migration] = &[
    both(1, "init", include_str!("../migrations/0001_init.sql")),
    both(
        2,
        "retries_and_events",
        include_str!("../migrations/0002_retries_and_events.sql"),
    ),
    both(
        3,
        "key_limits",
        include_str!("../migrations/0003_key_limits.sql"),
    ),
    both(
        4,
        "served_models",
        include_str!("../migrations/0004_served_models.sql"),
    ),
    both(
        5,
        "users_and_audit",
        include_str!("../migrations/0005_users_and_audit.sql"),
    ),
    both(
        6,
        "releases",
        include_str!("../migrations/0006_releases.sql"),
    ),
    both(
        7,
        "sessions",
        include_str!("../migrations/0007_sessions.sql"),
    ),
    both(8, "streams", include_str!("../migrations/0008_streams.sql")),
    both(
        9,
        "record_indexes",
        include_str!("../migrations/0009_record_indexes.sql"),
    ),
    both(
        10,
        "inline_attempts",
        include_str!("../migrations/0010_inline_attempts.sql"),
    ),
    both(11, "roles", include_str!("../migrations/0011_roles.sql")),
    both(
        12,
        "audit_keyed",
        include_str!("../migrations/0012_audit_keyed.sql"),
    ),
    both(
        13,
        "release_and_unpriced",
        include_str!("../migrations/0013_release_and_unpriced.sql"),
    ),
    both(
        14,
        "upstream_request_id",
        include_str!("../migrations/0014_upstream_request_id.sql"),
    ),
    both(
        15,
        "contents",
        include_str!("../migrations/0015_contents.sql"),
    ),
    Migration {
        version: 16,
        name: "retention",
        sqlite: include_str!("../migrations/0016_retention.sql"),
        postgres: include_str!("../migrations/0016_retention.sql"),
        postgres_then: Some(PgStep::PartitionRecords),
    },
    both(17, "evals", include_str!("../migrations/0017_evals.sql")),
    both(
        18,
        "eval_gates",
        include_str!("../migrations/0018_eval_gates.sql"),
    ),
    both(
        19,
        "eval_case_hash",
        include_str!("../migrations/0019_eval_case_hash.sql"),
    ),
    Migration {
        version: 20,
        name: "purpose",
        sqlite: include_str!("../migrations/0020_purpose.sql"),
        postgres: include_str!("../migrations/0020_purpose.postgres.sql"),
        postgres_then: None,
    },
    both(
        21,
        "ui_sessions",
        include_str!("../migrations/0021_ui_sessions.sql"),
    ),
    Migration {
        version: 22,
        name: "hours",
        sqlite: include_str!("../migrations/0022_hours.sql"),
        postgres: include_str!("../migrations/0022_hours.postgres.sql"),
        postgres_then: None,
    },
    both(
        23,
        "value_ledger",
        include_str!("../migrations/0023_value_ledger.sql"),
    ),
    both(
        24,
        "canaries",
        include_str!("../migrations/0024_canaries.sql"),
    ),
    both(
        25,
        "imported_hours",
        include_str!("../migrations/0025_imported_hours.sql"),
    ),
    Migration {
        version: 26,
        name: "request_hash",
        sqlite: include_str!("../migrations/0026_request_hash.sql"),
        postgres: include_str!("../migrations/0026_request_hash.postgres.sql"),
        postgres_then: None,
    },
    both(
        27,
        "failures",
        include_str!("../migrations/0027_failures.sql"),
    ),
];

/// The newest schema this build knows.
pub const LATEST: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

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

pub(crate) async fn run(
    pool: &AnyPool,
    postgres: bool,
    progress: Progress<'_>,
) -> Result<i64, sqlx::Error> {
    run_to(pool, postgres, LATEST, progress).await
}

/// Applies the migrations after the database's version, up to `last`.
pub(crate) async fn run_to(
    pool: &AnyPool,
    postgres: bool,
    last: i64,
    progress: Progress<'_>,
) -> Result<i64, sqlx::Error> {
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
    for m in MIGRATIONS
        .iter()
        .filter(|m| m.version > applied && m.version <= last)
    {
        let mut tx = crate::sql::begin_write(pool, !postgres).await?;
        if postgres {
            // Two `seam migrate` at once: the second waits, then finds the work done.
            sqlx::query("SELECT pg_advisory_xact_lock(7474001)")
                .execute(&mut *tx)
                .await?;
            let done: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM schema_migrations WHERE version = $1")
                    .bind(m.version)
                    .fetch_one(&mut *tx)
                    .await?;
            if done > 0 {
                current = m.version;
                continue;
            }
        }
        sqlx::raw_sql(if postgres { m.postgres } else { m.sqlite })
            .execute(&mut *tx)
            .await?;
        if let (true, Some(step)) = (postgres, m.postgres_then) {
            match step {
                PgStep::PartitionRecords => {
                    crate::sql::partitions::convert(&mut tx, crate::now_ms(), progress).await?
                }
            }
        }
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_ms) VALUES ($1, $2, $3)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        current = m.version;
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn memory_pool() -> AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .expect("in-memory SQLite")
    }

    #[tokio::test]
    async fn record_indexes_keep_the_attempts_written_before() {
        let pool = memory_pool().await;
        assert_eq!(run_to(&pool, false, 8, &|_| ()).await.expect("to 8"), 8);
        sqlx::raw_sql(
            "INSERT INTO attempts (id, call_id, seq, created_ms, tenant, trace_id, route, provider, model, \
             status, outcome, latency_ms, input_tokens, output_tokens, cost_usd, tokens_estimated) \
             VALUES ('att_a_1', 'call_a', 1, 5, 't', 'call_a', 'chat', 'p', 'm', 503, 'error', 1.5, 3, 0, 0.25, 1), \
                    ('att_a_2', 'call_a', 2, 6, 't', 'call_a', 'chat', 'p', 'm', 200, 'ok', 2.5, 3, 4, 0.5, 0)",
        )
        .execute(&pool)
        .await
        .expect("attempts at version 8");
        assert_eq!(run(&pool, false, &|_| ()).await.expect("to latest"), LATEST);
        let rows: Vec<(String, i64, String, f64)> = sqlx::query_as(
            "SELECT id, seq, outcome, cost_usd FROM attempts WHERE call_id = 'call_a' ORDER BY seq",
        )
        .fetch_all(&pool)
        .await
        .expect("attempts after");
        assert_eq!(
            rows,
            [
                ("att_a_1".to_string(), 1, "error".to_string(), 0.25),
                ("att_a_2".to_string(), 2, "ok".to_string(), 0.5)
            ]
        );
        let indexes: Vec<(String,)> = sqlx::query_as(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('attempts', 'calls') ORDER BY name",
        )
        .fetch_all(&pool)
        .await
        .expect("indexes");
        let names: Vec<&str> = indexes.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "calls_created",
                "calls_trace",
                "sqlite_autoindex_attempts_1",
                "sqlite_autoindex_calls_1"
            ],
            "one key per attempt; no index on call_id alone"
        );
    }

    #[tokio::test]
    async fn roles_keep_admins_admins_and_give_others_no_tenant() {
        let pool = memory_pool().await;
        assert_eq!(run_to(&pool, false, 10, &|_| ()).await.expect("to 10"), 10);
        sqlx::raw_sql(
            "INSERT INTO users (id, name, token_hash, admin, created_ms) VALUES \
             ('usr_a', 'ana', 'h1', 1, 1), ('usr_b', 'ben', 'h2', 0, 2)",
        )
        .execute(&pool)
        .await
        .expect("users at version 10");
        assert_eq!(run(&pool, false, &|_| ()).await.expect("to latest"), LATEST);
        let users: Vec<(String, i64)> =
            sqlx::query_as("SELECT name, admin FROM users ORDER BY name")
                .fetch_all(&pool)
                .await
                .expect("users after");
        assert_eq!(users, [("ana".to_string(), 1), ("ben".to_string(), 0)]);
        let roles: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM user_roles")
            .fetch_one(&pool)
            .await
            .expect("roles");
        assert_eq!(
            roles, 0,
            "a user from before roles holds none on any tenant"
        );
    }

    #[tokio::test]
    async fn calls_from_before_release_and_unpriced_read_as_priced_and_of_no_release() {
        let pool = memory_pool().await;
        assert_eq!(run_to(&pool, false, 12, &|_| ()).await.expect("to 12"), 12);
        // A call with its only attempt kept in its row, and one with an attempts row.
        sqlx::raw_sql(
            "INSERT INTO calls (id, created_ms, tenant, endpoint, route, stream, requested_model, status, \
             outcome, attempts, latency_ms, input_tokens, output_tokens, cost_usd, tokens_estimated, \
             attempt_model, attempt_created_ms, attempt_outcome, attempt_latency_ms) VALUES \
             ('call_a', 5, 't', 'chat.completions', 'chat', 0, 'chat', 200, 'ok', 1, 2.5, 3, 4, 0.5, 0, 'm', 5, 'ok', 2.5), \
             ('call_b', 6, 't', 'chat.completions', 'chat', 0, 'chat', 200, 'ok', 1, 2.5, 3, 4, 0.5, 0, NULL, NULL, NULL, NULL); \
             INSERT INTO attempts (id, call_id, seq, created_ms, tenant, route, provider, model, outcome, \
             latency_ms, input_tokens, output_tokens, cost_usd, tokens_estimated) VALUES \
             ('att_b_1', 'call_b', 1, 6, 't', 'chat', 'p', 'm', 'ok', 2.5, 3, 4, 0.5, 0)",
        )
        .execute(&pool)
        .await
        .expect("records at version 12");
        assert_eq!(run(&pool, false, &|_| ()).await.expect("to latest"), LATEST);
        let calls: Vec<(String, Option<String>, i64)> =
            sqlx::query_as("SELECT id, release_id, unpriced FROM calls ORDER BY id")
                .fetch_all(&pool)
                .await
                .expect("calls after");
        assert_eq!(
            calls,
            [("call_a".into(), None, 0), ("call_b".into(), None, 0)]
        );
        let attempts: Vec<(String, i64)> =
            sqlx::query_as("SELECT call_id, unpriced FROM attempt_rows ORDER BY call_id")
                .fetch_all(&pool)
                .await
                .expect("attempts after");
        assert_eq!(attempts, [("call_a".into(), 0), ("call_b".into(), 0)]);
    }
}
