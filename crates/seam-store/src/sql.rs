//! The SQL backend. One code path over sqlx's `Any` driver, portable SQL with `$n`
//! placeholders; SQLite runs in WAL mode.

use crate::{
    ApprovalRecord, AttemptGroup, AttemptRecord, AuditRecord, CallGroup, CallQuery, CallRecord,
    DeployRecord, EventRecord, KeyRecord, ReleaseRecord, Result, ServedRecord, Store, StoreError,
    UsageBy, UsageRow, UserRecord, migrate,
};
use async_trait::async_trait;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, AssertSqlSafe, Executor, Row};

// Every dynamic string below only splices in the constant column lists of this file.

/// Rows per INSERT statement. A batch is split greedily into these sizes so that only four
/// statement shapes per table exist and each is prepared once and cached; 64 rows keeps the
/// bound parameters far under SQLite's and PostgreSQL's limits.
const STATEMENT_ROWS: [usize; 4] = [64, 16, 4, 1];

/// Splits `items` into consecutive chunks of the sizes in [`STATEMENT_ROWS`].
fn statement_chunks<T>(mut items: &[T]) -> Vec<&[T]> {
    let mut out = Vec::new();
    for size in STATEMENT_ROWS {
        while items.len() >= size {
            let (head, rest) = items.split_at(size);
            out.push(head);
            items = rest;
        }
    }
    out
}

#[derive(Clone)]
pub struct SqlStore {
    pool: AnyPool,
    sqlite: bool,
}

