//! The PostgreSQL record writer: sqlx's native driver, so that a NULL binds with its column's
//! type and statements stay prepared and cached (through the `Any` driver they cannot be, see
//! `rows::insert_rows`), and one `INSERT ... SELECT * FROM UNNEST(arrays)` per table per batch,
//! whatever the batch's size.

use super::cells::{Cell, Row};
use crate::sink::{Priority, RecordBatch, RecordSink};
use crate::{Result, StoreError};
use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};
use std::sync::Arc;

pub struct PgSink {
    pool: PgPool,
}

impl PgSink {
    /// Connects on first use: one connection, as batches are written one at a time.
    pub fn connect_lazy(url: &str) -> Result<PgSink> {
        let pool = PgPoolOptions::new().max_connections(1).connect_lazy(url)?;
        Ok(PgSink { pool })
    }
}

#[async_trait]
impl RecordSink for PgSink {
    // The server does the work in its own processes: there is no priority to give.
    async fn write(&self, batch: Arc<RecordBatch>, _: Priority) -> Result<()> {
        // Most calls' only attempt goes in the call's row (see cells::inline_attempts).
        let (calls, attempts) = super::cells::inline_attempts(&batch.calls, &batch.attempts);
        let mut tx = self.pool.begin().await?;
        insert_rows(&mut tx, &calls).await?;
        insert_rows(&mut tx, &attempts).await?;
        insert_rows(&mut tx, &batch.streams).await?;
        insert_rows(&mut tx, &batch.contents).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// One table's rows as one array per column.
enum Column<'a> {
    Text(Vec<Option<&'a str>>),
    Int(Vec<Option<i64>>),
    Real(Vec<Option<f64>>),
    Bytes(Vec<Option<&'a [u8]>>),
}

async fn insert_rows<T: Row>(tx: &mut Transaction<'_, Postgres>, rows: &[T]) -> Result<()> {
    let mut columns: Vec<Column<'_>> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let cells = row.cells();
        if i == 0 {
            columns = cells
                .iter()
                .map(|c| match c {
                    Cell::Text(_) => Column::Text(Vec::with_capacity(rows.len())),
                    Cell::Int(_) => Column::Int(Vec::with_capacity(rows.len())),
                    Cell::Real(_) => Column::Real(Vec::with_capacity(rows.len())),
                    Cell::Blob(_) => Column::Bytes(Vec::with_capacity(rows.len())),
                })
                .collect();
        }
        for (column, cell) in columns.iter_mut().zip(cells) {
            match (column, cell) {
                (Column::Text(v), Cell::Text(x)) => v.push(x),
                (Column::Int(v), Cell::Int(x)) => v.push(x),
                (Column::Real(v), Cell::Real(x)) => v.push(x),
                (Column::Bytes(v), Cell::Blob(x)) => v.push(x),
                _ => {
                    return Err(StoreError::Invalid(format!(
                        "a {} row changed a column's type",
                        T::TABLE
                    )));
                }
            }
        }
    }
    if columns.is_empty() {
        return Ok(());
    }
    let arrays: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let ty = match c {
                Column::Text(_) => "text",
                Column::Int(_) => "int8",
                Column::Real(_) => "float8",
                Column::Bytes(_) => "bytea",
            };
            format!("${}::{ty}[]", i + 1)
        })
        .collect();
    // The statement text depends only on the table: prepared once, then reused. A record
    // already stored is skipped, so a batch written twice (a retry, the spool) is stored once.
    let sql = format!(
        "INSERT INTO {} ({}) SELECT * FROM UNNEST({}) AS u ({}){} ON CONFLICT DO NOTHING",
        T::TABLE,
        T::COLUMNS,
        arrays.join(", "),
        T::COLUMNS,
        super::rows::stored_elsewhere(T::TABLE, "u").unwrap_or_default()
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for column in columns {
        q = match column {
            Column::Text(v) => q.bind(v),
            Column::Int(v) => q.bind(v),
            Column::Real(v) => q.bind(v),
            Column::Bytes(v) => q.bind(v),
        };
    }
    q.execute(&mut **tx).await?;
    Ok(())
}
