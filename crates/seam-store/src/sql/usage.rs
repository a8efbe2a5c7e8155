//! Imported usage history and its union with the live rollups (`crate::usage`).

use super::SqlStore;
use super::from_row::all;
use super::scope;
use crate::usage::merged;
use crate::{ImportedHour, Result, StoreError, Tenants, UsageHistory, UsageHour, UsageSource};
use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, FromRow, Row};

/// Rows per INSERT: 8 parameters each, well under both backends' limit on parameters.
const ROWS_PER_INSERT: usize = 500;

impl FromRow<'_, AnyRow> for UsageHour {
    fn from_row(r: &AnyRow) -> std::result::Result<Self, sqlx::Error> {
        let source: i64 = r.try_get("source")?;
        Ok(UsageHour {
            hour_ms: r.try_get("hour_ms")?,
            tenant: r.try_get("tenant")?,
            route: r.try_get("route")?,
            key_id: r.try_get("key_id")?,
            calls: r.try_get("calls")?,
            input_tokens: r.try_get("input_tokens")?,
            output_tokens: r.try_get("output_tokens")?,
            cost_usd: r.try_get("cost_usd")?,
            estimated: r.try_get("estimated")?,
            source: if source == 1 {
                UsageSource::Imported
            } else {
                UsageSource::Live
            },
        })
    }
}

#[async_trait]
impl UsageHistory for SqlStore {
    async fn import_hours(&self, rows: &[ImportedHour]) -> Result<u64> {
        if let Some(r) = rows.iter().find(|r| !r.cost_usd.is_finite()) {
            return Err(StoreError::Invalid(format!(
                "imported hour {} of tenant `{}`: the cost is not a number",
                r.hour_ms, r.tenant
            )));
        }
        let rows = merged(rows);
        let mut tx = self.begin_write().await?;
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let p = i * 8;
                    format!(
                        "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                        p + 1,
                        p + 2,
                        p + 3,
                        p + 4,
                        p + 5,
                        p + 6,
                        p + 7,
                        p + 8
                    )
                })
                .collect();
            // Only numbered parameters are spliced in.
            let sql = format!(
                "INSERT INTO imported_hours (hour_ms, tenant, route, key_id, input_tokens, \
                 output_tokens, cost_usd, calls) VALUES {} ON CONFLICT (hour_ms, tenant, route, \
                 key_id) DO UPDATE SET input_tokens = excluded.input_tokens, \
                 output_tokens = excluded.output_tokens, cost_usd = excluded.cost_usd, \
                 calls = excluded.calls",
                values.join(", ")
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for r in chunk {
                q = q
                    .bind(r.hour_ms)
                    .bind(r.tenant.clone())
                    .bind(r.route.clone())
                    .bind(r.key_id.clone())
                    .bind(r.input_tokens)
                    .bind(r.output_tokens)
                    .bind(r.cost_usd)
                    .bind(r.calls);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(rows.len() as u64)
    }

    async fn usage_hours(
        &self,
        since_ms: i64,
        until_ms: i64,
        tenants: &Tenants,
    ) -> Result<Vec<UsageHour>> {
        let within = scope::filter("tenant", 3, tenants);
        // Only numbered parameters are spliced in. `source`: 0 live, 1 imported.
        let query = sqlx::query(AssertSqlSafe(format!(
            "SELECT hour_ms, tenant, route, key_id, CAST(SUM(calls) AS BIGINT) AS calls, \
             CAST(SUM(input_tokens) AS BIGINT) AS input_tokens, \
             CAST(SUM(output_tokens) AS BIGINT) AS output_tokens, SUM(cost_usd) AS cost_usd, \
             CAST(SUM(estimated) AS BIGINT) AS estimated, CAST(0 AS BIGINT) AS source \
             FROM call_hours WHERE hour_ms >= $1 AND hour_ms < $2 AND purpose = ''{within} \
             GROUP BY hour_ms, tenant, route, key_id \
             UNION ALL SELECT hour_ms, tenant, route, key_id, calls, input_tokens, output_tokens, \
             cost_usd, CAST(0 AS BIGINT) AS estimated, CAST(1 AS BIGINT) AS source \
             FROM imported_hours WHERE hour_ms >= $1 AND hour_ms < $2{within} \
             ORDER BY hour_ms, source, tenant, route, key_id"
        )))
        .bind(crate::hour_floor(since_ms))
        .bind(until_ms);
        let rows = scope::bind(query, tenants).fetch_all(&self.pool).await?;
        Ok(all(&rows)?)
    }
}