impl SqlStore {
    /// Connects without migrating. `sqlite://PATH` creates the file when missing.
    pub async fn connect(url: &str) -> Result<SqlStore> {
        sqlx::any::install_default_drivers();
        let sqlite = url.starts_with("sqlite:");
        let url = if sqlite && !url.contains('?') && !url.contains(":memory:") {
            format!("{url}?mode=rwc")
        } else {
            url.to_string()
        };
        let pool = AnyPoolOptions::new()
            // One SQLite connection: writes serialize anyway, and one page cache stays warm.
            .max_connections(if sqlite { 1 } else { 8 })
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
        Ok(SqlStore { pool, sqlite })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

fn flag(b: bool) -> i64 {
    b as i64
}

fn call_from_row(r: &AnyRow) -> std::result::Result<CallRecord, sqlx::Error> {
    Ok(CallRecord {
        id: r.try_get("id")?,
        created_ms: r.try_get("created_ms")?,
        tenant: r.try_get("tenant")?,
        key_id: r.try_get("key_id")?,
        trace_id: r.try_get("trace_id")?,
        session_id: r.try_get("session_id")?,
        endpoint: r.try_get("endpoint")?,
        route: r.try_get("route")?,
        stream: r.try_get::<i64, _>("stream")? != 0,
        requested_model: r.try_get("requested_model")?,
        provider: r.try_get("provider")?,
        served_model: r.try_get("served_model")?,
        system_fingerprint: r.try_get("system_fingerprint")?,
        status: r.try_get("status")?,
        outcome: r.try_get("outcome")?,
        error_class: r.try_get("error_class")?,
        error_message: r.try_get("error_message")?,
        attempts: r.try_get("attempts")?,
        latency_ms: r.try_get("latency_ms")?,
        ttfb_ms: r.try_get("ttfb_ms")?,
        input_tokens: r.try_get("input_tokens")?,
        output_tokens: r.try_get("output_tokens")?,
        cost_usd: r.try_get("cost_usd")?,
        tokens_estimated: r.try_get::<i64, _>("tokens_estimated")? != 0,
        budget_exhausted: r.try_get::<i64, _>("budget_exhausted")? != 0,
    })
}

fn attempt_from_row(r: &AnyRow) -> std::result::Result<AttemptRecord, sqlx::Error> {
    Ok(AttemptRecord {
        id: r.try_get("id")?,
        call_id: r.try_get("call_id")?,
        seq: r.try_get("seq")?,
        created_ms: r.try_get("created_ms")?,
        tenant: r.try_get("tenant")?,
        trace_id: r.try_get("trace_id")?,
        route: r.try_get("route")?,
        provider: r.try_get("provider")?,
        model: r.try_get("model")?,
        served_model: r.try_get("served_model")?,
        system_fingerprint: r.try_get("system_fingerprint")?,
        status: r.try_get("status")?,
        outcome: r.try_get("outcome")?,
        error_class: r.try_get("error_class")?,
        error_body: r.try_get("error_body")?,
        latency_ms: r.try_get("latency_ms")?,
        ttfb_ms: r.try_get("ttfb_ms")?,
        input_tokens: r.try_get("input_tokens")?,
        output_tokens: r.try_get("output_tokens")?,
        cost_usd: r.try_get("cost_usd")?,
        tokens_estimated: r.try_get::<i64, _>("tokens_estimated")? != 0,
    })
}

fn release_from_row(r: &AnyRow) -> std::result::Result<ReleaseRecord, sqlx::Error> {
    Ok(ReleaseRecord {
        id: r.try_get("id")?,
        prompt: r.try_get("prompt")?,
        content: r.try_get("content")?,
        author: r.try_get("author")?,
        created_ms: r.try_get("created_ms")?,
    })
}

fn user_from_row(r: &AnyRow) -> std::result::Result<UserRecord, sqlx::Error> {
    Ok(UserRecord {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        token_hash: r.try_get("token_hash")?,
        admin: r.try_get::<i64, _>("admin")? != 0,
        created_ms: r.try_get("created_ms")?,
    })
}

fn key_from_row(r: &AnyRow) -> std::result::Result<KeyRecord, sqlx::Error> {
    Ok(KeyRecord {
        id: r.try_get("id")?,
        tenant: r.try_get("tenant")?,
        name: r.try_get("name")?,
        prefix: r.try_get("prefix")?,
        hash: r.try_get("hash")?,
        created_ms: r.try_get("created_ms")?,
        revoked_ms: r.try_get("revoked_ms")?,
        limits: r.try_get("limits")?,
    })
}

const CALL_COLUMNS: &str = "id, created_ms, tenant, key_id, trace_id, session_id, endpoint, route, stream, requested_model, provider, served_model, system_fingerprint, status, outcome, error_class, error_message, attempts, latency_ms, ttfb_ms, input_tokens, output_tokens, cost_usd, tokens_estimated, budget_exhausted";
const ATTEMPT_COLUMNS: &str = "id, call_id, seq, created_ms, tenant, trace_id, route, provider, model, served_model, system_fingerprint, status, outcome, error_class, error_body, latency_ms, ttfb_ms, input_tokens, output_tokens, cost_usd, tokens_estimated";
const EVENT_COLUMNS: &str = "id, created_ms, kind, route, provider, message, details";
const KEY_COLUMNS: &str = "id, tenant, name, prefix, hash, created_ms, revoked_ms, limits";

/// `INSERT INTO table (cols) VALUES (..), (..)` for `rows` rows. PostgreSQL wants numbered
/// placeholders; SQLite binds plain `?` much faster in long statements.
fn insert_sql(table: &str, columns: &str, rows: usize, sqlite: bool) -> String {
    let width = columns.split(',').count();
    let mut sql = format!("INSERT INTO {table} ({columns}) VALUES ");
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..width {
            if c > 0 {
                sql.push_str(", ");
            }
            if sqlite {
                sql.push('?');
            } else {
                sql.push('$');
                sql.push_str(&(r * width + c + 1).to_string());
            }
        }
        sql.push(')');
    }
    sql
}

#[async_trait]
impl Store for SqlStore {
    async fn migrate(&self) -> Result<i64> {
        Ok(migrate::run(&self.pool).await?)
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
            .filter(|k| k.id == id_or_prefix || k.prefix.starts_with(id_or_prefix))
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

    async fn insert_records(&self, calls: &[CallRecord], attempts: &[AttemptRecord]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for chunk in statement_chunks(calls) {
            let mut q = sqlx::query(AssertSqlSafe(insert_sql(
                "calls",
                CALL_COLUMNS,
                chunk.len(),
                self.sqlite,
            )));
            for c in chunk {
                q = q
                    .bind(c.id.as_str())
                    .bind(c.created_ms)
                    .bind(c.tenant.as_str())
                    .bind(c.key_id.as_deref())
                    .bind(c.trace_id.as_deref())
                    .bind(c.session_id.as_deref())
                    .bind(c.endpoint.as_str())
                    .bind(c.route.as_str())
                    .bind(flag(c.stream))
                    .bind(c.requested_model.as_str())
                    .bind(c.provider.as_deref())
                    .bind(c.served_model.as_deref())
                    .bind(c.system_fingerprint.as_deref())
                    .bind(c.status)
                    .bind(c.outcome.as_str())
                    .bind(c.error_class.as_deref())
                    .bind(c.error_message.as_deref())
                    .bind(c.attempts)
                    .bind(c.latency_ms)
                    .bind(c.ttfb_ms)
                    .bind(c.input_tokens)
                    .bind(c.output_tokens)
                    .bind(c.cost_usd)
                    .bind(flag(c.tokens_estimated))
                    .bind(flag(c.budget_exhausted));
            }
            q.execute(&mut *tx).await?;
        }
        for chunk in statement_chunks(attempts) {
            let mut q = sqlx::query(AssertSqlSafe(insert_sql(
                "attempts",
                ATTEMPT_COLUMNS,
                chunk.len(),
                self.sqlite,
            )));
            for a in chunk {
                q = q
                    .bind(a.id.as_str())
                    .bind(a.call_id.as_str())
                    .bind(a.seq)
                    .bind(a.created_ms)
                    .bind(a.tenant.as_str())
                    .bind(a.trace_id.as_deref())
                    .bind(a.route.as_str())
                    .bind(a.provider.as_str())
                    .bind(a.model.as_str())
                    .bind(a.served_model.as_deref())
                    .bind(a.system_fingerprint.as_deref())
                    .bind(a.status)
                    .bind(a.outcome.as_str())
                    .bind(a.error_class.as_deref())
                    .bind(a.error_body.as_deref())
                    .bind(a.latency_ms)
                    .bind(a.ttfb_ms)
                    .bind(a.input_tokens)
                    .bind(a.output_tokens)
                    .bind(a.cost_usd)
                    .bind(flag(a.tokens_estimated));
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn list_calls(&self, q: &CallQuery) -> Result<Vec<CallRecord>> {
        let limit = if q.limit <= 0 { 1000 } else { q.limit };
        let rows = match &q.tenant {
            Some(t) => {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT {CALL_COLUMNS} FROM calls WHERE created_ms >= $1 AND tenant = $2 ORDER BY created_ms DESC, id DESC LIMIT $3"
                )))
                .bind(q.since_ms)
                .bind(t)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT {CALL_COLUMNS} FROM calls WHERE created_ms >= $1 ORDER BY created_ms DESC, id DESC LIMIT $2"
                )))
                .bind(q.since_ms)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
        };
        Ok(rows
            .iter()
            .map(call_from_row)
            .collect::<std::result::Result<_, _>>()?)
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
            "SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE call_id = $1 ORDER BY seq"
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
            "SELECT {CALL_COLUMNS} FROM calls WHERE trace_id = $1 ORDER BY created_ms, id"
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
                "SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE call_id = $1 ORDER BY seq"
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

