//! PostgreSQL: calls, attempts, streams and contents are range-partitioned by `created_ms`,
//! one partition per UTC month (`calls_p202612`) and a default partition (`calls_default`) for
//! rows outside them (older than the oldest month kept, or far ahead: a wrong clock, a
//! replayed spool). Expired months are detached and dropped whole, which takes a moment
//! whatever their size; retention deletes the rest (the month the cutoff falls in, the default
//! partition) in batches (`retention.rs`). A query bounded in time reads only its months.
//!
//! A partitioned table's keys must include the partition key, so each table's primary key
//! gains `created_ms` (calls: `(id, created_ms)`). A record is written with the same
//! `created_ms` every time (a batch retried, the spool replayed), so the record writers' `ON
//! CONFLICT DO NOTHING` still finds it; a lookup by id alone probes each partition's key.
//!
//! Migration 16 converts a store (`convert`); the retention task (and `seam migrate`) makes
//! each month's partitions ahead of it (`prepare`) and drops expired ones (`drop_expired`).
//! Every change here holds the advisory lock `seam migrate` holds, so none runs in the middle
//! of a migration, and two never run at once.

use super::months::Month;
use crate::migrate::Progress;
use crate::retention::Deleted;
use sqlx::{Any, AnyConnection, AnyPool, AssertSqlSafe, Row, Transaction};
use std::collections::BTreeSet;

/// The advisory lock `seam migrate` takes (`migrate.rs`).
pub(crate) const SCHEMA_LOCK: i64 = 7_474_001;

/// Months made ahead of the current one: a gateway that starts late in a month, or rounds
/// that fail for a while, still find the month's partition there.
const AHEAD: usize = 2;

/// Rows moved per statement when a store is converted: one progress line each.
const MOVE_BATCH: i64 = 100_000;

/// How long a partition change waits for a lock (a long report reading the table, a
/// migration) before giving up until the next round, rather than queue every writer behind
/// it for longer.
const LOCK_TIMEOUT: &str = "2s";

#[derive(Clone, Copy)]
enum Key {
    Text,
    Int,
}

/// A record table, by the primary key it has before partitioning.
pub(crate) struct Table {
    pub name: &'static str,
    key: &'static [(&'static str, Key)],
}

pub(crate) const CALLS: Table = Table {
    name: "calls",
    key: &[("id", Key::Text)],
};
pub(crate) const ATTEMPTS: Table = Table {
    name: "attempts",
    key: &[("call_id", Key::Text), ("seq", Key::Int)],
};
pub(crate) const STREAMS: Table = Table {
    name: "streams",
    key: &[("call_id", Key::Text)],
};
pub(crate) const CONTENTS: Table = Table {
    name: "contents",
    key: &[("call_id", Key::Text)],
};
pub(crate) const TABLES: [&Table; 4] = [&CALLS, &ATTEMPTS, &STREAMS, &CONTENTS];

impl Table {
    fn key_columns(&self) -> String {
        self.key.iter().map(|k| k.0).collect::<Vec<_>>().join(", ")
    }

    fn partition(&self, m: Month) -> Option<String> {
        m.suffix().map(|s| format!("{}_p{s}", self.name))
    }

    fn default_partition(&self) -> String {
        format!("{}_default", self.name)
    }

    /// The month a partition of this table holds, from its name.
    fn month_of(&self, partition: &str) -> Option<Month> {
        partition
            .strip_prefix(self.name)?
            .strip_prefix("_p")
            .and_then(Month::parse)
    }
}

// Every statement below splices in only this module's table names, month suffixes and
// millisecond bounds (integers); DDL takes no parameters.

async fn exec(conn: &mut AnyConnection, sql: String) -> Result<u64, sqlx::Error> {
    Ok(sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(conn)
        .await?
        .rows_affected())
}

