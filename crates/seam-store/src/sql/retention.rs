//! [`Retention`] on SQL: the lease, expired rows deleted in bounded transactions, and on
//! PostgreSQL the monthly partitions (`partitions.rs`).

use super::SqlStore;
use super::partitions::{self, CONTENTS, TABLES};
use crate::retention::{Deleted, Dropped, Expiry};
use crate::{Result, Retention};
use async_trait::async_trait;
use sqlx::AssertSqlSafe;

/// `$from, $from+1, ...`: `n` numbered parameters.
fn params(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait]
impl Retention for SqlStore {
    async fn take_lease(&self, name: &str, holder: &str, now_ms: i64, ttl_ms: i64) -> Result<bool> {
        // One statement, atomic on both backends: the row is written when there is none, when
        // the holder renews it, or when it has expired; otherwise nothing changes (0 rows).
        let done = sqlx::query(
            "INSERT INTO leases (name, holder, expires_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms \
             WHERE leases.holder = excluded.holder OR leases.expires_ms <= $4",
        )
        .bind(name)
        .bind(holder)
        .bind(now_ms.saturating_add(ttl_ms))
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn prepare_partitions(&self, now_ms: i64) -> Result<Vec<String>> {
        if self.sqlite {
            return Ok(Vec::new());
        }
        Ok(partitions::prepare(&self.pool, now_ms).await?)
    }

    async fn drop_expired_partitions(&self, what: Expiry, before_ms: i64) -> Result<Dropped> {
        if self.sqlite {
            return Ok(Dropped::default());
        }
        let tables: &[&partitions::Table] = match what {
            Expiry::Records => &TABLES,
            Expiry::Contents => &[&CONTENTS],
        };
        let (partitions, rows) = partitions::drop_expired(&self.pool, tables, before_ms).await?;
        if what == Expiry::Records {
            expire_hours(self, before_ms).await?;
        }
        Ok(Dropped { partitions, rows })
    }

    async fn delete_expired(&self, what: Expiry, before_ms: i64, limit: i64) -> Result<Deleted> {
        let (table, id) = match what {
            Expiry::Records => ("calls", "id"),
            Expiry::Contents => ("contents", "call_id"),
        };
        if what == Expiry::Records {
            expire_hours(self, before_ms).await?;
        }
        let mut tx = self.begin_write().await?;
        // Oldest first, through the table's time index. The calls picked are deleted with
        // everything recorded of them (by call id: an attempt starts after its call, so its
        // own time may be past the cutoff), in this one transaction.
        let ids: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT {id} FROM {table} WHERE created_ms < $1 ORDER BY created_ms LIMIT $2"
        )))
        .bind(before_ms)
        .bind(limit.max(1))
        .fetch_all(&mut *tx)
        .await?;
        let mut deleted = Deleted::default();
        match what {
            Expiry::Records => {
                expire_failures(&mut tx, before_ms, limit.max(1), &mut deleted).await?
            }
            Expiry::Contents => clear_comments(&mut tx, before_ms).await?,
        }
        if ids.is_empty() {
            tx.commit().await?;
            return Ok(deleted);
        }
        let by_call = |t: &str| {
            format!(
                "DELETE FROM {t} WHERE call_id IN ({})",
                params(1, ids.len())
            )
        };
        let mut statements: Vec<(&str, String)> = Vec::new();
        if what == Expiry::Records {
            for t in ["attempts", "streams", "contents"] {
                statements.push((t, by_call(t)));
            }
        }
        // The time bound too, so that PostgreSQL reads only the partitions before the cutoff.
        statements.push((
            table,
            format!(
                "DELETE FROM {table} WHERE created_ms < $1 AND {id} IN ({})",
                params(2, ids.len())
            ),
        ));
        for (t, sql) in statements {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            if t == table {
                q = q.bind(before_ms);
            }
            for i in &ids {
                q = q.bind(i.as_str());
            }
            // A statement per batch size: not worth a cached statement each.
            let n = q.persistent(false).execute(&mut *tx).await?.rows_affected();
            deleted.add_to(t, n);
        }
        tx.commit().await?;
        Ok(deleted)
    }
}

/// The oldest `limit` flags and feedback (migration 27) created before `before_ms`: they
/// expire with the records, by their own time (a flag's is its call's). A flag is picked with
/// its call's other flags, so that a call's signals go together.
async fn expire_failures(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    before_ms: i64,
    limit: i64,
    deleted: &mut Deleted,
) -> Result<()> {
    deleted.flags = sqlx::query(
        "DELETE FROM flags WHERE created_ms < $1 AND call_id IN (SELECT call_id FROM flags \
         WHERE created_ms < $1 ORDER BY created_ms LIMIT $2)",
    )
    .bind(before_ms)
    .bind(limit)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    deleted.feedback = sqlx::query(
        "DELETE FROM feedback WHERE id IN (SELECT id FROM feedback WHERE created_ms < $1 \
         ORDER BY created_ms LIMIT $2)",
    )
    .bind(before_ms)
    .bind(limit)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(())
}

/// Feedback's comments are user content: they go when captured content of their age does;
/// the score stays. Feedback is sent by hand, few rows a day, so one statement clears them.
async fn clear_comments(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    before_ms: i64,
) -> Result<()> {
    sqlx::query("UPDATE feedback SET comment = NULL WHERE created_ms < $1 AND comment IS NOT NULL")
        .bind(before_ms)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The hourly rollups (migration 22) of hours wholly before `before_ms`: they go with the
/// records they summed.
async fn expire_hours(store: &SqlStore, before_ms: i64) -> Result<()> {
    let mut tx = store.begin_write().await?;
    for table in ["call_hours", "attempt_hours"] {
        sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE hour_ms <= $1"
        )))
        .bind(before_ms - crate::HOUR_MS)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
