//! Per-stream telemetry rows (written with their call, see `cells.rs`), read back.

use super::SqlStore;
use crate::{Result, StreamRecord, Tenants};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

pub(super) const COLUMNS: &str = "call_id, created_ms, route, provider, served_model, ttfc_ms, ttft_ms, chunks, content_chunks, chars, chars_p50, tokens_per_chunk, gap_p50_ms, gap_p95_ms, gap_max_ms, stalls, output_tokens, tokens_per_sec, client_closed, rechunked, slo";

pub(super) fn stream_from_row(r: &AnyRow) -> std::result::Result<StreamRecord, sqlx::Error> {
    Ok(StreamRecord {
        call_id: r.try_get("call_id")?,
        created_ms: r.try_get("created_ms")?,
        route: r.try_get("route")?,
        provider: r.try_get("provider")?,
        served_model: r.try_get("served_model")?,
        ttfc_ms: r.try_get("ttfc_ms")?,
        ttft_ms: r.try_get("ttft_ms")?,
        chunks: r.try_get("chunks")?,
        content_chunks: r.try_get("content_chunks")?,
        chars: r.try_get("chars")?,
        chars_p50: r.try_get("chars_p50")?,
        tokens_per_chunk: r.try_get("tokens_per_chunk")?,
        gap_p50_ms: r.try_get("gap_p50_ms")?,
        gap_p95_ms: r.try_get("gap_p95_ms")?,
        gap_max_ms: r.try_get("gap_max_ms")?,
        stalls: r.try_get("stalls")?,
        output_tokens: r.try_get("output_tokens")?,
        tokens_per_sec: r.try_get("tokens_per_sec")?,
        client_closed: r.try_get::<i64, _>("client_closed")? != 0,
        rechunked: r.try_get::<i64, _>("rechunked")? != 0,
        slo: super::rows::opt_word(r, "slo")?,
    })
}

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
        Ok(rows
            .iter()
            .map(stream_from_row)
            .collect::<std::result::Result<Vec<_>, _>>()?)
    }
}
