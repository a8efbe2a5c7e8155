//! Prompt releases, their approvals, and deploys (the audit chain they are checked against:
//! `audit.rs`).

use super::SqlStore;
use super::from_row::{all, one};
use crate::{ApprovalRecord, DeployRecord, ReleaseRecord, Releases, Result};
use async_trait::async_trait;

#[async_trait]
impl Releases for SqlStore {
    async fn insert_release(&self, r: &ReleaseRecord) -> Result<bool> {
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

    async fn get_release(&self, id: &str) -> Result<Option<ReleaseRecord>> {
        let row = sqlx::query(
            "SELECT id, prompt, content, author, created_ms FROM releases WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(one(row.as_ref())?)
    }

    async fn list_releases(&self, prompt: &str) -> Result<Vec<ReleaseRecord>> {
        let rows = sqlx::query(
            "SELECT id, prompt, content, author, created_ms FROM releases WHERE prompt = $1 ORDER BY created_ms, id",
        )
        .bind(prompt)
        .fetch_all(&self.pool)
        .await?;
        Ok(all(&rows)?)
    }

    async fn insert_approval(&self, a: &ApprovalRecord) -> Result<()> {
        sqlx::query("INSERT INTO approvals (release_id, approver, created_ms) VALUES ($1, $2, $3)")
            .bind(a.release_id.as_str())
            .bind(a.approver.as_str())
            .bind(a.created_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn list_approvals(&self, release_id: &str) -> Result<Vec<ApprovalRecord>> {
        let rows = sqlx::query(
            "SELECT release_id, approver, created_ms FROM approvals WHERE release_id = $1 ORDER BY created_ms",
        )
        .bind(release_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(all(&rows)?)
    }

    async fn insert_deploy(&self, d: &DeployRecord) -> Result<()> {
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

    async fn list_deploys(&self, prompt: &str) -> Result<Vec<DeployRecord>> {
        let rows = sqlx::query(
            "SELECT id, prompt, channel, release_id, actor, kind, mode, created_ms FROM deploys WHERE prompt = $1 ORDER BY created_ms, id",
        )
        .bind(prompt)
        .fetch_all(&self.pool)
        .await?;
        Ok(all(&rows)?)
    }

    async fn current_deploys(&self) -> Result<Vec<DeployRecord>> {
        let rows = sqlx::query(
            "SELECT id, prompt, channel, release_id, actor, kind, mode, created_ms FROM deploys ORDER BY created_ms, id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut latest: std::collections::BTreeMap<(String, String), DeployRecord> =
            Default::default();
        for d in all::<DeployRecord>(&rows)? {
            latest.insert((d.prompt.clone(), d.channel.clone()), d);
        }
        Ok(latest.into_values().collect())
    }
}