async fn exists(conn: &mut AnyConnection, relation: &str) -> Result<bool, sqlx::Error> {
    let found: Option<String> = sqlx::query_scalar("SELECT to_regclass($1::text)::text")
        .bind(relation)
        .fetch_one(conn)
        .await?;
    Ok(found.is_some())
}

/// Whether `table` is partitioned (a table converted by migration 16).
pub(crate) async fn is_partitioned(
    conn: &mut AnyConnection,
    table: &str,
) -> Result<bool, sqlx::Error> {
    let kind: Option<String> =
        sqlx::query_scalar("SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1::text)")
            .bind(table)
            .fetch_optional(conn)
            .await?;
    Ok(kind.as_deref() == Some("p"))
}

/// The partitions of `table`, by name.
async fn partitions(conn: &mut AnyConnection, table: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = to_regclass($1::text) ORDER BY 1",
    )
    .bind(table)
    .fetch_all(conn)
    .await
}

/// Waits at most [`LOCK_TIMEOUT`] for any lock, then takes the schema lock (for the rest of
/// the transaction).
async fn lock(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    exec(conn, format!("SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")).await?;
    exec(conn, format!("SELECT pg_advisory_xact_lock({SCHEMA_LOCK})")).await?;
    Ok(())
}

/// Makes `table`'s partition for month `m` unless it exists; its name when made now.
async fn create_month(
    conn: &mut AnyConnection,
    t: &Table,
    m: Month,
) -> Result<Option<String>, sqlx::Error> {
    let Some(name) = t.partition(m) else {
        return Ok(None);
    };
    if exists(conn, &name).await? {
        return Ok(None);
    }
    let (from, to, table) = (m.start_ms(), m.end_ms(), t.name);
    let default = t.default_partition();
    let range = format!("created_ms >= {from} AND created_ms < {to}");
    let waiting = exists(conn, &default).await?
        && sqlx::query_scalar::<_, bool>(AssertSqlSafe(format!(
            "SELECT EXISTS (SELECT 1 FROM {default} WHERE {range})"
        )))
        .fetch_one(&mut *conn)
        .await?;
    if waiting {
        // Rows written before their month's partition existed wait in the default partition,
        // and PostgreSQL refuses a partition that rows there would belong to: they move in
        // first, then the table is attached (checked against its bounds as it is).
        exec(
            conn,
            format!("CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS)"),
        )
        .await?;
        exec(
            conn,
            format!("INSERT INTO {name} SELECT * FROM {default} WHERE {range}"),
        )
        .await?;
        exec(conn, format!("DELETE FROM {default} WHERE {range}")).await?;
        exec(
            conn,
            format!(
                "ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ({from}) TO ({to})"
            ),
        )
        .await?;
    } else {
        exec(
            conn,
            format!("CREATE TABLE {name} PARTITION OF {table} FOR VALUES FROM ({from}) TO ({to})"),
        )
        .await?;
    }
    Ok(Some(name))
}

/// The partitions of the month of `now_ms` and the next [`AHEAD`] months, for every
/// partitioned record table; the names of those made now (none when the tables are not
/// partitioned).
pub(crate) async fn prepare(pool: &AnyPool, now_ms: i64) -> Result<Vec<String>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let mut months = vec![Month::of_ms(now_ms)];
    for _ in 0..AHEAD {
        let next = months[months.len() - 1].next();
        months.push(next);
    }
    // Most rounds find every partition there: they look without taking a lock.
    let mut missing = false;
    for t in TABLES {
        if !is_partitioned(&mut conn, t.name).await? {
            continue;
        }
        for m in &months {
            if let Some(name) = t.partition(*m)
                && !exists(&mut conn, &name).await?
            {
                missing = true;
            }
        }
    }
    if !missing {
        return Ok(Vec::new());
    }
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    lock(&mut tx).await?;
    let mut made = Vec::new();
    for t in TABLES {
        if !is_partitioned(&mut tx, t.name).await? {
            continue;
        }
        for m in &months {
            made.extend(create_month(&mut tx, t, *m).await?);
        }
    }
    tx.commit().await?;
    Ok(made)
}

