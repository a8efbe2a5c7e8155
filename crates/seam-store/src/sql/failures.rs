//! [`Failures`] on SQL: the calls the failure detectors read (with their captured content),
//! their flags, the counts the failure reports divide, and clients' feedback.

use super::SqlStore;
use super::calls::limit;
use super::from_row::all;
use super::rows::CALL_COLUMNS;
use super::scope;
use crate::{
    CallRecord, CallWithContent, ContentRecord, FailureBy, FailureCount, FailureCounts, Failures,
    FeedbackRecord, FlagQuery, FlagRecord, Result, Tenants,
};
use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, FromRow, Row};

// Every dynamic string below only splices in constant column lists, group expressions and
// numbered parameters.

const FLAG_COLUMNS: &str =
    "call_id, signal, evidence, created_ms, tenant, route, release_id, session_id, trace_id";
const FEEDBACK_COLUMNS: &str = "id, created_ms, tenant, key_id, call_id, trace_id, score, comment";

/// Live traffic: calls stored with no purpose (migration 20); eval and canary calls are not
/// users' traffic.
const LIVE: &str = "c.purpose IS NULL";

impl FromRow<'_, AnyRow> for FlagRecord {
    fn from_row(r: &AnyRow) -> std::result::Result<Self, sqlx::Error> {
        Ok(FlagRecord {
            call_id: r.try_get("call_id")?,
            signal: r.try_get("signal")?,
            evidence: r.try_get("evidence")?,
            created_ms: r.try_get("created_ms")?,
            tenant: r.try_get("tenant")?,
            route: r.try_get("route")?,
            release_id: r.try_get("release_id")?,
            session_id: r.try_get("session_id")?,
            trace_id: r.try_get("trace_id")?,
        })
    }
}

impl FromRow<'_, AnyRow> for FeedbackRecord {
    fn from_row(r: &AnyRow) -> std::result::Result<Self, sqlx::Error> {
        Ok(FeedbackRecord {
            id: r.try_get("id")?,
            created_ms: r.try_get("created_ms")?,
            tenant: r.try_get("tenant")?,
            key_id: r.try_get("key_id")?,
            call_id: r.try_get("call_id")?,
            trace_id: r.try_get("trace_id")?,
            score: r.try_get("score")?,
            comment: r.try_get("comment")?,
        })
    }
}

/// A call row joined with its content's columns (aliased `t_...`, NULL when none).
fn with_content(r: &AnyRow) -> std::result::Result<CallWithContent, sqlx::Error> {
    let call = CallRecord::from_row(r)?;
    let content = match r.try_get::<Option<String>, _>("t_call_id")? {
        None => None,
        Some(call_id) => Some(ContentRecord {
            call_id,
            created_ms: r.try_get("t_created_ms")?,
            format: r.try_get("t_format")?,
            bytes: r.try_get("t_bytes")?,
            truncated: r.try_get::<i64, _>("t_truncated")? != 0,
            redactions: r.try_get("t_redactions")?,
            body: r.try_get("t_body")?,
        }),
    };
    Ok(CallWithContent { call, content })
}

