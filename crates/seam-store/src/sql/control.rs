//! Control-plane tables: users and their roles, the audit chain, releases, approvals and deploys.

use super::SqlStore;
use super::rows::*;
use crate::{
    ApprovalRecord, AuditRecord, DeployRecord, ReleaseRecord, Result, RoleRecord, StoreError,
    UserRecord,
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

    pub(super) async fn db_append_audit(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        before: Option<String>,
        after: Option<String>,
        now_ms: i64,
    ) -> Result<AuditRecord> {
        // PostgreSQL: appends are serialized by a transaction-scoped advisory lock. SQLite
        // (one writer at a time anyway): another process may append between our read and
        // our insert; the seq key refuses the duplicate and we try again on the new tail.
        let mut last_err = None;
        for _ in 0..5 {
            let mut tx = self.begin_write().await?;
            if !self.sqlite {
                // Appends from every gateway and CLI queue here, one at a time, until commit.
                sqlx::query("SELECT pg_advisory_xact_lock(7474002)")
                    .execute(&mut *tx)
                    .await?;
            }
            let tail = sqlx::query("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
            let (seq, prev_hash) = match tail {
                Some(r) => (
                    r.try_get::<i64, _>("seq")? + 1,
                    r.try_get::<String, _>("hash")?,
                ),
                None => (1, crate::audit::GENESIS.to_string()),
            };
            let mut rec = AuditRecord {
                seq,
                created_ms: now_ms,
                actor: actor.to_string(),
                action: action.to_string(),
                subject: subject.to_string(),
                before: before.clone(),
                after: after.clone(),
                prev_hash,
                hash: String::new(),
            };
            rec.hash = crate::audit::record_hash(&rec);
            let inserted = sqlx::query(
                "INSERT INTO audit (seq, created_ms, actor, action, subject, before, after, prev_hash, hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(rec.seq)
            .bind(rec.created_ms)
            .bind(rec.actor.as_str())
            .bind(rec.action.as_str())
            .bind(rec.subject.as_str())
            .bind(rec.before.as_deref())
            .bind(rec.after.as_deref())
            .bind(rec.prev_hash.as_str())
            .bind(rec.hash.as_str())
            .execute(&mut *tx)
            .await;
            match inserted {
                Ok(_) => match tx.commit().await {
                    Ok(()) => return Ok(rec),
                    Err(e) => last_err = Some(e),
                },
                Err(e) => last_err = Some(e),
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        Err(StoreError::Db(
            last_err.unwrap_or(sqlx::Error::PoolTimedOut),
        ))
    }

    pub(super) async fn db_list_audit(&self) -> Result<Vec<AuditRecord>> {
        let rows = sqlx::query(
            "SELECT seq, created_ms, actor, action, subject, before, after, prev_hash, hash FROM audit ORDER BY seq",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                Ok(AuditRecord {
                    seq: r.try_get("seq")?,
                    created_ms: r.try_get("created_ms")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    subject: r.try_get("subject")?,
                    before: r.try_get("before")?,
                    after: r.try_get("after")?,
                    prev_hash: r.try_get("prev_hash")?,
                    hash: r.try_get("hash")?,
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
            .map(|r| {
                Ok(ApprovalRecord {
                    release_id: r.try_get("release_id")?,
                    approver: r.try_get("approver")?,
                    created_ms: r.try_get("created_ms")?,
                })
            })
            .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?)
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
