//! The dashboard's sign-in sessions (migration 21): only the hash of a session's id is kept.

use super::SqlStore;
use crate::{Result, UiSessionRecord, UiSessions};
use async_trait::async_trait;
use sqlx::Row;

#[async_trait]
impl UiSessions for SqlStore {
    async fn insert_ui_session(&self, s: &UiSessionRecord, now_ms: i64) -> Result<()> {
        sqlx::query("DELETE FROM ui_sessions WHERE expires_ms <= $1")
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO ui_sessions (id_hash, user_id, csrf, created_ms, expires_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(s.id_hash.as_str())
        .bind(s.user_id.as_str())
        .bind(s.csrf.as_str())
        .bind(s.created_ms)
        .bind(s.expires_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn ui_session(&self, id_hash: &str, now_ms: i64) -> Result<Option<UiSessionRecord>> {
        let row = sqlx::query(
            "SELECT id_hash, user_id, csrf, created_ms, expires_ms FROM ui_sessions \
             WHERE id_hash = $1 AND expires_ms > $2",
        )
        .bind(id_hash)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(UiSessionRecord {
            id_hash: row.try_get("id_hash")?,
            user_id: row.try_get("user_id")?,
            csrf: row.try_get("csrf")?,
            created_ms: row.try_get("created_ms")?,
            expires_ms: row.try_get("expires_ms")?,
        }))
    }

    async fn delete_ui_session(&self, id_hash: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM ui_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
