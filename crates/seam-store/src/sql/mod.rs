//! The SQL backend. One code path over sqlx's `Any` driver, portable SQL with `$n`
//! placeholders; SQLite runs in WAL mode.

mod audit;
mod calls;
mod cells;
mod control;
mod export;
mod pg_sink;
mod rows;
mod scope;
mod sessions;
mod spend;
mod sqlite_insert;
mod sqlite_sink;
mod streams;

pub use pg_sink::PgSink;
pub use sqlite_sink::{SqliteSink, sqlite_file};

use crate::{
    ApprovalRecord, AttemptGroup, AttemptRecord, AuditRecord, CallGroup, CallQuery, CallRecord,
    DeployRecord, EventRecord, KeyRecord, ReleaseRecord, Result, ServedRecord, Store, StoreError,
    Tenants, UsageBy, UsageRow, UserRecord, migrate,
};
use async_trait::async_trait;
use rows::*;
use seam_vocab::Outcome;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, AssertSqlSafe, Executor, Row};

// Every dynamic string below only splices in the constant column lists of this file.

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

#[async_trait]
impl Store for SqlStore {
    async fn migrate(&self) -> Result<i64> {
        Ok(migrate::run(&self.pool, !self.sqlite).await?)
    }

    async fn insert_key(&self, k: &KeyRecord) -> Result<()> {
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        )))
        .bind(&k.id)
        .bind(&k.tenant)
        .bind(&k.name)
        .bind(&k.prefix)
        .bind(&k.hash)
        .bind(k.created_ms)
        .bind(k.revoked_ms)
        .bind(k.limits.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_keys(&self) -> Result<Vec<KeyRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {KEY_COLUMNS} FROM keys ORDER BY created_ms, id"
        )))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(key_from_row)
            .collect::<std::result::Result<_, _>>()?)
    }

    async fn key_by_hash(&self, hash: &str) -> Result<Option<KeyRecord>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {KEY_COLUMNS} FROM keys WHERE hash = $1"
        )))
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(key_from_row).transpose()?)
    }

    async fn revoke_key(&self, id_or_prefix: &str, now_ms: i64) -> Result<Vec<KeyRecord>> {
        if id_or_prefix.len() < 6 {
            return Err(StoreError::Invalid(
                "give a key id or at least 6 characters of its prefix".into(),
            ));
        }
        let matching: Vec<KeyRecord> = self
            .list_keys()
            .await?
            .into_iter()
            .filter(|k| k.revoked_ms.is_none())
            .filter(|k| k.is_named_by(id_or_prefix))
            .collect();
        if matching.len() > 1 {
            return Err(StoreError::Invalid(format!(
                "`{id_or_prefix}` matches {} keys; give the key id",
                matching.len()
            )));
        }
        for k in &matching {
            sqlx::query("UPDATE keys SET revoked_ms = $1 WHERE id = $2")
                .bind(now_ms)
                .bind(&k.id)
                .execute(&self.pool)
                .await?;
        }
        Ok(matching)
    }

    async fn insert_records(
        &self,
        calls: &[CallRecord],
        attempts: &[AttemptRecord],
        streams_: &[crate::StreamRecord],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        insert_rows(&mut tx, calls, self.sqlite).await?;
        insert_rows(&mut tx, attempts, self.sqlite).await?;
        insert_rows(&mut tx, streams_, self.sqlite).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_streams_in(
        &self,
        since_ms: i64,
        tenants: &Tenants,
    ) -> Result<Vec<crate::StreamRecord>> {
        self.db_list_streams(since_ms, tenants).await
    }

    async fn list_calls_in(&self, q: &CallQuery, tenants: &Tenants) -> Result<Vec<CallRecord>> {
        self.db_list_calls(q, tenants).await
    }

    async fn list_traces_in(
        &self,
        q: &crate::TraceQuery,
        tenants: &Tenants,
    ) -> Result<Vec<crate::TraceSummary>> {
        self.db_list_traces(q, tenants).await
    }

    async fn get_call(&self, id: &str) -> Result<Option<(CallRecord, Vec<AttemptRecord>)>> {
        let Some(row) = sqlx::query(AssertSqlSafe(format!(
            "SELECT {CALL_COLUMNS} FROM calls WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let call = call_from_row(&row)?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ATTEMPT_COLUMNS} FROM attempt_rows WHERE call_id = $1 ORDER BY seq"
        )))
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let attempts = rows
            .iter()
            .map(attempt_from_row)
            .collect::<std::result::Result<_, _>>()?;
        Ok(Some((call, attempts)))
    }

    async fn trace(&self, trace_id: &str) -> Result<(Vec<CallRecord>, Vec<AttemptRecord>)> {
        let calls = sqlx::query(AssertSqlSafe(format!(
            // Two halves, so that each can use its index: calls in a named trace (the partial
            // trace index), and the call that is a trace of its own (its id).
            "SELECT {CALL_COLUMNS} FROM calls WHERE trace_id = $1 AND trace_id <> id \
             UNION ALL SELECT {CALL_COLUMNS} FROM calls WHERE id = $1 AND trace_id = id \
             ORDER BY created_ms, id"
        )))
        .bind(trace_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(call_from_row)
        .collect::<std::result::Result<Vec<_>, _>>()?;
        let mut attempts = Vec::new();
        for c in &calls {
            let rows = sqlx::query(AssertSqlSafe(format!(
                "SELECT {ATTEMPT_COLUMNS} FROM attempt_rows WHERE call_id = $1 ORDER BY seq"
            )))
            .bind(c.id.as_str())
            .fetch_all(&self.pool)
            .await?;
            for r in &rows {
                attempts.push(attempt_from_row(r)?);
            }
        }
        Ok((calls, attempts))
    }

    async fn usage_in(
        &self,
        by: UsageBy,
        since_ms: i64,
        tenants: &Tenants,
    ) -> Result<Vec<UsageRow>> {
        let col = by.column();
        let within = scope::filter("tenant", 2, tenants);
        let (refused, failed) = (Outcome::Refused.as_str(), Outcome::Error.as_str());
        let query = sqlx::query(AssertSqlSafe(format!(
            "SELECT COALESCE({col}, '') AS k, COUNT(*) AS calls, \
             CAST(SUM(CASE WHEN outcome = '{refused}' THEN 1 ELSE 0 END) AS BIGINT) AS refused, \
             CAST(SUM(CASE WHEN outcome = '{failed}' THEN 1 ELSE 0 END) AS BIGINT) AS failed, \
             CAST(SUM(attempts) AS BIGINT) AS attempts, CAST(SUM(input_tokens) AS BIGINT) AS input_tokens, \
             CAST(SUM(output_tokens) AS BIGINT) AS output_tokens, SUM(cost_usd) AS cost_usd, \
             CAST(MAX(tokens_estimated) AS BIGINT) AS estimated, \
             CAST(SUM(unpriced) AS BIGINT) AS unpriced \
             FROM calls WHERE created_ms >= $1{within} GROUP BY COALESCE({col}, '') ORDER BY cost_usd DESC, k"
        )))
        .bind(since_ms);
        let rows = scope::bind(query, tenants).fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(|r| {
                Ok(UsageRow {
                    key: r.try_get("k")?,
                    calls: r.try_get("calls")?,
                    refused: r.try_get("refused")?,
                    failed: r.try_get("failed")?,
                    attempts: r.try_get("attempts")?,
                    input_tokens: r.try_get("input_tokens")?,
                    output_tokens: r.try_get("output_tokens")?,
                    cost_usd: r.try_get("cost_usd")?,
                    tokens_estimated: r.try_get::<i64, _>("estimated")? != 0,
                    unpriced_calls: r.try_get("unpriced")?,
                })
            })
            .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?)
    }

    async fn spend(&self, q: &crate::SpendQuery) -> Result<crate::Spend> {
        self.db_spend(q).await
    }

    async fn reliability_in(
        &self,
        since_ms: i64,
        tenants: &Tenants,
    ) -> Result<(Vec<CallGroup>, Vec<AttemptGroup>)> {
        let within = scope::filter("tenant", 2, tenants);
        let query = sqlx::query(AssertSqlSafe(format!(
            "SELECT route, outcome, COUNT(*) AS calls, \
             CAST(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END) AS BIGINT) AS dispatched, \
             CAST(SUM(attempts) AS BIGINT) AS attempts, SUM(cost_usd) AS cost_usd, \
             CAST(SUM(budget_exhausted) AS BIGINT) AS budget_exhausted \
             FROM calls WHERE created_ms >= $1{within} GROUP BY route, outcome ORDER BY route, outcome",
        )))
        .bind(since_ms);
        let calls = scope::bind(query, tenants)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(CallGroup {
                    route: r.try_get("route")?,
                    outcome: r.try_get("outcome")?,
                    calls: r.try_get("calls")?,
                    dispatched: r.try_get("dispatched")?,
                    attempts: r.try_get("attempts")?,
                    cost_usd: r.try_get("cost_usd")?,
                    budget_exhausted: r.try_get("budget_exhausted")?,
                })
            })
            .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?;
        let c_within = scope::filter("c.tenant", 2, tenants);
        let query = sqlx::query(AssertSqlSafe(format!(
            // Through the calls' time index: attempts are found by their call, not scanned.
            // Attempts kept in their call's row are read from it directly (through the view,
            // SQLite would build the whole union before joining).
            "SELECT route, provider, outcome, COALESCE(error_class, '') AS error_class, \
             COUNT(*) AS attempts, \
             CAST(SUM(CASE WHEN seq = 1 THEN 1 ELSE 0 END) AS BIGINT) AS first_attempts, \
             SUM(cost_usd) AS cost_usd FROM ( \
             SELECT a.route, a.provider, a.outcome, a.error_class, a.seq, a.cost_usd \
             FROM calls c JOIN attempts a ON a.call_id = c.id WHERE c.created_ms >= $1{c_within} \
             UNION ALL SELECT route, provider, attempt_outcome, attempt_error_class, 1, cost_usd \
             FROM calls WHERE created_ms >= $1 AND attempt_model IS NOT NULL{within}) AS a \
             GROUP BY route, provider, outcome, COALESCE(error_class, '') \
             ORDER BY route, provider, outcome",
        )))
        .bind(since_ms);
        let attempts = scope::bind(query, tenants)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(AttemptGroup {
                    route: r.try_get("route")?,
                    provider: r.try_get("provider")?,
                    outcome: r.try_get("outcome")?,
                    error_class: r.try_get("error_class")?,
                    attempts: r.try_get("attempts")?,
                    first_attempts: r.try_get("first_attempts")?,
                    cost_usd: r.try_get("cost_usd")?,
                })
            })
            .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?;
        Ok((calls, attempts))
    }

    async fn insert_user(&self, u: &UserRecord) -> Result<()> {
        self.db_insert_user(u).await
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>> {
        self.db_list_users().await
    }

    async fn user_by_token_hash(&self, hash: &str) -> Result<Option<UserRecord>> {
        self.db_user_by_token_hash(hash).await
    }

    async fn set_admin(&self, user_id: &str, admin: bool) -> Result<()> {
        self.db_set_admin(user_id, admin).await
    }

    async fn insert_role(&self, r: &crate::RoleRecord) -> Result<bool> {
        self.db_insert_role(r).await
    }

    async fn list_roles(&self) -> Result<Vec<crate::RoleRecord>> {
        self.db_list_roles().await
    }

    async fn append_audit(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        before: Option<String>,
        after: Option<String>,
        now_ms: i64,
    ) -> Result<AuditRecord> {
        self.db_append_audit(actor, action, subject, before, after, now_ms)
            .await
    }

    async fn list_audit(&self) -> Result<Vec<AuditRecord>> {
        self.db_list_audit().await
    }

    async fn audit_head(&self) -> Result<crate::audit::Head> {
        self.db_audit_head().await
    }

    async fn check_audit_key(&self) -> Result<()> {
        self.db_check_audit_key().await
    }

    async fn verify_audit(&self) -> Result<crate::audit::Verdict> {
        let chain = self.db_list_audit().await?;
        let rows = self.db_control_rows().await?;
        Ok(crate::audit::verify(
            &chain,
            &rows,
            self.audit_key.as_deref(),
        ))
    }

    async fn insert_release(&self, r: &ReleaseRecord) -> Result<bool> {
        self.db_insert_release(r).await
    }

    async fn get_release(&self, id: &str) -> Result<Option<ReleaseRecord>> {
        self.db_get_release(id).await
    }

    async fn list_releases(&self, prompt: &str) -> Result<Vec<ReleaseRecord>> {
        self.db_list_releases(prompt).await
    }

    async fn insert_approval(&self, a: &ApprovalRecord) -> Result<()> {
        self.db_insert_approval(a).await
    }

    async fn list_approvals(&self, release_id: &str) -> Result<Vec<ApprovalRecord>> {
        self.db_list_approvals(release_id).await
    }

    async fn insert_deploy(&self, d: &DeployRecord) -> Result<()> {
        self.db_insert_deploy(d).await
    }

    async fn list_deploys(&self, prompt: &str) -> Result<Vec<DeployRecord>> {
        self.db_list_deploys(prompt).await
    }

    async fn current_deploys(&self) -> Result<Vec<DeployRecord>> {
        self.db_current_deploys().await
    }

    async fn pin_session(
        &self,
        key: &crate::SessionKey,
        release_id: &str,
        now_ms: i64,
        ttl: crate::SessionTtl,
    ) -> Result<crate::Pinned> {
        self.db_pin_session(key, release_id, now_ms, ttl).await
    }

    async fn move_session(
        &self,
        key: &crate::SessionKey,
        from: &str,
        to: &str,
        now_ms: i64,
    ) -> Result<bool> {
        self.db_move_session(key, from, to, now_ms).await
    }

    async fn list_sessions(&self, q: &crate::SessionQuery) -> Result<Vec<crate::SessionRecord>> {
        self.db_list_sessions(q).await
    }

    async fn session_counts(&self, live_at_ms: i64) -> Result<Vec<crate::SessionCount>> {
        self.db_session_counts(live_at_ms).await
    }

    async fn list_served(&self) -> Result<Vec<ServedRecord>> {
        let rows = sqlx::query(
            "SELECT provider, requested_model, served_model, system_fingerprint, first_seen_ms, first_call_id \
             FROM served_models ORDER BY first_seen_ms",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                Ok(ServedRecord {
                    provider: r.try_get("provider")?,
                    requested_model: r.try_get("requested_model")?,
                    served_model: r.try_get("served_model")?,
                    system_fingerprint: r.try_get("system_fingerprint")?,
                    first_seen_ms: r.try_get("first_seen_ms")?,
                    first_call_id: r.try_get("first_call_id")?,
                })
            })
            .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?)
    }

    async fn insert_served(&self, s: &ServedRecord) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO served_models (provider, requested_model, served_model, system_fingerprint, first_seen_ms, first_call_id) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(s.provider.as_str())
        .bind(s.requested_model.as_str())
        .bind(s.served_model.as_str())
        .bind(s.system_fingerprint.as_str())
        .bind(s.first_seen_ms)
        .bind(s.first_call_id.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_event(&self, e: &EventRecord) -> Result<()> {
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO events ({EVENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        )))
        .bind(e.id.as_str())
        .bind(e.created_ms)
        .bind(e.kind.as_str())
        .bind(e.route.as_deref())
        .bind(e.provider.as_deref())
        .bind(e.message.as_str())
        .bind(e.details.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_events(&self, since_ms: i64, limit: i64) -> Result<Vec<EventRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE created_ms >= $1 ORDER BY created_ms, id LIMIT $2"
        )))
        .bind(since_ms)
        .bind(if limit <= 0 { 1000 } else { limit })
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(event_from_row)
            .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?)
    }

    async fn export_page(
        &self,
        kind: crate::ExportKind,
        after: &crate::ExportCursor,
        limit: i64,
    ) -> Result<(Vec<serde_json::Value>, Option<crate::ExportCursor>)> {
        self.db_export_page(kind, after, limit).await
    }
}
