//! The audit chain's table: appends (signed with the store's audit key, if it has one), the
//! chain and its head, and the control-plane rows it is verified against.

use super::SqlStore;
use super::from_row::{all, one};
use crate::audit::{self, ControlRows, Head, Verdict};
use crate::{Audit, AuditRecord, Result, StoreError};
use async_trait::async_trait;

const AUDIT_COLUMNS: &str =
    "seq, created_ms, actor, action, subject, before, after, prev_hash, hash, key_id";

#[async_trait]
impl Audit for SqlStore {
    async fn append_audit(
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
            let tail: Option<(i64, String, Option<String>)> =
                sqlx::query_as("SELECT seq, hash, key_id FROM audit ORDER BY seq DESC LIMIT 1")
                    .fetch_optional(&mut *tx)
                    .await?;
            let key = self.audit_key.as_deref();
            audit::next_key(
                tail.as_ref().map(|(seq, _, id)| (*seq, id.as_deref())),
                key,
                action,
            )
            .map_err(StoreError::Invalid)?;
            let (seq, prev_hash) = match tail {
                Some((seq, hash, _)) => (seq + 1, hash),
                None => (1, audit::GENESIS.to_string()),
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
                key_id: None,
            };
            audit::seal(&mut rec, key);
            let inserted = sqlx::query(
                "INSERT INTO audit (seq, created_ms, actor, action, subject, before, after, prev_hash, hash, key_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
            .bind(rec.key_id.as_deref())
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

    async fn check_audit_key(&self) -> Result<()> {
        let tail: Option<(i64, Option<String>)> =
            sqlx::query_as("SELECT seq, key_id FROM audit ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&self.pool)
                .await?;
        audit::next_key(
            tail.as_ref().map(|(seq, id)| (*seq, id.as_deref())),
            self.audit_key.as_deref(),
            "",
        )
        .map(|_| ())
        .map_err(StoreError::Invalid)
    }

    async fn list_audit(&self) -> Result<Vec<AuditRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {AUDIT_COLUMNS} FROM audit ORDER BY seq"
        )))
        .fetch_all(&self.pool)
        .await?;
        Ok(all(&rows)?)
    }

    async fn audit_head(&self) -> Result<Head> {
        let tail = sqlx::query("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        Ok(one(tail.as_ref())?.unwrap_or_else(|| Head {
            count: 0,
            hash: audit::GENESIS.to_string(),
        }))
    }

    async fn verify_audit(&self) -> Result<Verdict> {
        let chain = self.list_audit().await?;
        let rows = self.control_rows().await?;
        Ok(audit::verify(&chain, &rows, self.audit_key.as_deref()))
    }
}

impl SqlStore {
    /// The releases, approvals and deploys tables: what the chain is verified against.
    async fn control_rows(&self) -> Result<ControlRows> {
        let releases = sqlx::query(
            "SELECT id, prompt, content, author, created_ms FROM releases ORDER BY created_ms, id",
        )
        .fetch_all(&self.pool)
        .await?;
        let approvals = sqlx::query(
            "SELECT release_id, approver, created_ms FROM approvals ORDER BY created_ms, release_id, approver",
        )
        .fetch_all(&self.pool)
        .await?;
        let deploys = sqlx::query(
            "SELECT id, prompt, channel, release_id, actor, kind, mode, created_ms FROM deploys ORDER BY created_ms, id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(ControlRows {
            releases: all(&releases)?,
            approvals: all(&approvals)?,
            deploys: all(&deploys)?,
        })
    }
}
