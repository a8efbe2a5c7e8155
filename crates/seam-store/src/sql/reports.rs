//! Aggregates over the call records: usage per tenant, route or trace, each purpose apart; the spend the limits
//! re-seed from (see `crate::spend`: range scans on the calls' time index, and for open traces
//! the partial trace index); and the reliability report's groups.

use super::SqlStore;
use super::from_row::{all, spend_row};
use super::scope;
use crate::{
    AttemptGroup, Buckets, CallGroup, Hours, Reports, Result, Spend, SpendQuery, StoreError,
    Tenants, UsageBy, UsageRow,
};
use crate::{HOUR_MS, hour_floor};
use async_trait::async_trait;
use seam_vocab::Outcome;
use sqlx::AssertSqlSafe;

// Every dynamic string below only splices in constant column names and numbered parameters.

#[async_trait]
impl Reports for SqlStore {
    async fn usage_in(
        &self,
        by: UsageBy,
        since_ms: i64,
        tenants: &Tenants,
    ) -> Result<Vec<UsageRow>> {
        let col = by.column();
        let (refused, failed) = (Outcome::Refused.as_str(), Outcome::Error.as_str());
        let within = scope::filter("tenant", 2, tenants);
        let query = sqlx::query(AssertSqlSafe(format!(
            "SELECT COALESCE({col}, '') AS k, COUNT(*) AS calls, \
             CAST(SUM(CASE WHEN outcome = '{refused}' THEN 1 ELSE 0 END) AS BIGINT) AS refused, \
             CAST(SUM(CASE WHEN outcome = '{failed}' THEN 1 ELSE 0 END) AS BIGINT) AS failed, \
             CAST(SUM(attempts) AS BIGINT) AS attempts, CAST(SUM(input_tokens) AS BIGINT) AS input_tokens, \
             CAST(SUM(output_tokens) AS BIGINT) AS output_tokens, SUM(cost_usd) AS cost_usd, \
             CAST(MAX(tokens_estimated) AS BIGINT) AS estimated, \
             CAST(SUM(unpriced) AS BIGINT) AS unpriced, purpose \
             FROM calls WHERE created_ms >= $1{within} GROUP BY COALESCE({col}, ''), purpose \
             ORDER BY CASE WHEN purpose IS NULL THEN 0 ELSE 1 END, purpose, cost_usd DESC, k"
        )))
        .bind(since_ms);
        let rows = scope::bind(query, tenants).fetch_all(&self.pool).await?;
        Ok(all(&rows)?)
    }

