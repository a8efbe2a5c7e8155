//! Virtual API keys: only their hashes are stored.

use super::SqlStore;
use super::from_row::{all, one};
use super::rows::KEY_COLUMNS;
use crate::{KeyRecord, Keys, Result, StoreError};
use async_trait::async_trait;
use sqlx::AssertSqlSafe;

// Every dynamic string below only splices in the constant column list.

#[async_trait]
impl Keys for SqlStore {
    async fn insert_key(&self, k: &KeyRecord) -> Result<()> {
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        )))
        .bind(&k.id)
        .bind(&k.tenant)
        .bind(&k.name)
        .bind(&k.prefix)
        .bind(&k.hash)
        .bind(k.created_ms)
        .bind(k.revoked_ms)
        .bind(k.limits.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_keys(&self) -> Result<Vec<KeyRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {KEY_COLUMNS} FROM keys ORDER BY created_ms, id"
        )))
        .fetch_all(&self.pool)
        .await?;
        Ok(all(&rows)?)
    }

    async fn key_by_hash(&self, hash: &str) -> Result<Option<KeyRecord>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {KEY_COLUMNS} FROM keys WHERE hash = $1"
        )))
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(one(row.as_ref())?)
    }

    async fn revoke_key(&self, id_or_prefix: &str, now_ms: i64) -> Result<Vec<KeyRecord>> {
        if id_or_prefix.len() < 6 {
            return Err(StoreError::Invalid(
                "give a key id or at least 6 characters of its prefix".into(),
            ));
        }
        let matching: Vec<KeyRecord> = self
            .list_keys()
            .await?
            .into_iter()
            .filter(|k| k.revoked_ms.is_none())
            .filter(|k| k.is_named_by(id_or_prefix))
            .collect();
        if matching.len() > 1 {
            return Err(StoreError::Invalid(format!(
                "`{id_or_prefix}` matches {} keys; give the key id",
                matching.len()
            )));
        }
        for k in &matching {
            sqlx::query("UPDATE keys SET revoked_ms = $1 WHERE id = $2")
                .bind(now_ms)
                .bind(&k.id)
                .execute(&self.pool)
                .await?;
        }
        Ok(matching)
    }
}