/// Live rows of a partition about to be dropped, from PostgreSQL's statistics (kept on every
/// insert and delete); counted only when it has none (a partition never written to, or
/// statistics reset by a crash).
async fn live_rows(conn: &mut AnyConnection, partition: &str) -> Result<u64, sqlx::Error> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(s.n_live_tup, 0) AS BIGINT), CAST(c.reltuples AS BIGINT) \
         FROM pg_class c LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid \
         WHERE c.oid = to_regclass($1::text)",
    )
    .bind(partition)
    .fetch_optional(&mut *conn)
    .await?;
    let (live, planned): (i64, i64) = match row {
        Some(r) => (r.try_get(0)?, r.try_get(1)?),
        None => (0, 0),
    };
    let n = if live > 0 {
        live
    } else if planned > 0 {
        planned
    } else {
        sqlx::query_scalar::<_, i64>(AssertSqlSafe(format!("SELECT COUNT(*) FROM {partition}")))
            .fetch_one(&mut *conn)
            .await?
    };
    Ok(n.max(0) as u64)
}

/// Tables named as `table`'s month partitions that are not attached to it: detached by a
/// round that stopped before it dropped them.
async fn detached(conn: &mut AnyConnection, table: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c \
         WHERE c.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = to_regclass($1::text)) \
         AND c.relkind = 'r' AND c.relname LIKE $1 || '\\_p%' \
         AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid) ORDER BY 1",
    )
    .bind(table)
    .fetch_all(conn)
    .await
}

/// Detaches and drops the month partitions of `tables` that end at or before `before_ms`
/// (all their rows are older), a month at a time, oldest first.
///
/// The detach is what takes the parent table's lock (DETACH ... CONCURRENTLY is not possible
/// with a default partition): a month of every table is detached in one short transaction.
/// Dropping a detached table takes only its own lock, so its files are removed (which a
/// filesystem that discards freed blocks at once does at a few hundred milliseconds a
/// gigabyte) while the record writer and readers carry on. A table detached by a round that
/// stopped before dropping it is dropped by the next one.
pub(crate) async fn drop_expired(
    pool: &AnyPool,
    tables: &[&Table],
    before_ms: i64,
) -> Result<(Vec<String>, Deleted), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let mut expired: BTreeSet<(Month, &'static str, String)> = BTreeSet::new();
    let mut left: Vec<(&'static str, String)> = Vec::new();
    for t in tables {
        if !is_partitioned(&mut conn, t.name).await? {
            continue;
        }
        for p in partitions(&mut conn, t.name).await? {
            if let Some(m) = t.month_of(&p)
                && m.end_ms() <= before_ms
            {
                expired.insert((m, t.name, p));
            }
        }
        for p in detached(&mut conn, t.name).await? {
            if t.month_of(&p).is_some_and(|m| m.end_ms() <= before_ms) {
                left.push((t.name, p));
            }
        }
    }
    let mut rows = Deleted::default();
    let months: BTreeSet<Month> = expired.iter().map(|e| e.0).collect();
    for month in months {
        // One month of every table at once: a month's calls never outlive its attempts.
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        lock(&mut tx).await?;
        for (_, table, p) in expired.iter().filter(|e| e.0 == month) {
            exec(&mut tx, format!("ALTER TABLE {table} DETACH PARTITION {p}")).await?;
            left.push((table, p.clone()));
        }
        tx.commit().await?;
    }
    let mut dropped = Vec::new();
    for (table, p) in left {
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        exec(
            &mut tx,
            format!("SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"),
        )
        .await?;
        rows.add_to(table, live_rows(&mut tx, &p).await?);
        exec(&mut tx, format!("DROP TABLE {p}")).await?;
        tx.commit().await?;
        dropped.push(p);
    }
    Ok((dropped, rows))
}

/// The months that hold calls (found through the time index, a lookup per month, not a
/// scan), and the current one and the [`AHEAD`] after it.
async fn months_to_make(
    conn: &mut AnyConnection,
    now_ms: i64,
) -> Result<BTreeSet<Month>, sqlx::Error> {
    let mut months = BTreeSet::new();
    // Rows before 1970 have no month partition: start there.
    let mut from = 0_i64;
    loop {
        let next: Option<i64> =
            sqlx::query_scalar("SELECT MIN(created_ms) FROM calls WHERE created_ms >= $1")
                .bind(from)
                .fetch_one(&mut *conn)
                .await?;
        let Some(ms) = next else { break };
        let m = Month::of_ms(ms);
        if m.suffix().is_none() {
            // Past year 9999: those rows stay in the default partition.
            break;
        }
        months.insert(m);
        from = m.end_ms();
    }
    let mut m = Month::of_ms(now_ms);
    for _ in 0..=AHEAD {
        months.insert(m);
        m = m.next();
    }
    Ok(months)
}

/// The indexes of `table` other than its primary key, as statements that make them again;
/// a unique one is left out (it could not exist on a partitioned table without created_ms),
/// and said so.
async fn secondary_indexes(
    conn: &mut AnyConnection,
    table: &str,
    progress: Progress<'_>,
) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT i.relname::text, pg_get_indexdef(i.oid), CAST(ix.indisprimary AS INTEGER), \
         CAST(ix.indisunique AS INTEGER) \
         FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid \
         WHERE ix.indrelid = to_regclass($1::text) ORDER BY 1",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let (name, def, primary, unique): (String, String, i32, i32) =
            (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
        if primary == 1 {
            continue;
        }
        if unique == 1 {
            progress(&format!(
                "migration 16: {table}: the unique index {name} is not made again (a partitioned table's unique index must include created_ms)"
            ));
            continue;
        }
        out.push(def);
    }
    Ok(out)
}

