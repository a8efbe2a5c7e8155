//! Per-stream telemetry rows (written with their call, see `cells.rs`), read back.

use super::SqlStore;
use super::from_row::{all, one};
use crate::{Result, StreamRecord, Tenants};
use sqlx::AssertSqlSafe;

pub(super) const COLUMNS: &str = "call_id, created_ms, route, provider, served_model, ttfc_ms, ttft_ms, chunks, content_chunks, chars, chars_p50, tokens_per_chunk, gap_p50_ms, gap_p95_ms, gap_max_ms, stalls, output_tokens, tokens_per_sec, client_closed, rechunked, slo";

impl SqlStore {
    pub(super) async fn db_list_streams(
        &self,
        since_ms: i64,
        tenants: &Tenants,
    ) -> Result<Vec<StreamRecord>> {
        // A stream's tenant is its call's (found by the call's key).
        let within = match tenants {
            Tenants::All => String::new(),
            only => format!(
                " AND EXISTS (SELECT 1 FROM calls c WHERE c.id = streams.call_id{})",
                super::scope::filter("c.tenant", 2, only)
            ),
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM streams WHERE created_ms >= $1{within} ORDER BY created_ms, call_id"
        );
        let query = sqlx::query(AssertSqlSafe(sql)).bind(since_ms);
        let rows = super::scope::bind(query, tenants)
            .fetch_all(&self.pool)
            .await?;
        Ok(all(&rows)?)
    }

    pub(super) async fn db_get_stream(&self, call_id: &str) -> Result<Option<StreamRecord>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM streams WHERE call_id = $1"
        )))
        .bind(call_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(one(row.as_ref())?)
    }
}
