//! The PostgreSQL record writer: sqlx's native driver, so that a NULL binds with its column's
//! type and statements stay prepared and cached (through the `Any` driver they cannot be, see
//! `rows::insert_rows`).
//!
//! A batch is first written with one `COPY` per table (`pg_copy.rs`), attempts aside. A record
//! can only be stored already when its batch is written again (a retry after a lost answer, a
//! replay of the spool): then the table's key refuses it, the transaction is rolled back, and
//! the batch is written again with one `INSERT ... SELECT * FROM UNNEST(arrays) ON CONFLICT DO
//! NOTHING` per table, which checks every row first. Checking on every batch cost about a fifth
//! of the server's work per row (a speculative insertion: a unique probe before each row and a
//! second WAL record after it), for a case that is rare. Attempts rows (a call's only attempt
//! is kept in its row) always go through the INSERT: one stored under another time has a key
//! of its own, and is skipped by its call and number.

use super::cells::{Cell, Row};
use super::pg_copy;
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
        match self
            .write_once(&calls, &attempts, &batch, Stored::Refused)
            .await
        {
            Err(StoreError::Db(sqlx::Error::Database(e))) if e.is_unique_violation() => {
                self.write_once(&calls, &attempts, &batch, Stored::Skipped)
                    .await
            }
            done => done,
        }
    }
}

/// What writing a batch does with a record that is stored already.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stored {
    /// COPY's key refuses it, failing the batch (the fast way, for new records; attempts take
    /// the INSERT either way).
    Refused,
    /// Every table takes the INSERT, which skips it and writes the rest of the batch.
    Skipped,
}

impl PgSink {
    async fn write_once<C: Row, A: Row>(
        &self,
        calls: &[C],
        attempts: &[A],
        batch: &RecordBatch,
        stored: Stored,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        insert_rows(&mut tx, calls, stored).await?;
        insert_rows(&mut tx, attempts, stored).await?;
        insert_rows(&mut tx, &batch.streams, stored).await?;
        insert_rows(&mut tx, &batch.contents, stored).await?;
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

async fn insert_rows<T: Row>(
    tx: &mut Transaction<'_, Postgres>,
    rows: &[T],
    stored: Stored,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let guard = super::rows::stored_elsewhere(T::TABLE, "u");
    if stored == Stored::Refused && guard.is_none() {
        let mut copy = (**tx).copy_in_raw(&pg_copy::statement::<T>()).await?;
        copy.send(pg_copy::encode(rows)).await?;
        copy.finish().await?;
        return Ok(());
    }
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
        guard.unwrap_or_default(),
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
