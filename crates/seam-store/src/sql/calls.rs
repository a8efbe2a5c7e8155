//! The call records: written together (calls, attempts, streams), and read back: one call,
//! a trace, the filtered list (`seam calls`) and the list of traces (`seam traces`). Every
//! filter is a condition of the query, so a limit counts matching rows. Streams are read in
//! `streams.rs`, export pages in `export.rs`.

use super::SqlStore;
use super::from_row::all;
use super::rows::{ATTEMPT_COLUMNS, CALL_COLUMNS, insert_rows};
use super::scope;
use crate::{
    AttemptRecord, CallQuery, CallRecord, ContentRecord, ExportCursor, ExportKind, RecordBatch,
    Records, Result, StreamRecord, Tenants, TraceQuery, TraceSummary,
};
use async_trait::async_trait;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe, FromRow};

// Every dynamic string below only splices in constant column lists and numbered parameters.

/// A value bound to a numbered parameter.
enum Arg {
    Text(String),
    Int(i64),
}

/// ` AND ...` conditions with their parameters numbered from `$1`, bound in order.
#[derive(Default)]
struct Conditions {
    sql: String,
    args: Vec<Arg>,
}

impl Conditions {
    /// `col op $n`, binding `arg`.
    fn push(&mut self, col: &str, op: &str, arg: Arg) {
        self.args.push(arg);
        self.sql
            .push_str(&format!(" AND {col} {op} ${}", self.args.len()));
    }

    fn text(&mut self, col: &str, v: &Option<String>) {
        if let Some(v) = v {
            self.push(col, "=", Arg::Text(v.clone()));
        }
    }

    /// The tenants of the reader's roles (numbered after what is pushed so far).
    fn within(&mut self, tenants: &Tenants) {
        self.sql
            .push_str(&scope::filter("tenant", self.args.len() + 1, tenants));
        if let Tenants::Only(list) = tenants {
            self.args.extend(list.iter().map(|t| Arg::Text(t.clone())));
        }
    }

    /// The parameter number of the next value bound after these.
    fn next(&self) -> usize {
        self.args.len() + 1
    }

    fn bind<'q>(&self, mut q: Query<'q, Any, AnyArguments>) -> Query<'q, Any, AnyArguments> {
        for a in &self.args {
            q = match a {
                Arg::Text(t) => q.bind(t.clone()),
                Arg::Int(i) => q.bind(*i),
            };
        }
        q
    }
}

/// A list's limit: 1000 when not above 0.
pub(super) fn limit(l: i64) -> i64 {
    if l <= 0 { 1000 } else { l }
}

#[async_trait]
impl Records for SqlStore {
    async fn insert_batch(&self, b: &RecordBatch) -> Result<()> {
        let mut tx = self.begin_write().await?;
        // On SQLite the writer adds the batch to the hourly rollups (PostgreSQL's triggers
        // do): only the calls new to the store count.
        let mut stored = std::collections::HashSet::new();
        if self.sqlite {
            for c in &b.calls {
                let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM calls WHERE id = $1")
                    .bind(c.id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                if found.is_some() {
                    stored.insert(c.id.as_str());
                }
            }
        }
        insert_rows(&mut tx, &b.calls, self.sqlite).await?;
        insert_rows(&mut tx, &b.attempts, self.sqlite).await?;
        insert_rows(&mut tx, &b.streams, self.sqlite).await?;
        insert_rows(&mut tx, &b.contents, self.sqlite).await?;
        if self.sqlite {
            let calls: Vec<&CallRecord> = b
                .calls
                .iter()
                .filter(|c| !stored.contains(c.id.as_str()))
                .collect();
            let attempts: Vec<&AttemptRecord> = b
                .attempts
                .iter()
                .filter(|a| !stored.contains(a.call_id.as_str()))
                .collect();
            let h = crate::hours::deltas(&calls, &attempts);
            for r in &h.calls {
                sqlx::query(crate::hours::UPSERT_CALL_HOUR)
                    .bind(r.hour_ms)
                    .bind(r.tenant.as_str())
                    .bind(r.key_id.as_str())
                    .bind(r.route.as_str())
                    .bind(r.provider.as_str())
                    .bind(r.purpose.as_str())
                    .bind(r.outcome.as_str())
                    .bind(r.error_class.as_str())
                    .bind(r.calls)
                    .bind(r.dispatched)
                    .bind(r.attempts)
                    .bind(r.budget_exhausted)
                    .bind(r.input_tokens)
                    .bind(r.output_tokens)
                    .bind(r.cost_usd)
                    .bind(r.estimated)
                    .bind(r.unpriced)
                    .execute(&mut *tx)
                    .await?;
            }
            for r in &h.attempts {
                sqlx::query(crate::hours::UPSERT_ATTEMPT_HOUR)
                    .bind(r.hour_ms)
                    .bind(r.tenant.as_str())
                    .bind(r.route.as_str())
                    .bind(r.provider.as_str())
                    .bind(r.outcome.as_str())
                    .bind(r.error_class.as_str())
                    .bind(r.attempts)
                    .bind(r.first_attempts)
                    .bind(r.cost_usd)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn get_content(&self, call_id: &str) -> Result<Option<ContentRecord>> {
        self.db_get_content(call_id).await
    }

    async fn list_streams_in(&self, since_ms: i64, tenants: &Tenants) -> Result<Vec<StreamRecord>> {
        self.db_list_streams(since_ms, tenants).await
    }

    async fn list_calls_in(&self, q: &CallQuery, tenants: &Tenants) -> Result<Vec<CallRecord>> {
        let mut c = Conditions::default();
        c.push("created_ms", ">=", Arg::Int(q.since_ms));
        if let Some(until) = q.until_ms {
            c.push("created_ms", "<", Arg::Int(until));
        }
        c.text("tenant", &q.tenant);
        c.text("route", &q.route);
        c.text("outcome", &q.outcome);
        c.text("release_id", &q.release_id);
        if let Some((from, to)) = q.status {
            c.push("status", ">=", Arg::Int(from));
            c.push("status", "<=", Arg::Int(to));
        }
        c.within(tenants);
        // `1 = 1` so that every condition, the first included, starts with AND.
        let sql = format!(
            "SELECT {CALL_COLUMNS} FROM calls WHERE 1 = 1{} ORDER BY created_ms DESC, id DESC LIMIT ${}",
            c.sql,
            c.next()
        );
        let rows = c
            .bind(sqlx::query(AssertSqlSafe(sql)))
            .bind(limit(q.limit))
            .fetch_all(&self.pool)
            .await?;
        Ok(all(&rows)?)
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
        let call = CallRecord::from_row(&row)?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ATTEMPT_COLUMNS} FROM attempt_rows WHERE call_id = $1 ORDER BY seq"
        )))
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(Some((call, all(&rows)?)))
    }

