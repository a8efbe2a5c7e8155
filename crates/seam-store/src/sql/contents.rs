//! Captured content rows (written with their call, see `cells.rs`), read back.

use super::SqlStore;
use super::from_row::one;
use crate::{ContentRecord, Result};
use sqlx::AssertSqlSafe;

pub(super) const COLUMNS: &str = "call_id, created_ms, format, bytes, truncated, redactions, body";

impl SqlStore {
    pub(super) async fn db_get_content(&self, call_id: &str) -> Result<Option<ContentRecord>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM contents WHERE call_id = $1"
        )))
        .bind(call_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(one(row.as_ref())?)
    }
}
