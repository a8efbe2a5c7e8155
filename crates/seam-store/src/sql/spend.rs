//! The re-seed aggregate (see `crate::spend`): range scans on the calls' time index, and for
//! open traces the partial trace index (calls in a named trace).

use super::SqlStore;
use crate::{Result, Spend, SpendQuery, SpendRow, TraceSpend};
use sqlx::Row;

impl SqlStore {
    pub(super) async fn db_spend(&self, q: &SpendQuery) -> Result<Spend> {
        let mut starts = q.window_starts.clone();
        starts.sort_unstable();
        starts.dedup();
        let mut windows = Vec::new();
        for since in starts {
            let rows = sqlx::query(
                "SELECT tenant, key_id, COUNT(*) AS requests, \
                 CAST(SUM(attempts) AS BIGINT) AS attempts, \
                 CAST(SUM(input_tokens) AS BIGINT) AS input_tokens, \
                 CAST(SUM(output_tokens) AS BIGINT) AS output_tokens, SUM(cost_usd) AS cost_usd \
                 FROM calls WHERE created_ms >= $1 AND created_ms < $2 AND attempts > 0 \
                 GROUP BY tenant, key_id ORDER BY tenant, key_id",
            )
            .bind(since)
            .bind(q.until_ms)
            .fetch_all(&self.pool)
            .await?;
            for r in &rows {
                windows.push(SpendRow {
                    since_ms: since,
                    tenant: r.try_get("tenant")?,
                    key_id: r.try_get("key_id")?,
                    requests: r.try_get("requests")?,
                    attempts: r.try_get("attempts")?,
                    input_tokens: r.try_get("input_tokens")?,
                    output_tokens: r.try_get("output_tokens")?,
                    cost_usd: r.try_get("cost_usd")?,
                });
            }
        }
        let traces = sqlx::query(
            "SELECT tenant, trace_id, MIN(created_ms) AS first_ms, MAX(created_ms) AS last_ms, \
             CAST(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END) AS BIGINT) AS calls, \
             CAST(SUM(attempts) AS BIGINT) AS attempts, \
             CAST(SUM(input_tokens + output_tokens) AS BIGINT) AS tokens, \
             SUM(cost_usd) AS cost_usd \
             FROM calls WHERE trace_id <> id AND created_ms < $2 AND trace_id IN \
             (SELECT trace_id FROM calls WHERE created_ms >= $1 AND created_ms < $2 AND trace_id <> id) \
             GROUP BY tenant, trace_id HAVING MAX(created_ms) >= $1 ORDER BY tenant, trace_id",
        )
        .bind(q.traces_since_ms)
        .bind(q.until_ms)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(TraceSpend {
                tenant: r.try_get("tenant")?,
                trace_id: r.try_get("trace_id")?,
                first_ms: r.try_get("first_ms")?,
                last_ms: r.try_get("last_ms")?,
                calls: r.try_get("calls")?,
                attempts: r.try_get("attempts")?,
                tokens: r.try_get("tokens")?,
                cost_usd: r.try_get("cost_usd")?,
            })
        })
        .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?;
        Ok(Spend { windows, traces })
    }
}
