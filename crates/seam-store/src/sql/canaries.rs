//! Canary runs.

use super::SqlStore;
use super::from_row::{all, one, word};
use crate::{Canaries, CanaryRunRecord, Result, Retention};
use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

const COLUMNS: &str = "id, golden, started_ms, finished_ms, verdict, trigger, release_id, served_model, golden_version, detail";

impl FromRow<'_, AnyRow> for CanaryRunRecord {
    fn from_row(r: &AnyRow) -> std::result::Result<Self, sqlx::Error> {
        Ok(CanaryRunRecord {
            id: r.try_get("id")?,
            golden: r.try_get("golden")?,
            started_ms: r.try_get("started_ms")?,
            finished_ms: r.try_get("finished_ms")?,
            verdict: word(r, "verdict")?,
            trigger: word(r, "trigger")?,
            release_id: r.try_get("release_id")?,
            served_model: r.try_get("served_model")?,
            golden_version: r.try_get("golden_version")?,
            detail: r.try_get("detail")?,
        })
    }
}

#[async_trait]
impl Canaries for SqlStore {
    async fn insert_canary_run(&self, run: &CanaryRunRecord) -> Result<()> {
        let sql = format!(
            "INSERT INTO canary_runs ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        );
        // Not prepared on PostgreSQL: a NULL end, release or model would fix its place's type.
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(run.id.as_str())
            .bind(run.golden.as_str())
            .bind(run.started_ms)
            .bind(run.finished_ms)
            .bind(run.verdict.as_str())
            .bind(run.trigger.as_str())
            .bind(run.release_id.as_deref())
            .bind(run.served_model.as_deref())
            .bind(run.golden_version.as_str())
            .bind(run.detail.as_str())
            .persistent(self.sqlite)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn canary_runs(
        &self,
        golden: Option<&str>,
        limit: usize,
    ) -> Result<Vec<CanaryRunRecord>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = match golden {
            Some(g) => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM canary_runs WHERE golden = $1 \
                     ORDER BY started_ms DESC, id DESC LIMIT $2"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(g)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM canary_runs ORDER BY started_ms DESC, id DESC LIMIT $1"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        Ok(all(&rows)?)
    }

    async fn last_canary_runs(&self) -> Result<Vec<CanaryRunRecord>> {
        // The newest of each golden: no newer run (by start, then id) of the same golden.
        let sql = format!(
            "SELECT {COLUMNS} FROM canary_runs r WHERE NOT EXISTS (\
             SELECT 1 FROM canary_runs n WHERE n.golden = r.golden AND \
             (n.started_ms > r.started_ms OR (n.started_ms = r.started_ms AND n.id > r.id))) \
             ORDER BY golden"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        Ok(all(&rows)?)
    }

    async fn last_canary_pass(&self, golden: &str) -> Result<Option<CanaryRunRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM canary_runs WHERE golden = $1 AND verdict = 'pass' \
             ORDER BY started_ms DESC, id DESC LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(golden)
            .fetch_optional(&self.pool)
            .await?;
        Ok(one(row.as_ref())?)
    }

    async fn try_lease(&self, name: &str, holder: &str, now_ms: i64, ttl_ms: i64) -> Result<bool> {
        // One statement on the one leases table (sql/retention.rs): a second table of leases
        // would be a second place for the same rule.
        self.take_lease(name, holder, now_ms, ttl_ms).await
    }
}
