//! Row mapping and statement text shared by the SQL store's methods.

use super::cells::{Cell, Row};
use crate::{
    ApprovalRecord, AttemptRecord, CallRecord, DeployRecord, KeyRecord, ReleaseRecord, UserRecord,
};
use sqlx::Row as _;
use sqlx::any::AnyRow;
use std::str::FromStr;

/// Rows per INSERT statement. A batch is split greedily into these sizes so that only four
/// statement shapes per table exist and each is prepared once and cached; 64 rows keeps the
/// bound parameters far under SQLite's and PostgreSQL's limits.
pub(super) const STATEMENT_ROWS: [usize; 4] = [64, 16, 4, 1];

/// Splits `items` into consecutive chunks of the sizes in [`STATEMENT_ROWS`].
pub(super) fn statement_chunks<T>(mut items: &[T]) -> Vec<&[T]> {
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

/// Writes `rows` in multi-row INSERTs through sqlx's `Any` driver. Not cached on PostgreSQL:
/// the driver binds a NULL double as float4, and a statement first prepared with one (an
/// error call's missing time to first byte) would then refuse every float8 bound to it later.
pub(super) async fn insert_rows<T: Row>(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    rows: &[T],
    sqlite: bool,
) -> crate::Result<()> {
    for chunk in statement_chunks(rows) {
        let sql = insert_sql("INSERT", T::TABLE, T::COLUMNS, chunk.len(), sqlite);
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for row in chunk {
            for cell in row.cells() {
                q = match cell {
                    Cell::Text(v) => q.bind(v),
                    Cell::Int(v) => q.bind(v),
                    Cell::Real(v) => q.bind(v),
                };
            }
        }
        q.persistent(sqlite).execute(&mut **tx).await?;
    }
    Ok(())
}

/// A vocabulary word (`seam_vocab`) from text column `col`; a word this version does not know
/// is an error naming the column and the value, not a panic.
pub(super) fn word<T>(r: &AnyRow, col: &str) -> std::result::Result<T, sqlx::Error>
where
    T: FromStr<Err = seam_vocab::Unknown>,
{
    let s: String = r.try_get(col)?;
    s.parse().map_err(|e| unknown_word(col, e))
}

/// [`word`] of a nullable column.
pub(super) fn opt_word<T>(r: &AnyRow, col: &str) -> std::result::Result<Option<T>, sqlx::Error>
where
    T: FromStr<Err = seam_vocab::Unknown>,
{
    let s: Option<String> = r.try_get(col)?;
    s.map(|s| s.parse().map_err(|e| unknown_word(col, e)))
        .transpose()
}

fn unknown_word(col: &str, e: seam_vocab::Unknown) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: format!("{col:?}"),
        source: Box::new(e),
    }
}

/// Booleans are stored as 0/1 on both backends.
pub(super) fn flag(b: bool) -> i64 {
    b as i64
}

pub(super) fn call_from_row(r: &AnyRow) -> std::result::Result<CallRecord, sqlx::Error> {
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
        outcome: word(r, "outcome")?,
        error_class: opt_word(r, "error_class")?,
        error_message: r.try_get("error_message")?,
        attempts: r.try_get("attempts")?,
        latency_ms: r.try_get("latency_ms")?,
        ttfb_ms: r.try_get("ttfb_ms")?,
        input_tokens: r.try_get("input_tokens")?,
        output_tokens: r.try_get("output_tokens")?,
        cost_usd: r.try_get("cost_usd")?,
        tokens_estimated: r.try_get::<i64, _>("tokens_estimated")? != 0,
        budget_exhausted: r.try_get::<i64, _>("budget_exhausted")? != 0,
        release_id: r.try_get("release_id")?,
        unpriced: r.try_get::<i64, _>("unpriced")? != 0,
        upstream_request_id: r.try_get("upstream_request_id")?,
    })
}

pub(super) fn attempt_from_row(r: &AnyRow) -> std::result::Result<AttemptRecord, sqlx::Error> {
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
        outcome: word(r, "outcome")?,
        error_class: opt_word(r, "error_class")?,
        error_body: r.try_get("error_body")?,
        latency_ms: r.try_get("latency_ms")?,
        ttfb_ms: r.try_get("ttfb_ms")?,
        input_tokens: r.try_get("input_tokens")?,
        output_tokens: r.try_get("output_tokens")?,
        cost_usd: r.try_get("cost_usd")?,
        tokens_estimated: r.try_get::<i64, _>("tokens_estimated")? != 0,
        unpriced: r.try_get::<i64, _>("unpriced")? != 0,
        upstream_request_id: r.try_get("upstream_request_id")?,
    })
}

