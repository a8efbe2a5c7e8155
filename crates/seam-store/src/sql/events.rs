//! The change timeline, and the served models and fingerprints seen so far.

use super::SqlStore;
use super::from_row::all;
use super::rows::EVENT_COLUMNS;
use crate::{EventRecord, Events, Result, ServedRecord};
use async_trait::async_trait;
use sqlx::AssertSqlSafe;

// Every dynamic string below only splices in the constant column list.

#[async_trait]
impl Events for SqlStore {
    async fn insert_event(&self, e: &EventRecord) -> Result<()> {
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO events ({EVENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        )))
        .bind(e.id.as_str())
        .bind(e.created_ms)
        .bind(e.kind.as_str())
        .bind(e.route.as_deref())
        .bind(e.provider.as_deref())
        .bind(e.message.as_str())
        .bind(e.details.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_events(&self, since_ms: i64, limit: i64) -> Result<Vec<EventRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE created_ms >= $1 ORDER BY created_ms, id LIMIT $2"
        )))
        .bind(since_ms)
        .bind(if limit <= 0 { 1000 } else { limit })
        .fetch_all(&self.pool)
        .await?;
        Ok(all(&rows)?)
    }

    async fn list_served(&self) -> Result<Vec<ServedRecord>> {
        let rows = sqlx::query(
            "SELECT provider, requested_model, served_model, system_fingerprint, first_seen_ms, first_call_id \
             FROM served_models ORDER BY first_seen_ms",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(all(&rows)?)
    }

    async fn insert_served(&self, s: &ServedRecord) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO served_models (provider, requested_model, served_model, system_fingerprint, first_seen_ms, first_call_id) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(s.provider.as_str())
        .bind(s.requested_model.as_str())
        .bind(s.served_model.as_str())
        .bind(s.system_fingerprint.as_str())
        .bind(s.first_seen_ms)
        .bind(s.first_call_id.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
