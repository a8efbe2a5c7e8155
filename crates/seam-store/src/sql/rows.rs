//! Statement text shared by the SQL store's methods (rows to records: `from_row.rs`).

use super::cells::{Cell, Row};

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
                    Cell::Blob(v) => q.bind(v),
                };
            }
        }
        q.persistent(sqlite).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Booleans are stored as 0/1 on both backends.
pub(super) fn flag(b: bool) -> i64 {
    b as i64
}

/// The calls table's record columns, as a literal so that the inline list can extend it.
macro_rules! call_columns {
    () => {
        "id, created_ms, tenant, key_id, trace_id, session_id, endpoint, route, stream, requested_model, provider, served_model, system_fingerprint, status, outcome, error_class, error_message, attempts, latency_ms, ttfb_ms, input_tokens, output_tokens, cost_usd, tokens_estimated, budget_exhausted, release_id, unpriced, upstream_request_id, purpose, request_hash"
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
    let guard = (!sqlite).then(|| stored_elsewhere(table, "v")).flatten();
    let mut sql = match guard {
        Some(_) => format!("{verb} INTO {table} ({columns}) SELECT * FROM (VALUES "),
        None => format!("{verb} INTO {table} ({columns}) VALUES "),
    };
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
    if let Some(guard) = guard {
        sql.push_str(&format!(") AS v ({columns}){guard}"));
    }
    sql.push_str(" ON CONFLICT DO NOTHING");
    sql
}

/// On PostgreSQL an attempt's key includes its time (attempts are partitioned by it, see
/// `partitions.rs`), so an attempt stored before under another time would not conflict; the
/// condition this returns (rows aliased `alias`) skips it by its call and number, its key on
/// SQLite. Calls, streams and contents carry their call's time, the same every time a record
/// is written, so their keys find them. `None` for those.
pub(super) fn stored_elsewhere(table: &str, alias: &str) -> Option<String> {
    (table == "attempts").then(|| {
        format!(
            " WHERE NOT EXISTS (SELECT 1 FROM attempts a WHERE a.call_id = {alias}.call_id AND a.seq = {alias}.seq)"
        )
    })
}