    async fn usage(&self, by: UsageBy, since_ms: i64) -> Result<Vec<UsageRow>> {
        let col = by.column();
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT COALESCE({col}, '') AS k, COUNT(*) AS calls, \
             CAST(SUM(CASE WHEN outcome = 'refused' THEN 1 ELSE 0 END) AS BIGINT) AS refused, \
             CAST(SUM(CASE WHEN outcome = 'error' THEN 1 ELSE 0 END) AS BIGINT) AS failed, \
             CAST(SUM(attempts) AS BIGINT) AS attempts, CAST(SUM(input_tokens) AS BIGINT) AS input_tokens, \
             CAST(SUM(output_tokens) AS BIGINT) AS output_tokens, SUM(cost_usd) AS cost_usd, \
             CAST(MAX(tokens_estimated) AS BIGINT) AS estimated \
             FROM calls WHERE created_ms >= $1 GROUP BY COALESCE({col}, '') ORDER BY cost_usd DESC, k"
        )))
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
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
                })
            })
            .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?)
    }

    async fn reliability(&self, since_ms: i64) -> Result<(Vec<CallGroup>, Vec<AttemptGroup>)> {
        let calls = sqlx::query(
            "SELECT route, outcome, COUNT(*) AS calls, \
             CAST(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END) AS BIGINT) AS dispatched, \
             CAST(SUM(attempts) AS BIGINT) AS attempts, SUM(cost_usd) AS cost_usd, \
             CAST(SUM(budget_exhausted) AS BIGINT) AS budget_exhausted \
             FROM calls WHERE created_ms >= $1 GROUP BY route, outcome ORDER BY route, outcome",
        )
        .bind(since_ms)
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
        let attempts = sqlx::query(
            // Through the calls' time index: attempts are found by their call, not scanned.
            "SELECT a.route AS route, a.provider AS provider, a.outcome AS outcome, \
             COALESCE(a.error_class, '') AS error_class, COUNT(*) AS attempts, \
             CAST(SUM(CASE WHEN a.seq = 1 THEN 1 ELSE 0 END) AS BIGINT) AS first_attempts, \
             SUM(a.cost_usd) AS cost_usd \
             FROM calls c JOIN attempts a ON a.call_id = c.id WHERE c.created_ms >= $1 \
             GROUP BY a.route, a.provider, a.outcome, COALESCE(a.error_class, '') \
             ORDER BY a.route, a.provider, a.outcome",
        )
        .bind(since_ms)
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
        sqlx::query(
            "INSERT INTO users (id, name, token_hash, admin, created_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(u.id.as_str())
        .bind(u.name.as_str())
        .bind(u.token_hash.as_str())
        .bind(flag(u.admin))
        .bind(u.created_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>> {
        let rows = sqlx::query(
            "SELECT id, name, token_hash, admin, created_ms FROM users ORDER BY created_ms, id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(user_from_row)
            .collect::<std::result::Result<Vec<_>, _>>()?)
    }

    async fn user_by_token_hash(&self, hash: &str) -> Result<Option<UserRecord>> {
        let row = sqlx::query(
            "SELECT id, name, token_hash, admin, created_ms FROM users WHERE token_hash = $1",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
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
        // Another writer may append between our read and our insert: the seq key refuses
        // the duplicate and we try again on the new tail.
        let mut last_err = None;
        for _ in 0..5 {
            let mut tx = self.pool.begin().await?;
            let tail = sqlx::query("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
            let (seq, prev_hash) = match tail {
                Some(r) => (
                    r.try_get::<i64, _>("seq")? + 1,
                    r.try_get::<String, _>("hash")?,
                ),
                None => (1, crate::audit::GENESIS.to_string()),
            };
            let mut rec = AuditRecord {
                seq,
                created_ms: now_ms,
                actor: actor.to_string(),
                action: action.to_string(),
                subject: subject.to_string(),
                before: before.clone(),
                after: after.clone(),
                prev_hash,
                hash: String::new(),
            };
            rec.hash = crate::audit::record_hash(&rec);
            let inserted = sqlx::query(
                "INSERT INTO audit (seq, created_ms, actor, action, subject, before, after, prev_hash, hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(rec.seq)
            .bind(rec.created_ms)
            .bind(rec.actor.as_str())
            .bind(rec.action.as_str())
            .bind(rec.subject.as_str())
            .bind(rec.before.as_deref())
            .bind(rec.after.as_deref())
            .bind(rec.prev_hash.as_str())
            .bind(rec.hash.as_str())
            .execute(&mut *tx)
            .await;
            match inserted {
                Ok(_) => match tx.commit().await {
                    Ok(()) => return Ok(rec),
                    Err(e) => last_err = Some(e),
                },
                Err(e) => last_err = Some(e),
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        Err(StoreError::Db(
            last_err.unwrap_or(sqlx::Error::PoolTimedOut),
        ))
    }

    async fn list_audit(&self) -> Result<Vec<AuditRecord>> {
        let rows = sqlx::query(
            "SELECT seq, created_ms, actor, action, subject, before, after, prev_hash, hash FROM audit ORDER BY seq",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                Ok(AuditRecord {
                    seq: r.try_get("seq")?,
                    created_ms: r.try_get("created_ms")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    subject: r.try_get("subject")?,
                    before: r.try_get("before")?,
                    after: r.try_get("after")?,
                    prev_hash: r.try_get("prev_hash")?,
                    hash: r.try_get("hash")?,
                })
            })
            .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?)
    }

    async fn insert_release(&self, r: &ReleaseRecord) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO releases (id, prompt, content, author, created_ms) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT DO NOTHING",
        )
        .bind(r.id.as_str())
        .bind(r.prompt.as_str())
        .bind(r.content.as_str())
        .bind(r.author.as_str())
        .bind(r.created_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn get_release(&self, id: &str) -> Result<Option<ReleaseRecord>> {
        let row = sqlx::query(
            "SELECT id, prompt, content, author, created_ms FROM releases WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(release_from_row).transpose()?)
    }

    async fn list_releases(&self, prompt: &str) -> Result<Vec<ReleaseRecord>> {
        let rows = sqlx::query(
            "SELECT id, prompt, content, author, created_ms FROM releases WHERE prompt = $1 ORDER BY created_ms, id",
        )
        .bind(prompt)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(release_from_row)
            .collect::<std::result::Result<Vec<_>, _>>()?)
    }

    async fn insert_approval(&self, a: &ApprovalRecord) -> Result<()> {
        sqlx::query("INSERT INTO approvals (release_id, approver, created_ms) VALUES ($1, $2, $3)")
            .bind(a.release_id.as_str())
            .bind(a.approver.as_str())
            .bind(a.created_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn list_approvals(&self, release_id: &str) -> Result<Vec<ApprovalRecord>> {
        let rows = sqlx::query(
            "SELECT release_id, approver, created_ms FROM approvals WHERE release_id = $1 ORDER BY created_ms",
        )
        .bind(release_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                Ok(ApprovalRecord {
                    release_id: r.try_get("release_id")?,
                    approver: r.try_get("approver")?,
                    created_ms: r.try_get("created_ms")?,
                })
            })
            .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?)
    }

    async fn insert_deploy(&self, d: &DeployRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO deploys (id, prompt, channel, release_id, actor, kind, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(d.id.as_str())
        .bind(d.prompt.as_str())
        .bind(d.channel.as_str())
        .bind(d.release_id.as_str())
        .bind(d.actor.as_str())
        .bind(d.kind.as_str())
        .bind(d.created_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_deploys(&self, prompt: &str) -> Result<Vec<DeployRecord>> {
        let rows = sqlx::query(
            "SELECT id, prompt, channel, release_id, actor, kind, created_ms FROM deploys WHERE prompt = $1 ORDER BY created_ms, id",
        )
        .bind(prompt)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                Ok(DeployRecord {
                    id: r.try_get("id")?,
                    prompt: r.try_get("prompt")?,
                    channel: r.try_get("channel")?,
                    release_id: r.try_get("release_id")?,
                    actor: r.try_get("actor")?,
                    kind: r.try_get("kind")?,
                    created_ms: r.try_get("created_ms")?,
                })
            })
            .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?)
    }

    async fn current_deploys(&self) -> Result<Vec<DeployRecord>> {
        let rows = sqlx::query(
            "SELECT id, prompt, channel, release_id, actor, kind, created_ms FROM deploys ORDER BY created_ms, id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut latest: std::collections::BTreeMap<(String, String), DeployRecord> =
            Default::default();
        for r in &rows {
            let d = DeployRecord {
                id: r.try_get("id")?,
                prompt: r.try_get("prompt")?,
                channel: r.try_get("channel")?,
                release_id: r.try_get("release_id")?,
                actor: r.try_get("actor")?,
                kind: r.try_get("kind")?,
                created_ms: r.try_get("created_ms")?,
            };
            latest.insert((d.prompt.clone(), d.channel.clone()), d);
        }
        Ok(latest.into_values().collect())
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

    async fn insert_served(&self, s: &ServedRecord) -> Result<()> {
        sqlx::query(
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
        Ok(())
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
            .map(|r| {
                Ok(EventRecord {
                    id: r.try_get("id")?,
                    created_ms: r.try_get("created_ms")?,
                    kind: r.try_get("kind")?,
                    route: r.try_get("route")?,
                    provider: r.try_get("provider")?,
                    message: r.try_get("message")?,
                    details: r.try_get("details")?,
                })
            })
            .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?)
    }
}
