//! Export pages: rows oldest first by (created_ms, id), keyset-paginated so an export of
//! any size holds one page in memory.

use super::SqlStore;
use super::from_row::all;
use super::rows::{ATTEMPT_COLUMNS, CALL_COLUMNS, EVENT_COLUMNS};
use crate::{
    AttemptRecord, CallRecord, ContentRecord, EventRecord, ExportCursor, ExportKind, Result,
    StreamRecord,
};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, FromRow};

type Mapper = fn(&AnyRow) -> std::result::Result<Value, sqlx::Error>;

fn json<T: serde::Serialize>(
    r: std::result::Result<T, sqlx::Error>,
) -> std::result::Result<Value, sqlx::Error> {
    r.and_then(|v| serde_json::to_value(v).map_err(|e| sqlx::Error::Decode(Box::new(e))))
}

impl SqlStore {
    /// Attempts of a page of calls, so both use the calls' time index; the cursor is the
    /// last call's.
    async fn attempts_page(
        &self,
        after: &ExportCursor,
        limit: i64,
    ) -> Result<(Vec<Value>, Option<ExportCursor>)> {
        let calls: Vec<ExportCursor> = all(&sqlx::query(
            "SELECT id, created_ms FROM calls WHERE created_ms > $1 OR (created_ms = $1 AND id > $2) \
             ORDER BY created_ms, id LIMIT $3",
        )
        .bind(after.created_ms)
        .bind(after.id.as_str())
        .bind(limit.max(1))
        .fetch_all(&self.pool)
        .await?)?;
        let mut out = Vec::new();
        for c in &calls {
            let rows = sqlx::query(AssertSqlSafe(format!(
                "SELECT {ATTEMPT_COLUMNS} FROM attempt_rows WHERE call_id = $1 ORDER BY seq"
            )))
            .bind(c.id.as_str())
            .fetch_all(&self.pool)
            .await?;
            for r in &rows {
                out.push(json(AttemptRecord::from_row(r))?);
            }
        }
        let next = if (calls.len() as i64) < limit.max(1) {
            None
        } else {
            calls.last().cloned()
        };
        Ok((out, next))
    }

    pub(super) async fn db_export_page(
        &self,
        kind: ExportKind,
        after: &ExportCursor,
        limit: i64,
    ) -> Result<(Vec<Value>, Option<ExportCursor>)> {
        let (table, id, columns, map): (&str, &str, &str, Mapper) = match kind {
            ExportKind::Calls => ("calls", "id", CALL_COLUMNS, |r| {
                json(CallRecord::from_row(r))
            }),
            // Paged by their calls, so both use the calls' time index.
            ExportKind::Attempts => return self.attempts_page(after, limit).await,
            ExportKind::Streams => ("streams", "call_id", super::streams::COLUMNS, |r| {
                json(StreamRecord::from_row(r))
            }),
            ExportKind::Contents => ("contents", "call_id", super::contents::COLUMNS, |r| {
                json(ContentRecord::from_row(r))
            }),
            ExportKind::Events => ("events", "id", EVENT_COLUMNS, |r| {
                json(EventRecord::from_row(r)).map(|mut v| {
                    // Details are JSON text in the table; exported as JSON.
                    if let Some(d) = v.get("details").and_then(Value::as_str) {
                        v["details"] = serde_json::from_str(d).unwrap_or(Value::Null);
                    }
                    v
                })
            }),
        };
        let sql = format!(
            "SELECT {columns} FROM {table} WHERE created_ms > $1 OR (created_ms = $1 AND {id} > $2) \
             ORDER BY created_ms, {id} LIMIT $3"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(after.created_ms)
            .bind(after.id.as_str())
            .bind(limit.max(1))
            .fetch_all(&self.pool)
            .await?;
        let values = rows
            .iter()
            .map(map)
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let next = if (values.len() as i64) < limit.max(1) {
            None
        } else {
            values.last().map(|v| ExportCursor {
                created_ms: v["created_ms"].as_i64().unwrap_or(after.created_ms),
                id: v[id].as_str().unwrap_or("").to_string(),
            })
        };
        Ok((values, next))
    }
}