/// `c.col, c.col, ...`: the call columns of the calls table aliased `c`.
fn qualified_call_columns() -> String {
    CALL_COLUMNS
        .split(',')
        .map(|c| format!("c.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a count groups calls by (the calls table aliased `c`); None for one group, `all`.
fn group_of(by: FailureBy) -> Option<&'static str> {
    match by {
        FailureBy::Route => Some("c.route"),
        FailureBy::Release => Some("COALESCE(c.release_id, '-')"),
        FailureBy::Tenant => Some("c.tenant"),
        FailureBy::Signal => None,
    }
}

#[async_trait]
impl Failures for SqlStore {
    async fn signal_calls(
        &self,
        since_ms: i64,
        until_ms: i64,
        after: Option<(i64, String)>,
        limit_: i64,
    ) -> Result<Vec<CallWithContent>> {
        let (cursor, next) = match after {
            Some(_) => (
                " AND (c.created_ms > $3 OR (c.created_ms = $3 AND c.id > $4))",
                5,
            ),
            None => ("", 3),
        };
        let sql = format!(
            "SELECT {}, t.call_id AS t_call_id, t.created_ms AS t_created_ms, \
             t.format AS t_format, t.bytes AS t_bytes, t.truncated AS t_truncated, \
             t.redactions AS t_redactions, t.body AS t_body \
             FROM calls c LEFT JOIN contents t ON t.call_id = c.id \
             WHERE c.created_ms >= $1 AND c.created_ms < $2 AND {LIVE}{cursor} \
             ORDER BY c.created_ms, c.id LIMIT ${next}",
            qualified_call_columns()
        );
        let mut q = sqlx::query(AssertSqlSafe(sql))
            .bind(since_ms)
            .bind(until_ms);
        if let Some((at, id)) = after {
            q = q.bind(at).bind(id);
        }
        let rows = q.bind(limit(limit_)).fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(with_content)
            .collect::<std::result::Result<_, _>>()?)
    }

    async fn upsert_flags(&self, flags: &[FlagRecord]) -> Result<u64> {
        if flags.is_empty() {
            return Ok(0);
        }
        let sql = format!(
            "INSERT INTO flags ({FLAG_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (call_id, signal) DO UPDATE SET evidence = excluded.evidence, \
             created_ms = excluded.created_ms, tenant = excluded.tenant, route = excluded.route, \
             release_id = excluded.release_id, session_id = excluded.session_id, \
             trace_id = excluded.trace_id"
        );
        let mut tx = self.begin_write().await?;
        let mut written = 0;
        for f in flags {
            written += sqlx::query(AssertSqlSafe(sql.clone()))
                .bind(f.call_id.as_str())
                .bind(f.signal.as_str())
                .bind(f.evidence.as_str())
                .bind(f.created_ms)
                .bind(f.tenant.as_str())
                .bind(f.route.as_str())
                .bind(f.release_id.as_deref())
                .bind(f.session_id.as_deref())
                .bind(f.trace_id.as_deref())
                // Not prepared on PostgreSQL: a NULL would fix its place's type.
                .persistent(self.sqlite)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(written)
    }

    async fn list_flags_in(&self, q: &FlagQuery, tenants: &Tenants) -> Result<Vec<FlagRecord>> {
        let mut conds = String::new();
        let mut texts: Vec<&str> = Vec::new();
        for (col, v) in [("signal", &q.signal), ("route", &q.route)] {
            if let Some(v) = v {
                texts.push(v);
                conds.push_str(&format!(" AND {col} = ${}", texts.len() + 2));
            }
        }
        let first = texts.len() + 3;
        conds.push_str(&scope::filter("tenant", first, tenants));
        let n_tenants = match tenants {
            Tenants::All => 0,
            Tenants::Only(list) => list.len(),
        };
        let sql = format!(
            "SELECT {FLAG_COLUMNS} FROM flags WHERE created_ms >= $1 AND created_ms < $2{conds} \
             ORDER BY created_ms DESC, call_id DESC, signal LIMIT ${}",
            first + n_tenants
        );
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind(q.since_ms)
            .bind(q.until_ms);
        for t in texts {
            query = query.bind(t);
        }
        let rows = scope::bind(query, tenants)
            .bind(limit(q.limit))
            .persistent(false)
            .fetch_all(&self.pool)
            .await?;
        Ok(all(&rows)?)
    }

    async fn failure_counts_in(
        &self,
        since_ms: i64,
        until_ms: i64,
        by: FailureBy,
        tenants: &Tenants,
    ) -> Result<FailureCounts> {
        let within = scope::filter("c.tenant", 3, tenants);
        let period = format!("c.created_ms >= $1 AND c.created_ms < $2 AND {LIVE}{within}");
        let (calls_sql, flagged_sql) = match group_of(by) {
            Some(g) => (
                format!(
                    "SELECT {g} AS grp, COUNT(*) AS n FROM calls c WHERE {period} \
                     GROUP BY {g}"
                ),
                format!(
                    "SELECT {g} AS grp, f.signal AS signal, COUNT(DISTINCT f.call_id) AS n \
                     FROM flags f JOIN calls c ON c.id = f.call_id WHERE {period} \
                     GROUP BY {g}, f.signal"
                ),
            ),
            None => (
                format!("SELECT 'all' AS grp, COUNT(*) AS n FROM calls c WHERE {period}"),
                format!(
                    "SELECT f.signal AS grp, f.signal AS signal, \
                     COUNT(DISTINCT f.call_id) AS n FROM flags f JOIN calls c \
                     ON c.id = f.call_id WHERE {period} GROUP BY f.signal"
                ),
            ),
        };
        let run = |sql: String| {
            let q = sqlx::query(AssertSqlSafe(sql))
                .bind(since_ms)
                .bind(until_ms);
            scope::bind(q, tenants)
                .persistent(false)
                .fetch_all(&self.pool)
        };
        let mut counts = FailureCounts::default();
        for r in run(calls_sql).await? {
            counts.calls.push((r.try_get("grp")?, r.try_get("n")?));
        }
        for r in run(flagged_sql).await? {
            counts.flagged.push(FailureCount {
                group: r.try_get("grp")?,
                signal: r.try_get("signal")?,
                flagged: r.try_get("n")?,
            });
        }
        // In byte order, whatever the database's collation.
        counts.calls.sort();
        counts
            .flagged
            .sort_by(|a, b| (&a.group, &a.signal).cmp(&(&b.group, &b.signal)));
        Ok(counts)
    }

    async fn insert_feedback(&self, f: &FeedbackRecord) -> Result<bool> {
        if f.call_id.is_none() && f.trace_id.is_none() {
            return Ok(false);
        }
        let mut tx = self.begin_write().await?;
        // Each id given must name a call of this tenant: unknown and another tenant's look
        // the same to the caller.
        if let Some(id) = &f.call_id {
            let found: Option<i64> =
                sqlx::query_scalar("SELECT 1 FROM calls WHERE id = $1 AND tenant = $2")
                    .bind(id.as_str())
                    .bind(f.tenant.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
            if found.is_none() {
                return Ok(false);
            }
        }
        if let Some(trace) = &f.trace_id {
            // Two halves, so that each uses its index (see `trace` in calls.rs): a named
            // trace's calls, and a call that is a trace of its own.
            let found: Option<i64> = sqlx::query_scalar(
                "SELECT 1 FROM calls WHERE trace_id = $1 AND trace_id <> id AND tenant = $2 \
                 UNION ALL SELECT 1 FROM calls WHERE id = $1 AND trace_id = id AND tenant = $2 \
                 LIMIT 1",
            )
            .bind(trace.as_str())
            .bind(f.tenant.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            if found.is_none() {
                return Ok(false);
            }
        }
        let sql = format!(
            "INSERT INTO feedback ({FEEDBACK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(f.id.as_str())
            .bind(f.created_ms)
            .bind(f.tenant.as_str())
            .bind(f.key_id.as_deref())
            .bind(f.call_id.as_deref())
            .bind(f.trace_id.as_deref())
            .bind(f.score)
            .bind(f.comment.as_deref())
            .persistent(self.sqlite)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn list_feedback_in(
        &self,
        since_ms: i64,
        until_ms: i64,
        tenants: &Tenants,
    ) -> Result<Vec<FeedbackRecord>> {
        let sql = format!(
            "SELECT {FEEDBACK_COLUMNS} FROM feedback WHERE created_ms >= $1 AND created_ms < $2{} \
             ORDER BY created_ms, id",
            scope::filter("tenant", 3, tenants)
        );
        let q = sqlx::query(AssertSqlSafe(sql))
            .bind(since_ms)
            .bind(until_ms);
        let rows = scope::bind(q, tenants)
            .persistent(false)
            .fetch_all(&self.pool)
            .await?;
        Ok(all(&rows)?)
    }
}
