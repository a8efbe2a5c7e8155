//! Session pins. Every write is conditional on what was read, so several gateways sharing
//! one database agree on a session's release without locks.

use super::SqlStore;
use super::from_row::{all, one};
use crate::{
    Pinned, Result, SessionCount, SessionKey, SessionQuery, SessionRecord, SessionTtl, Sessions,
    StoreError,
};
use async_trait::async_trait;

const COLUMNS: &str =
    "tenant, session_id, prompt, channel, release_id, started_ms, pinned_ms, last_ms, expires_ms";
const KEY: &str = "tenant = $1 AND session_id = $2 AND prompt = $3 AND channel = $4";

fn bind_key<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    k: &'q SessionKey,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    q.bind(k.tenant.as_str())
        .bind(k.session_id.as_str())
        .bind(k.prompt.as_str())
        .bind(k.channel.as_str())
}

impl SqlStore {
    async fn get_session(&self, key: &SessionKey) -> Result<Option<SessionRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM sessions WHERE {KEY}");
        let row = bind_key(sqlx::query(sqlx::AssertSqlSafe(sql)), key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(one(row.as_ref())?)
    }
}

#[async_trait]
impl Sessions for SqlStore {
    async fn pin_session(
        &self,
        key: &SessionKey,
        release_id: &str,
        now: i64,
        ttl: SessionTtl,
    ) -> Result<Pinned> {
        let fresh = SessionRecord {
            tenant: key.tenant.clone(),
            session_id: key.session_id.clone(),
            prompt: key.prompt.clone(),
            channel: key.channel.clone(),
            release_id: release_id.to_string(),
            started_ms: now,
            pinned_ms: now,
            last_ms: now,
            expires_ms: ttl.expires(now, now),
        };
        // A lost race re-reads; three rounds cover any interleaving of two writers.
        for _ in 0..3 {
            match self.get_session(key).await? {
                None => {
                    let sql = format!(
                        "INSERT INTO sessions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING"
                    );
                    let done = bind_key(sqlx::query(sqlx::AssertSqlSafe(sql)), key)
                        .bind(release_id)
                        .bind(now)
                        .bind(now)
                        .bind(now)
                        .bind(fresh.expires_ms)
                        .execute(&self.pool)
                        .await?;
                    if done.rows_affected() == 1 {
                        return Ok(Pinned {
                            session: fresh,
                            started: true,
                            expired_release: None,
                        });
                    }
                }
                Some(old) if old.expires_ms > now => {
                    let last = now.max(old.last_ms);
                    let expires = ttl.expires(old.started_ms, last);
                    let sql = format!(
                        "UPDATE sessions SET last_ms = $5, expires_ms = $6 WHERE {KEY} AND last_ms <= $5"
                    );
                    bind_key(sqlx::query(sqlx::AssertSqlSafe(sql)), key)
                        .bind(last)
                        .bind(expires)
                        .execute(&self.pool)
                        .await?;
                    return Ok(Pinned {
                        session: SessionRecord {
                            last_ms: last,
                            expires_ms: expires,
                            ..old
                        },
                        started: false,
                        expired_release: None,
                    });
                }
                Some(old) => {
                    let sql = format!(
                        "UPDATE sessions SET release_id = $5, started_ms = $6, pinned_ms = $6, last_ms = $6, expires_ms = $7 \
                         WHERE {KEY} AND started_ms = $8 AND release_id = $9"
                    );
                    let done = bind_key(sqlx::query(sqlx::AssertSqlSafe(sql)), key)
                        .bind(release_id)
                        .bind(now)
                        .bind(fresh.expires_ms)
                        .bind(old.started_ms)
                        .bind(old.release_id.as_str())
                        .execute(&self.pool)
                        .await?;
                    if done.rows_affected() == 1 {
                        return Ok(Pinned {
                            session: fresh,
                            started: true,
                            expired_release: Some(old.release_id),
                        });
                    }
                }
            }
        }
        Err(StoreError::Invalid(format!(
            "session `{}` is being pinned by several writers at once; try again",
            key.session_id
        )))
    }

    async fn move_session(&self, key: &SessionKey, from: &str, to: &str, now: i64) -> Result<bool> {
        let sql = format!(
            "UPDATE sessions SET release_id = $5, pinned_ms = $6 WHERE {KEY} AND release_id = $7"
        );
        let done = bind_key(sqlx::query(sqlx::AssertSqlSafe(sql)), key)
            .bind(to)
            .bind(now)
            .bind(from)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_sessions(&self, q: &SessionQuery) -> Result<Vec<SessionRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM sessions WHERE expires_ms > $1 \
             AND ($2 = '' OR prompt = $2) AND ($3 = '' OR release_id = $3) AND ($4 = '' OR session_id = $4) \
             ORDER BY prompt, channel, release_id, started_ms, session_id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(q.live_at_ms)
            .bind(q.prompt.as_deref().unwrap_or(""))
            .bind(q.release_id.as_deref().unwrap_or(""))
            .bind(q.session_id.as_deref().unwrap_or(""))
            .fetch_all(&self.pool)
            .await?;
        Ok(all(&rows)?)
    }

    async fn session_counts(&self, live_at: i64) -> Result<Vec<SessionCount>> {
        let rows = sqlx::query(
            "SELECT prompt, channel, release_id, COUNT(*) AS n FROM sessions WHERE expires_ms > $1 \
             GROUP BY prompt, channel, release_id ORDER BY prompt, channel, release_id",
        )
        .bind(live_at)
        .fetch_all(&self.pool)
        .await?;
        Ok(all(&rows)?)
    }
}
