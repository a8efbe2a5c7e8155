//! Control-plane users and their tenant-scoped roles (an admin is a flag of the user).

use super::SqlStore;
use super::from_row::{all, one};
use super::rows::flag;
use crate::{Result, RoleRecord, StoreError, UserRecord, Users};
use async_trait::async_trait;

#[async_trait]
impl Users for SqlStore {
    async fn insert_user(&self, u: &UserRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO users (id, name, token_hash, admin, created_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(u.id.as_str())
        .bind(u.name.as_str())
        .bind(u.token_hash.as_str())
        .bind(flag(u.admin))
        .bind(u.created_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>> {
        let rows = sqlx::query(
            "SELECT id, name, token_hash, admin, created_ms FROM users ORDER BY created_ms, id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(all(&rows)?)
    }

    async fn user_by_token_hash(&self, hash: &str) -> Result<Option<UserRecord>> {
        let row = sqlx::query(
            "SELECT id, name, token_hash, admin, created_ms FROM users WHERE token_hash = $1",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(one(row.as_ref())?)
    }

    async fn set_admin(&self, user_id: &str, admin: bool) -> Result<()> {
        let done = sqlx::query("UPDATE users SET admin = $1 WHERE id = $2")
            .bind(flag(admin))
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Invalid(format!("no user with id `{user_id}`")));
        }
        Ok(())
    }

    async fn insert_role(&self, r: &RoleRecord) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO user_roles (user_id, role, tenant, created_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(r.user_id.as_str())
        .bind(r.role.as_str())
        .bind(r.tenant.as_str())
        .bind(r.created_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_roles(&self) -> Result<Vec<RoleRecord>> {
        let rows = sqlx::query(
            "SELECT user_id, role, tenant, created_ms FROM user_roles ORDER BY user_id, role, tenant",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(all(&rows)?)
    }
}