/// Copies `t`'s rows into `staged` in key order, [`MOVE_BATCH`] at a time; how many.
async fn move_rows(
    conn: &mut AnyConnection,
    t: &Table,
    staged: &str,
    progress: Progress<'_>,
) -> Result<i64, sqlx::Error> {
    let table = t.name;
    let total: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(&mut *conn)
        .await?;
    let started = std::time::Instant::now();
    let columns = t.key_columns();
    let picks: Vec<String> = t
        .key
        .iter()
        .map(|(c, k)| match k {
            Key::Text => format!("CAST({c} AS TEXT)"),
            Key::Int => format!("CAST({c} AS BIGINT)"),
        })
        .collect();
    let after: Vec<String> = (1..=t.key.len()).map(|i| format!("${i}")).collect();
    let mut last: Option<sqlx::any::AnyRow> = None;
    let mut moved = 0_i64;
    loop {
        let cond = if last.is_some() {
            format!("WHERE ({columns}) > ({})", after.join(", "))
        } else {
            String::new()
        };
        // The batch is read once (MATERIALIZED) and both inserted and measured.
        let sql = format!(
            "WITH batch AS MATERIALIZED (SELECT * FROM {table} {cond} ORDER BY {columns} LIMIT {MOVE_BATCH}), \
             moved AS (INSERT INTO {staged} SELECT * FROM batch) \
             SELECT (SELECT COUNT(*) FROM batch), {} FROM batch ORDER BY {columns} DESC LIMIT 1",
            picks.join(", ")
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        if let Some(row) = &last {
            for (i, (_, k)) in t.key.iter().enumerate() {
                q = match k {
                    Key::Text => q.bind(row.try_get::<String, _>(i + 1)?),
                    Key::Int => q.bind(row.try_get::<i64, _>(i + 1)?),
                };
            }
        }
        let Some(row) = q.fetch_optional(&mut *conn).await? else {
            break;
        };
        let n: i64 = row.try_get(0)?;
        moved += n;
        progress(&format!(
            "migration 16: {table}: {moved} of {total} rows moved into monthly partitions ({:.0} s)",
            started.elapsed().as_secs_f64()
        ));
        if n < MOVE_BATCH {
            break;
        }
        last = Some(row);
    }
    Ok(moved)
}

/// Migration 16 on PostgreSQL, in the migration's transaction: each record table becomes a
/// partitioned one with the same columns, its rows moved across in batches, then takes the
/// old one's place with its keys (plus created_ms), its other indexes and the `attempt_rows`
/// view over it. Writers wait while it runs (readers do not), so no row written meanwhile is
/// left behind; a store converted before is left as it is.
pub(crate) async fn convert(
    tx: &mut Transaction<'_, Any>,
    now_ms: i64,
    progress: Progress<'_>,
) -> Result<(), sqlx::Error> {
    let conn: &mut AnyConnection = tx;
    if is_partitioned(conn, CALLS.name).await? {
        return Ok(());
    }
    exec(
        conn,
        "LOCK TABLE calls, attempts, streams, contents IN EXCLUSIVE MODE".into(),
    )
    .await?;
    // Index builds after the move are faster with more memory (this transaction only).
    exec(conn, "SET LOCAL maintenance_work_mem = '256MB'".into()).await?;
    let months = months_to_make(conn, now_ms).await?;
    let view: Option<String> =
        sqlx::query_scalar("SELECT pg_get_viewdef(to_regclass('attempt_rows'), true)")
            .fetch_one(&mut *conn)
            .await?;
    let mut indexes = Vec::new();
    let mut moved = Vec::new();
    for t in TABLES {
        let (table, staged) = (t.name, format!("{}_partitioned", t.name));
        indexes.push(secondary_indexes(conn, table, progress).await?);
        exec(
            conn,
            format!("CREATE TABLE {staged} (LIKE {table} INCLUDING DEFAULTS) PARTITION BY RANGE (created_ms)"),
        )
        .await?;
        for m in &months {
            if let Some(name) = t.partition(*m) {
                let (from, to) = (m.start_ms(), m.end_ms());
                exec(
                    conn,
                    format!("CREATE TABLE {name} PARTITION OF {staged} FOR VALUES FROM ({from}) TO ({to})"),
                )
                .await?;
            }
        }
        exec(
            conn,
            format!(
                "CREATE TABLE {} PARTITION OF {staged} DEFAULT",
                t.default_partition()
            ),
        )
        .await?;
        moved.push(move_rows(conn, t, &staged, progress).await?);
    }
    exec(conn, "DROP VIEW IF EXISTS attempt_rows".into()).await?;
    for ((t, defs), rows) in TABLES.iter().zip(indexes).zip(&moved) {
        let table = t.name;
        let started = std::time::Instant::now();
        exec(conn, format!("DROP TABLE {table}")).await?;
        exec(
            conn,
            format!("ALTER TABLE {table}_partitioned RENAME TO {table}"),
        )
        .await?;
        exec(
            conn,
            format!(
                "ALTER TABLE {table} ADD PRIMARY KEY ({}, created_ms)",
                t.key_columns()
            ),
        )
        .await?;
        // As the old table had them; the same name now means the partitioned table.
        for def in defs {
            exec(conn, def).await?;
        }
        if *rows > 0 {
            progress(&format!(
                "migration 16: {table}: keys and indexes made ({:.0} s)",
                started.elapsed().as_secs_f64()
            ));
        }
    }
    if let Some(view) = view {
        exec(conn, format!("CREATE VIEW attempt_rows AS {view}")).await?;
    }
    // A new store (nothing moved) converts in an instant: nothing to say.
    if moved.iter().all(|n| *n == 0) {
        return Ok(());
    }
    let names: Vec<String> = months.iter().filter_map(|m| m.suffix()).collect();
    progress(&format!(
        "migration 16: calls, attempts, streams and contents are partitioned by month ({}) and a default partition",
        names.join(", ")
    ));
    Ok(())
}