    async fn spend(&self, q: &SpendQuery) -> Result<Spend> {
        let mut starts = q.window_starts.clone();
        starts.sort_unstable();
        starts.dedup();
        let mut windows = Vec::new();
        for since in starts {
            let rows = sqlx::query(
                "SELECT tenant, key_id, COUNT(*) AS requests, \
                 CAST(SUM(attempts) AS BIGINT) AS attempts, \
                 CAST(SUM(input_tokens) AS BIGINT) AS input_tokens, \
                 CAST(SUM(output_tokens) AS BIGINT) AS output_tokens, SUM(cost_usd) AS cost_usd, \
                 SUM(CASE WHEN purpose = 'eval' THEN cost_usd ELSE 0.0 END) AS eval_cost_usd, \
                 SUM(CASE WHEN purpose = 'canary' THEN cost_usd ELSE 0.0 END) AS canary_cost_usd \
                 FROM calls WHERE created_ms >= $1 AND created_ms < $2 AND attempts > 0 \
                 GROUP BY tenant, key_id ORDER BY tenant, key_id",
            )
            .bind(since)
            .bind(q.until_ms)
            .fetch_all(&self.pool)
            .await?;
            for r in &rows {
                windows.push(spend_row(r, since)?);
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
        .await?;
        Ok(Spend {
            windows,
            traces: all(&traces)?,
        })
    }

    async fn reliability_in(
        &self,
        since_ms: i64,
        tenants: &Tenants,
    ) -> Result<(Vec<CallGroup>, Vec<AttemptGroup>)> {
        let within = scope::filter("tenant", 2, tenants);
        let query = sqlx::query(AssertSqlSafe(format!(
            "SELECT route, outcome, COUNT(*) AS calls, \
             CAST(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END) AS BIGINT) AS dispatched, \
             CAST(SUM(attempts) AS BIGINT) AS attempts, SUM(cost_usd) AS cost_usd, \
             CAST(SUM(budget_exhausted) AS BIGINT) AS budget_exhausted \
             FROM calls WHERE created_ms >= $1{within} GROUP BY route, outcome ORDER BY route, outcome",
        )))
        .bind(since_ms);
        let calls = all(&scope::bind(query, tenants).fetch_all(&self.pool).await?)?;
        let c_within = scope::filter("c.tenant", 2, tenants);
        let query = sqlx::query(AssertSqlSafe(format!(
            // Through the calls' time index: attempts are found by their call, not scanned.
            // Attempts kept in their call's row are read from it directly (through the view,
            // SQLite would build the whole union before joining).
            "SELECT route, provider, outcome, COALESCE(error_class, '') AS error_class, \
             COUNT(*) AS attempts, \
             CAST(SUM(CASE WHEN seq = 1 THEN 1 ELSE 0 END) AS BIGINT) AS first_attempts, \
             SUM(cost_usd) AS cost_usd FROM ( \
             SELECT a.route, a.provider, a.outcome, a.error_class, a.seq, a.cost_usd \
             FROM calls c JOIN attempts a ON a.call_id = c.id WHERE c.created_ms >= $1{c_within} \
             UNION ALL SELECT route, provider, attempt_outcome, attempt_error_class, 1, cost_usd \
             FROM calls WHERE created_ms >= $1 AND attempt_model IS NOT NULL{within}) AS a \
             GROUP BY route, provider, outcome, COALESCE(error_class, '') \
             ORDER BY route, provider, outcome",
        )))
        .bind(since_ms);
        let attempts = all(&scope::bind(query, tenants).fetch_all(&self.pool).await?)?;
        Ok((calls, attempts))
    }

    async fn hours_in(&self, since_ms: i64, tenants: &Tenants) -> Result<Hours> {
        let since = hour_floor(since_ms);
        let within = scope::filter("tenant", 2, tenants);
        let query = sqlx::query(AssertSqlSafe(format!(
            "SELECT hour_ms, tenant, key_id, route, provider, purpose, outcome, error_class, calls, \
             dispatched, attempts, \
             budget_exhausted, input_tokens, output_tokens, cost_usd, estimated, unpriced \
             FROM call_hours WHERE hour_ms >= $1{within} ORDER BY hour_ms"
        )))
        .bind(since);
        let calls = all(&scope::bind(query, tenants).fetch_all(&self.pool).await?)?;
        let query = sqlx::query(AssertSqlSafe(format!(
            "SELECT hour_ms, tenant, route, provider, outcome, error_class, attempts, \
             first_attempts, cost_usd FROM attempt_hours WHERE hour_ms >= $1{within} ORDER BY hour_ms"
        )))
        .bind(since);
        let attempts = all(&scope::bind(query, tenants).fetch_all(&self.pool).await?)?;
        Ok(Hours { calls, attempts })
    }

    async fn reliability_buckets_in(
        &self,
        since_ms: i64,
        bucket_ms: i64,
        tenants: &Tenants,
    ) -> Result<Buckets> {
        if bucket_ms <= 0 {
            return Err(StoreError::Invalid(format!(
                "a bucket of {bucket_ms} ms: give a positive width"
            )));
        }
        if bucket_ms % HOUR_MS == 0 {
            return self.hour_buckets(since_ms, bucket_ms, tenants).await;
        }
        // As `reliability_in`, with the bucket (integer division on both backends) and the
        // deciding provider and error class (a refusal's code) in the grouping.
        let within = scope::filter("tenant", 3, tenants);
        let query = sqlx::query(AssertSqlSafe(format!(
            "SELECT (created_ms / $2) * $2 AS start_ms, route, COALESCE(provider, '') AS provider, \
             outcome, COALESCE(error_class, '') AS error_class, COUNT(*) AS calls, \
             CAST(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END) AS BIGINT) AS dispatched, \
             CAST(SUM(attempts) AS BIGINT) AS attempts, SUM(cost_usd) AS cost_usd, \
             CAST(SUM(budget_exhausted) AS BIGINT) AS budget_exhausted \
             FROM calls WHERE created_ms >= $1{within} GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5",
        )))
        .bind(since_ms)
        .bind(bucket_ms);
        let calls = all(&scope::bind(query, tenants).fetch_all(&self.pool).await?)?;
        let c_within = scope::filter("c.tenant", 3, tenants);
        let query = sqlx::query(AssertSqlSafe(format!(
            "SELECT (created_ms / $2) * $2 AS start_ms, route, provider, outcome, \
             COALESCE(error_class, '') AS error_class, COUNT(*) AS attempts, \
             CAST(SUM(CASE WHEN seq = 1 THEN 1 ELSE 0 END) AS BIGINT) AS first_attempts, \
             SUM(cost_usd) AS cost_usd FROM ( \
             SELECT c.created_ms, a.route, a.provider, a.outcome, a.error_class, a.seq, a.cost_usd \
             FROM calls c JOIN attempts a ON a.call_id = c.id WHERE c.created_ms >= $1{c_within} \
             UNION ALL SELECT created_ms, route, provider, attempt_outcome, attempt_error_class, 1, \
             cost_usd FROM calls WHERE created_ms >= $1 AND attempt_model IS NOT NULL{within}) AS a \
             GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5",
        )))
        .bind(since_ms)
        .bind(bucket_ms);
        let attempts = all(&scope::bind(query, tenants).fetch_all(&self.pool).await?)?;
        Ok(Buckets {
            bucket_ms,
            calls,
            attempts,
        })
    }
}

impl SqlStore {
    /// `reliability_buckets_in` for buckets of whole hours, from the hourly rollups: from the
    /// start of the hour `since_ms` falls in.
    async fn hour_buckets(
        &self,
        since_ms: i64,
        bucket_ms: i64,
        tenants: &Tenants,
    ) -> Result<Buckets> {
        let within = scope::filter("tenant", 3, tenants);
        let query = sqlx::query(AssertSqlSafe(format!(
            "SELECT (hour_ms / $2) * $2 AS start_ms, route, provider, outcome, error_class, \
             CAST(SUM(calls) AS BIGINT) AS calls, CAST(SUM(dispatched) AS BIGINT) AS dispatched, \
             CAST(SUM(attempts) AS BIGINT) AS attempts, SUM(cost_usd) AS cost_usd, \
             CAST(SUM(budget_exhausted) AS BIGINT) AS budget_exhausted \
             FROM call_hours WHERE hour_ms >= $1{within} GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5",
        )))
        .bind(hour_floor(since_ms))
        .bind(bucket_ms);
        let calls = all(&scope::bind(query, tenants).fetch_all(&self.pool).await?)?;
        let query = sqlx::query(AssertSqlSafe(format!(
            "SELECT (hour_ms / $2) * $2 AS start_ms, route, provider, outcome, error_class, \
             CAST(SUM(attempts) AS BIGINT) AS attempts, \
             CAST(SUM(first_attempts) AS BIGINT) AS first_attempts, SUM(cost_usd) AS cost_usd \
             FROM attempt_hours WHERE hour_ms >= $1{within} GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5",
        )))
        .bind(hour_floor(since_ms))
        .bind(bucket_ms);
        let attempts = all(&scope::bind(query, tenants).fetch_all(&self.pool).await?)?;
        Ok(Buckets {
            bucket_ms,
            calls,
            attempts,
        })
    }
}
