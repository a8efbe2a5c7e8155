//! The SQL backend. One code path over sqlx's `Any` driver, portable SQL with `$n`
//! placeholders; SQLite runs in WAL mode. Each domain's trait is implemented next to its
//! SQL: `calls.rs` (`Records`), `reports.rs`, `keys.rs`, `users.rs`, `audit.rs`,
//! `releases.rs`, `sessions.rs`, `events.rs`, `canaries.rs`, `usage.rs`, `failures.rs`; rows map to records in `from_row.rs`.

mod audit;
mod calls;
mod canaries;
mod cells;
mod contents;
mod evals;
mod events;
mod export;
mod failures;
mod from_row;
mod keys;
mod months;
mod pace;
pub(crate) mod partitions;
mod pg_copy;
mod pg_sink;
mod releases;
mod reports;
mod retention;
mod rows;
mod scope;
mod sessions;
mod sqlite_insert;
mod sqlite_sink;
mod streams;
mod ui_sessions;
mod usage;
mod users;

pub use pg_sink::PgSink;
pub use sqlite_sink::{SqliteSink, sqlite_file};

use crate::{Result, Store, StoreError, migrate};
use async_trait::async_trait;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

#[derive(Clone)]
pub struct SqlStore {
    pool: AnyPool,
    sqlite: bool,
    /// Signs audit records; never stored.
    audit_key: Option<std::sync::Arc<crate::audit::AuditKey>>,
}

/// A transaction that will write. On SQLite it takes the write lock up front: a deferred one
/// that read first fails at once ("database is locked", no busy wait) when another process
/// committed in between, e.g. a gateway writing records while `seam serve` starts.
pub(crate) async fn begin_write(
    pool: &AnyPool,
    sqlite: bool,
) -> std::result::Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
    if sqlite {
        pool.begin_with("BEGIN IMMEDIATE").await
    } else {
        pool.begin().await
    }
}

/// How long connecting (and, later, waiting for a pooled connection) may take.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// One connection, made and closed before the pool is: the pool retries a refused connection
/// until its timeout (30 s) and then says only "pool timed out"; this says what went wrong
/// (connection refused, unknown database, authentication) at once.
async fn probe(url: &str) -> Result<()> {
    use sqlx::Connection;
    match tokio::time::timeout(CONNECT_TIMEOUT, sqlx::AnyConnection::connect(url)).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            Ok(())
        }
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(StoreError::Invalid(format!(
            "could not connect to the database within {} s",
            CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

impl SqlStore {
    /// Connects without migrating. `sqlite://PATH` creates the file when missing.
    pub async fn connect(url: &str) -> Result<SqlStore> {
        Self::connect_with(url, 8).await
    }

    /// As [`SqlStore::connect`], with a PostgreSQL pool of `max_connections`.
    pub async fn connect_with(url: &str, max_connections: u32) -> Result<SqlStore> {
        sqlx::any::install_default_drivers();
        let sqlite = url.starts_with("sqlite:");
        let url = if sqlite && !url.contains('?') && !url.contains(":memory:") {
            format!("{url}?mode=rwc")
        } else {
            url.to_string()
        };
        if !sqlite {
            probe(&url).await?;
        }
        let pool = AnyPoolOptions::new()
            // One SQLite connection: writes serialize anyway, and one page cache stays warm.
            .max_connections(if sqlite { 1 } else { max_connections.max(1) })
            .acquire_timeout(CONNECT_TIMEOUT)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA cache_size = -16384;")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        Ok(SqlStore {
            pool,
            sqlite,
            audit_key: None,
        })
    }

    /// This store with `SEAM_AUDIT_KEY`: its audit records are signed with it, and verified.
    pub fn with_audit_key(mut self, key: Option<crate::audit::AuditKey>) -> SqlStore {
        self.audit_key = key.map(std::sync::Arc::new);
        self
    }

    /// A transaction that will write (see [`begin_write`]).
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(begin_write(&self.pool, self.sqlite).await?)
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn is_sqlite(&self) -> bool {
        self.sqlite
    }

    /// The schema version the database is at (0 for a new one).
    pub async fn schema_version(&self) -> Result<i64> {
        Ok(migrate::applied(&self.pool, !self.sqlite).await?)
    }
}

impl SqlStore {
    /// [`Store::migrate`], saying what a long migration is doing through `progress`.
    pub async fn migrate_with(&self, progress: migrate::Progress<'_>) -> Result<i64> {
        let version = migrate::run(&self.pool, !self.sqlite, progress).await?;
        // Each `seam migrate` also makes the coming months' partitions (PostgreSQL), so that
        // a store whose gateways were stopped for months finds them there at start.
        for name in crate::Retention::prepare_partitions(self, crate::now_ms()).await? {
            progress(&format!("made the partition {name}"));
        }
        Ok(version)
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn migrate(&self) -> Result<i64> {
        self.migrate_with(&|_| ()).await
    }
}
