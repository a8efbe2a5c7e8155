//! Control-plane tables: users and their roles, releases, approvals and deploys (the audit
//! chain: `audit.rs`).

use super::SqlStore;
use super::rows::*;
use crate::{
    ApprovalRecord, DeployRecord, ReleaseRecord, Result, RoleRecord, StoreError, UserRecord,
};
use sqlx::Row;

impl SqlStore {
    pub(super) async fn db_insert_user(&self, u: &UserRecord) -> Result<()> {
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

    pub(super) async fn db_list_users(&self) -> Result<Vec<UserRecord>> {
        let rows = sqlx::query(
            "SELECT id, name, token_hash, admin, created_ms FROM users ORDER BY created_ms, id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(user_from_row)
            .collect::<std::result::Result<Vec<_>, _>>()?)
    }

    pub(super) async fn db_user_by_token_hash(&self, hash: &str) -> Result<Option<UserRecord>> {
        let row = sqlx::query(
            "SELECT id, name, token_hash, admin, created_ms FROM users WHERE token_hash = $1",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    pub(super) async fn db_set_admin(&self, user_id: &str, admin: bool) -> Result<()> {
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

    pub(super) async fn db_insert_role(&self, r: &RoleRecord) -> Result<bool> {
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

    pub(super) async fn db_list_roles(&self) -> Result<Vec<RoleRecord>> {
        let rows = sqlx::query(
            "SELECT user_id, role, tenant, created_ms FROM user_roles ORDER BY user_id, role, tenant",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                Ok(RoleRecord {
                    user_id: r.try_get("user_id")?,
                    role: r.try_get("role")?,
                    tenant: r.try_get("tenant")?,
                    created_ms: r.try_get("created_ms")?,
                })
            })
            .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?)
    }
    pub(super) async fn db_insert_release(&self, r: &ReleaseRecord) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO releases (id, prompt, content, author, created_ms) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT DO NOTHING",
        )
        .bind(r.id.as_str())
        .bind(r.prompt.as_str())
        .bind(r.content.as_str())
        .bind(r.author.as_str())
        .bind(r.created_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(super) async fn db_get_release(&self, id: &str) -> Result<Option<ReleaseRecord>> {
        let row = sqlx::query(
            "SELECT id, prompt, content, author, created_ms FROM releases WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(release_from_row).transpose()?)
    }

    pub(super) async fn db_list_releases(&self, prompt: &str) -> Result<Vec<ReleaseRecord>> {
        let rows = sqlx::query(
            "SELECT id, prompt, content, author, created_ms FROM releases WHERE prompt = $1 ORDER BY created_ms, id",
        )
        .bind(prompt)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(release_from_row)
            .collect::<std::result::Result<Vec<_>, _>>()?)
    }

    pub(super) async fn db_insert_approval(&self, a: &ApprovalRecord) -> Result<()> {
        sqlx::query("INSERT INTO approvals (release_id, approver, created_ms) VALUES ($1, $2, $3)")
            .bind(a.release_id.as_str())
            .bind(a.approver.as_str())
            .bind(a.created_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(super) async fn db_list_approvals(&self, release_id: &str) -> Result<Vec<ApprovalRecord>> {
        let rows = sqlx::query(
            "SELECT release_id, approver, created_ms FROM approvals WHERE release_id = $1 ORDER BY created_ms",
        )
        .bind(release_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(approval_from_row)
            .collect::<std::result::Result<Vec<_>, _>>()?)
    }

    pub(super) async fn db_insert_deploy(&self, d: &DeployRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO deploys (id, prompt, channel, release_id, actor, kind, mode, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(d.id.as_str())
        .bind(d.prompt.as_str())
        .bind(d.channel.as_str())
        .bind(d.release_id.as_str())
        .bind(d.actor.as_str())
        .bind(d.kind.as_str())
        .bind(d.mode.as_str())
        .bind(d.created_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn db_list_deploys(&self, prompt: &str) -> Result<Vec<DeployRecord>> {
        let rows = sqlx::query(
            "SELECT id, prompt, channel, release_id, actor, kind, mode, created_ms FROM deploys WHERE prompt = $1 ORDER BY created_ms, id",
        )
        .bind(prompt)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(deploy_from_row)
            .collect::<std::result::Result<Vec<_>, _>>()?)
    }

    pub(super) async fn db_current_deploys(&self) -> Result<Vec<DeployRecord>> {
        let rows = sqlx::query(
            "SELECT id, prompt, channel, release_id, actor, kind, mode, created_ms FROM deploys ORDER BY created_ms, id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut latest: std::collections::BTreeMap<(String, String), DeployRecord> =
            Default::default();
        for r in &rows {
            let d = deploy_from_row(r)?;
            latest.insert((d.prompt.clone(), d.channel.clone()), d);
        }
        Ok(latest.into_values().collect())
    }
}