pub(super) fn release_from_row(r: &AnyRow) -> std::result::Result<ReleaseRecord, sqlx::Error> {
    Ok(ReleaseRecord {
        id: r.try_get("id")?,
        prompt: r.try_get("prompt")?,
        content: r.try_get("content")?,
        author: r.try_get("author")?,
        created_ms: r.try_get("created_ms")?,
    })
}

pub(super) fn approval_from_row(r: &AnyRow) -> std::result::Result<ApprovalRecord, sqlx::Error> {
    Ok(ApprovalRecord {
        release_id: r.try_get("release_id")?,
        approver: r.try_get("approver")?,
        created_ms: r.try_get("created_ms")?,
    })
}

pub(super) fn user_from_row(r: &AnyRow) -> std::result::Result<UserRecord, sqlx::Error> {
    Ok(UserRecord {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        token_hash: r.try_get("token_hash")?,
        admin: r.try_get::<i64, _>("admin")? != 0,
        created_ms: r.try_get("created_ms")?,
    })
}

pub(super) fn key_from_row(r: &AnyRow) -> std::result::Result<KeyRecord, sqlx::Error> {
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

/// The calls table's record columns, as a literal so that the inline list can extend it.
macro_rules! call_columns {
    () => {
        "id, created_ms, tenant, key_id, trace_id, session_id, endpoint, route, stream, requested_model, provider, served_model, system_fingerprint, status, outcome, error_class, error_message, attempts, latency_ms, ttfb_ms, input_tokens, output_tokens, cost_usd, tokens_estimated, budget_exhausted, release_id, unpriced, upstream_request_id"
    };
}
pub(super) const CALL_COLUMNS: &str = call_columns!();
/// The call columns and, after them, those of a call's only attempt kept in its row.
pub(super) const CALL_INLINE_COLUMNS: &str = concat!(
    call_columns!(),
    ", attempt_model, attempt_created_ms, attempt_status, attempt_outcome, attempt_error_class, attempt_error_body, attempt_latency_ms, attempt_ttfb_ms"
);
pub(super) const ATTEMPT_COLUMNS: &str = "id, call_id, seq, created_ms, tenant, trace_id, route, provider, model, served_model, system_fingerprint, status, outcome, error_class, error_body, latency_ms, ttfb_ms, input_tokens, output_tokens, cost_usd, tokens_estimated, unpriced, upstream_request_id";
pub(super) const EVENT_COLUMNS: &str = "id, created_ms, kind, route, provider, message, details";
pub(super) const KEY_COLUMNS: &str =
    "id, tenant, name, prefix, hash, created_ms, revoked_ms, limits";

/// `VERB INTO table (cols) VALUES (..), (..)` for `rows` rows, where `verb` is `INSERT` or an
/// SQLite `INSERT OR ...`. PostgreSQL wants numbered placeholders; SQLite binds plain `?` much
/// faster in long statements.
/// Record inserts skip rows whose key is already stored: the record writer may write a batch
/// again (a retry after a commit whose answer was lost, a replay of the spool), and each record's
/// id makes that a no-op instead of a failure.
pub(super) fn insert_sql(
    verb: &str,
    table: &str,
    columns: &str,
    rows: usize,
    sqlite: bool,
) -> String {
    let width = columns.split(',').count();
    let mut sql = format!("{verb} INTO {table} ({columns}) VALUES ");
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
    sql.push_str(" ON CONFLICT DO NOTHING");
    sql
}

pub(super) fn deploy_from_row(r: &AnyRow) -> std::result::Result<DeployRecord, sqlx::Error> {
    Ok(DeployRecord {
        id: r.try_get("id")?,
        prompt: r.try_get("prompt")?,
        channel: r.try_get("channel")?,
        release_id: r.try_get("release_id")?,
        actor: r.try_get("actor")?,
        kind: word(r, "kind")?,
        mode: word(r, "mode")?,
        created_ms: r.try_get("created_ms")?,
    })
}

pub(super) fn event_from_row(r: &AnyRow) -> std::result::Result<crate::EventRecord, sqlx::Error> {
    Ok(crate::EventRecord {
        id: r.try_get("id")?,
        created_ms: r.try_get("created_ms")?,
        kind: word(r, "kind")?,
        route: r.try_get("route")?,
        provider: r.try_get("provider")?,
        message: r.try_get("message")?,
        details: r.try_get("details")?,
    })
}
