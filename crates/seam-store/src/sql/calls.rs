//! Reading calls back: the filtered list (`seam calls`) and the list of traces (`seam traces`).
//! Every filter is a condition of the query, so a limit counts matching rows.

use super::SqlStore;
use super::rows::{CALL_COLUMNS, call_from_row};
use super::scope;
use crate::{CallQuery, CallRecord, Result, Tenants, TraceQuery, TraceSummary};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe, Row};

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

fn limit(l: i64) -> i64 {
    if l <= 0 { 1000 } else { l }
}

impl SqlStore {
    pub(super) async fn db_list_calls(
        &self,
        q: &CallQuery,
        tenants: &Tenants,
    ) -> Result<Vec<CallRecord>> {
        let mut c = Conditions::default();
        c.push("created_ms", ">=", Arg::Int(q.since_ms));
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
        Ok(rows
            .iter()
            .map(call_from_row)
            .collect::<std::result::Result<_, _>>()?)
    }

    pub(super) async fn db_list_traces(
        &self,
        q: &TraceQuery,
        tenants: &Tenants,
    ) -> Result<Vec<TraceSummary>> {
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
        rows.iter()
            .map(|r| {
                let calls: i64 = r.try_get("calls")?;
                let mut outcomes = std::collections::BTreeMap::new();
                let mut known = 0;
                for o in crate::CALL_OUTCOMES {
                    let n: i64 = r.try_get(format!("n_{o}").as_str())?;
                    known += n;
                    if n > 0 {
                        outcomes.insert(o.as_str().to_string(), n);
                    }
                }
                // An outcome a later version records: counted, not lost.
                if calls > known {
                    outcomes.insert("other".into(), calls - known);
                }
                Ok(TraceSummary {
                    trace_id: r.try_get("trace_id")?,
                    tenant: r.try_get("tenant")?,
                    calls,
                    attempts: r.try_get("attempts")?,
                    first_ms: r.try_get("first_ms")?,
                    last_ms: r.try_get("last_ms")?,
                    input_tokens: r.try_get("input_tokens")?,
                    output_tokens: r.try_get("output_tokens")?,
                    cost_usd: r.try_get("cost_usd")?,
                    tokens_estimated: r.try_get::<i64, _>("estimated")? != 0,
                    unpriced_calls: r.try_get("unpriced")?,
                    outcomes,
                })
            })
            .collect::<std::result::Result<Vec<_>, sqlx::Error>>()
            .map_err(Into::into)
    }
}