    async fn get_stream(&self, call_id: &str) -> Result<Option<StreamRecord>> {
        self.db_get_stream(call_id).await
    }

    async fn list_traces_in(&self, q: &TraceQuery, tenants: &Tenants) -> Result<Vec<TraceSummary>> {
        let mut c = Conditions::default();
        c.push("created_ms", ">=", Arg::Int(q.since_ms));
        c.text("tenant", &q.tenant);
        c.within(tenants);
        let count = |o: &str| {
            format!("CAST(SUM(CASE WHEN outcome = '{o}' THEN 1 ELSE 0 END) AS BIGINT) AS n_{o}")
        };
        let by_outcome: Vec<String> = crate::CALL_OUTCOMES
            .iter()
            .map(|o| count(o.as_str()))
            .collect();
        // Named traces only: a call that names none has its own id as its trace.
        let sql = format!(
            "SELECT trace_id, tenant, COUNT(*) AS calls, CAST(SUM(attempts) AS BIGINT) AS attempts, \
             MIN(created_ms) AS first_ms, MAX(created_ms) AS last_ms, \
             CAST(SUM(input_tokens) AS BIGINT) AS input_tokens, \
             CAST(SUM(output_tokens) AS BIGINT) AS output_tokens, SUM(cost_usd) AS cost_usd, \
             CAST(MAX(tokens_estimated) AS BIGINT) AS estimated, \
             CAST(SUM(unpriced) AS BIGINT) AS unpriced, {} \
             FROM calls WHERE trace_id IS NOT NULL AND trace_id <> id{} \
             GROUP BY trace_id, tenant ORDER BY MAX(created_ms) DESC, trace_id, tenant LIMIT ${}",
            by_outcome.join(", "),
            c.sql,
            c.next()
        );
        let rows = c
            .bind(sqlx::query(AssertSqlSafe(sql)))
            .bind(limit(q.limit))
            .fetch_all(&self.pool)
            .await?;
        Ok(all(&rows)?)
    }

    async fn trace(&self, trace_id: &str) -> Result<(Vec<CallRecord>, Vec<AttemptRecord>)> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            // Two halves, so that each can use its index: calls in a named trace (the partial
            // trace index), and the call that is a trace of its own (its id).
            "SELECT {CALL_COLUMNS} FROM calls WHERE trace_id = $1 AND trace_id <> id \
             UNION ALL SELECT {CALL_COLUMNS} FROM calls WHERE id = $1 AND trace_id = id \
             ORDER BY created_ms, id"
        )))
        .bind(trace_id)
        .fetch_all(&self.pool)
        .await?;
        let calls: Vec<CallRecord> = all(&rows)?;
        let mut attempts = Vec::new();
        for c in &calls {
            let rows = sqlx::query(AssertSqlSafe(format!(
                "SELECT {ATTEMPT_COLUMNS} FROM attempt_rows WHERE call_id = $1 ORDER BY seq"
            )))
            .bind(c.id.as_str())
            .fetch_all(&self.pool)
            .await?;
            attempts.extend(all::<AttemptRecord>(&rows)?);
        }
        Ok((calls, attempts))
    }

    async fn export_page(
        &self,
        kind: ExportKind,
        after: &ExportCursor,
        limit: i64,
    ) -> Result<(Vec<serde_json::Value>, Option<ExportCursor>)> {
        self.db_export_page(kind, after, limit).await
    }
}
