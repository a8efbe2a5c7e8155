//! Rows to record types: each type's one mapping from the columns (or aliases) the queries
//! that read it select. Booleans are stored as 0/1 integers on both backends, and sqlx's
//! `Any` driver decodes no `bool` from an integer, so a mapping reads flags with [`is_set`].

use crate::audit::Head;
use crate::{
    ApprovalRecord, AttemptGroup, AttemptHour, AttemptRecord, AuditRecord, CallGroup, CallHour,
    CallRecord, ContentRecord, DeployRecord, EventRecord, ExportCursor, KeyRecord, ReleaseRecord,
    RoleRecord, ServedRecord, SessionCount, SessionRecord, SpendRow, StreamRecord, TraceSpend,
    TraceSummary, UsageRow, UserRecord,
};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};
use std::str::FromStr;

type Mapped<T> = std::result::Result<T, sqlx::Error>;

/// A 0/1 flag column.
fn is_set(r: &AnyRow, col: &str) -> Mapped<bool> {
    Ok(r.try_get::<i64, _>(col)? != 0)
}

/// Every row, mapped.
pub(super) fn all<T: for<'r> FromRow<'r, AnyRow>>(rows: &[AnyRow]) -> Mapped<Vec<T>> {
    rows.iter().map(T::from_row).collect()
}

/// The row, if there is one, mapped.
pub(super) fn one<T: for<'r> FromRow<'r, AnyRow>>(row: Option<&AnyRow>) -> Mapped<Option<T>> {
    row.map(T::from_row).transpose()
}

impl FromRow<'_, AnyRow> for CallRecord {
    fn from_row(r: &AnyRow) -> Mapped<Self> {
        Ok(CallRecord {
            id: r.try_get("id")?,
            created_ms: r.try_get("created_ms")?,
            tenant: r.try_get("tenant")?,
            key_id: r.try_get("key_id")?,
            trace_id: r.try_get("trace_id")?,
            session_id: r.try_get("session_id")?,
            endpoint: r.try_get("endpoint")?,
            route: r.try_get("route")?,
            stream: is_set(r, "stream")?,
            requested_model: r.try_get("requested_model")?,
            provider: r.try_get("provider")?,
            served_model: r.try_get("served_model")?,
            system_fingerprint: r.try_get("system_fingerprint")?,
            status: r.try_get("status")?,
            outcome: word(r, "outcome")?,
            error_class: opt_word(r, "error_class")?,
            error_message: r.try_get("error_message")?,
            attempts: r.try_get("attempts")?,
            latency_ms: r.try_get("latency_ms")?,
            ttfb_ms: r.try_get("ttfb_ms")?,
            input_tokens: r.try_get("input_tokens")?,
            output_tokens: r.try_get("output_tokens")?,
            cost_usd: r.try_get("cost_usd")?,
            tokens_estimated: is_set(r, "tokens_estimated")?,
            budget_exhausted: is_set(r, "budget_exhausted")?,
            release_id: r.try_get("release_id")?,
            unpriced: is_set(r, "unpriced")?,
            upstream_request_id: r.try_get("upstream_request_id")?,
            purpose: purpose(r, "purpose")?,
            request_hash: r.try_get("request_hash")?,
        })
    }
}

/// A `purpose` column: NULL is live traffic.
fn purpose(r: &AnyRow, col: &str) -> Mapped<seam_vocab::Purpose> {
    let s: Option<String> = r.try_get(col)?;
    seam_vocab::Purpose::from_stored(s.as_deref()).map_err(|e| unknown_word(col, e))
}

impl FromRow<'_, AnyRow> for AttemptRecord {
    fn from_row(r: &AnyRow) -> Mapped<Self> {
        Ok(AttemptRecord {
            id: r.try_get("id")?,
            call_id: r.try_get("call_id")?,
            seq: r.try_get("seq")?,
            created_ms: r.try_get("created_ms")?,
            tenant: r.try_get("tenant")?,
            trace_id: r.try_get("trace_id")?,
            route: r.try_get("route")?,
            provider: r.try_get("provider")?,
            model: r.try_get("model")?,
            served_model: r.try_get("served_model")?,
            system_fingerprint: r.try_get("system_fingerprint")?,
            status: r.try_get("status")?,
            outcome: word(r, "outcome")?,
            error_class: opt_word(r, "error_class")?,
            error_body: r.try_get("error_body")?,
            latency_ms: r.try_get("latency_ms")?,
            ttfb_ms: r.try_get("ttfb_ms")?,
            input_tokens: r.try_get("input_tokens")?,
            output_tokens: r.try_get("output_tokens")?,
            cost_usd: r.try_get("cost_usd")?,
            tokens_estimated: is_set(r, "tokens_estimated")?,
            unpriced: is_set(r, "unpriced")?,
            upstream_request_id: r.try_get("upstream_request_id")?,
        })
    }
}

impl FromRow<'_, AnyRow> for StreamRecord {
    fn from_row(r: &AnyRow) -> Mapped<Self> {
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
            client_closed: is_set(r, "client_closed")?,
            rechunked: is_set(r, "rechunked")?,
            slo: opt_word(r, "slo")?,
        })
    }
}

impl FromRow<'_, AnyRow> for ContentRecord {
    fn from_row(r: &AnyRow) -> Mapped<Self> {
        Ok(ContentRecord {
            call_id: r.try_get("call_id")?,
            created_ms: r.try_get("created_ms")?,
            format: r.try_get("format")?,
            bytes: r.try_get("bytes")?,
            truncated: is_set(r, "truncated")?,
            redactions: r.try_get("redactions")?,
            body: r.try_get("body")?,
        })
    }
}

impl FromRow<'_, AnyRow> for KeyRecord {
    fn from_row(r: &AnyRow) -> Mapped<Self> {
        Ok(KeyRecord {
            id: r.try_get("id")?,
            tenant: r.try_get("tenant")?,
            name: r.try_get("name")?,
            prefix: r.try_get("prefix")?,
            hash: r.try_get("hash")?,
            created_ms: r.try_get("created_ms")?,
            revoked_ms: r.try_get("revoked_ms")?,
            limits: r.try_get("limits")?,
        })
    }
}

impl FromRow<'_, AnyRow> for UserRecord {
    fn from_row(r: &AnyRow) -> Mapped<Self> {
        Ok(UserRecord {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            token_hash: r.try_get("token_hash")?,
            admin: is_set(r, "admin")?,
            created_ms: r.try_get("created_ms")?,
        })
    }
}

impl FromRow<'_, AnyRow> for RoleRecord {
    fn from_row(r: &AnyRow) -> Mapped<Self> {
        Ok(RoleRecord {
            user_id: r.try_get("user_id")?,
            role: r.try_get("role")?,
            tenant: r.try_get("tenant")?,
            created_ms: r.try_get("created_ms")?,
        })
    }
}

impl FromRow<'_, AnyRow> for ReleaseRecord {
    fn from_row(r: &AnyRow) -> Mapped<Self> {
        Ok(ReleaseRecord {
            id: r.try_get("id")?,
            prompt: r.try_get("prompt")?,
            content: r.try_get("content")?,
            author: r.try_get("author")?,
            created_ms: r.try_get("created_ms")?,
        })
    }
}

impl FromRow<'_, AnyRow> for ApprovalRecord {
    fn from_row(r: &AnyRow) -> Mapped<Self> {
        Ok(ApprovalRecord {
            release_id: r.try_get("release_id")?,
            approver: r.try_get("approver")?,
            created_ms: r.try_get("created_ms")?,
        })
    }
}

impl FromRow<'_, AnyRow> for DeployRecord {
    fn from_row(r: &AnyRow) -> Mapped<Self> {
        Ok(DeployRecord {
            id: r.try_get("id")?,
            prompt: r.try_get("prompt")?,
            channel: r.try_get("channel")?,
            release_id: r.try_get("release_id")?,
            actor: r.try_get("actor")?,
            kind: word(r, "kind")?,
            mode: word(r, "mode")?,
            created_ms: r.try_get("created_ms")?,
        })
    }
}

impl FromRow<'_, AnyRow> for EventRecord {
    fn from_row(r: &AnyRow) -> Mapped<Self> {
        Ok(EventRecord {
            id: r.try_get("id")?,
            created_ms: r.try_get("created_ms")?,
            kind: word(r, "kind")?,
            route: r.try_get("route")?,
            provider: r.try_get("provider")?,
            message: r.try_get("message")?,
            details: r.try_get("details")?,
        })
    }
}

impl FromRow<'_, AnyRow> for ServedRecord {
    fn from_row(r: &AnyRow) -> Mapped<Self> {
        Ok(ServedRecord {
            provider: r.try_get("provider")?,
            requested_model: r.try_get("requested_model")?,
            served_model: r.try_get("served_model")?,
            system_fingerprint: r.try_get("system_fingerprint")?,
            first_seen_ms: r.try_get("first_seen_ms")?,
            first_call_id: r.try_get("first_call_id")?,
        })
    }
}

impl FromRow<'_, AnyRow> for AuditRecord {
    fn from_row(r: &AnyRow) -> Mapped<Self> {
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
            key_id: r.try_get("key_id")?,
        })
    }
}

/// The chain's newest record, as `seq` and `hash`.
impl FromRow<'_, AnyRow> for Head {
    fn from_row(r: &AnyRow) -> Mapped<Self> {
        Ok(Head {
            count: r.try_get("seq")?,
            hash: r.try_get("hash")?,
        })
    }
}

impl FromRow<'_, AnyRow> for SessionRecord {
    fn from_row(r: &AnyRow) -> Mapped<Self> {
        Ok(SessionRecord {
            tenant: r.try_get("tenant")?,
            session_id: r.try_get("session_id")?,
            prompt: r.try_get("prompt")?,
            channel: r.try_get("channel")?,
            release_id: r.try_get("release_id")?,
            started_ms: r.try_get("started_ms")?,
            pinned_ms: r.try_get("pinned_ms")?,
            last_ms: r.try_get("last_ms")?,
            expires_ms: r.try_get("expires_ms")?,
        })
    }
}

impl FromRow<'_, AnyRow> for SessionCount {
    fn from_row(r: &AnyRow) -> Mapped<Self> {
        Ok(SessionCount {
            prompt: r.try_get("prompt")?,
            channel: r.try_get("channel")?,
            release_id: r.try_get("release_id")?,
            sessions: r.try_get("n")?,
        })
    }
}

/// A group of the usage report, its key as `k`.
impl FromRow<'_, AnyRow> for UsageRow {
    fn from_row(r: &AnyRow) -> Mapped<Self> {
        Ok(UsageRow {
            key: r.try_get("k")?,
            calls: r.try_get("calls")?,
            refused: r.try_get("refused")?,
            failed: r.try_get("failed")?,
            attempts: r.try_get("attempts")?,
            input_tokens: r.try_get("input_tokens")?,
            output_tokens: r.try_get("output_tokens")?,
            cost_usd: r.try_get("cost_usd")?,
            tokens_estimated: is_set(r, "estimated")?,
            unpriced_calls: r.try_get("unpriced")?,
            purpose: purpose(r, "purpose")?,
        })
    }
}

impl FromRow<'_, AnyRow> for CallGroup {
    fn from_row(r: &AnyRow) -> Mapped<Self> {
        Ok(CallGroup {
            route: r.try_get("route")?,
            outcome: r.try_get("outcome")?,
            calls: r.try_get("calls")?,
            dispatched: r.try_get("dispatched")?,
            attempts: r.try_get("attempts")?,
            cost_usd: r.try_get("cost_usd")?,
            budget_exhausted: r.try_get("budget_exhausted")?,
        })
    }
}

impl FromRow<'_, AnyRow> for CallHour {
    fn from_row(r: &AnyRow) -> Mapped<Self> {
        Ok(CallHour {
            hour_ms: r.try_get("hour_ms")?,
            tenant: r.try_get("tenant")?,
            key_id: r.try_get("key_id")?,
            route: r.try_get("route")?,
            provider: r.try_get("provider")?,
            purpose: r.try_get("purpose")?,
            outcome: r.try_get("outcome")?,
            error_class: r.try_get("error_class")?,
            calls: r.try_get("calls")?,
            dispatched: r.try_get("dispatched")?,
            attempts: r.try_get("attempts")?,
            budget_exhausted: r.try_get("budget_exhausted")?,
            input_tokens: r.try_get("input_tokens")?,
            output_tokens: r.try_get("output_tokens")?,
            cost_usd: r.try_get("cost_usd")?,
            estimated: r.try_get("estimated")?,
            unpriced: r.try_get("unpriced")?,
        })
    }
}

impl FromRow<'_, AnyRow> for AttemptHour {
    fn from_row(r: &AnyRow) -> Mapped<Self> {
        Ok(AttemptHour {
            hour_ms: r.try_get("hour_ms")?,
            tenant: r.try_get("tenant")?,
            route: r.try_get("route")?,
            provider: r.try_get("provider")?,
            outcome: r.try_get("outcome")?,
            error_class: r.try_get("error_class")?,
            attempts: r.try_get("attempts")?,
            first_attempts: r.try_get("first_attempts")?,
            cost_usd: r.try_get("cost_usd")?,
        })
    }
}

impl FromRow<'_, AnyRow> for AttemptGroup {
    fn from_row(r: &AnyRow) -> Mapped<Self> {
        Ok(AttemptGroup {
            route: r.try_get("route")?,
            provider: r.try_get("provider")?,
            outcome: r.try_get("outcome")?,
            error_class: r.try_get("error_class")?,
            attempts: r.try_get("attempts")?,
            first_attempts: r.try_get("first_attempts")?,
            cost_usd: r.try_get("cost_usd")?,
        })
    }
}

impl FromRow<'_, AnyRow> for crate::CallBucket {
    fn from_row(r: &AnyRow) -> Mapped<Self> {
        Ok(crate::CallBucket {
            start_ms: r.try_get("start_ms")?,
            route: r.try_get("route")?,
            provider: r.try_get("provider")?,
            outcome: r.try_get("outcome")?,
            error_class: r.try_get("error_class")?,
            calls: r.try_get("calls")?,
            dispatched: r.try_get("dispatched")?,
            attempts: r.try_get("attempts")?,
            cost_usd: r.try_get("cost_usd")?,
            budget_exhausted: r.try_get("budget_exhausted")?,
        })
    }
}

impl FromRow<'_, AnyRow> for crate::AttemptBucket {
    fn from_row(r: &AnyRow) -> Mapped<Self> {
        Ok(crate::AttemptBucket {
            start_ms: r.try_get("start_ms")?,
            group: AttemptGroup::from_row(r)?,
        })
    }
}

/// A tenant and key's spend in the window that started at `since_ms` (not a column).
pub(super) fn spend_row(r: &AnyRow, since_ms: i64) -> Mapped<SpendRow> {
    Ok(SpendRow {
        since_ms,
        tenant: r.try_get("tenant")?,
        key_id: r.try_get("key_id")?,
        requests: r.try_get("requests")?,
        attempts: r.try_get("attempts")?,
        input_tokens: r.try_get("input_tokens")?,
        output_tokens: r.try_get("output_tokens")?,
        cost_usd: r.try_get("cost_usd")?,
        eval_cost_usd: r.try_get("eval_cost_usd")?,
        canary_cost_usd: r.try_get("canary_cost_usd")?,
    })
}

impl FromRow<'_, AnyRow> for TraceSpend {
    fn from_row(r: &AnyRow) -> Mapped<Self> {
        Ok(TraceSpend {
            tenant: r.try_get("tenant")?,
            trace_id: r.try_get("trace_id")?,
            first_ms: r.try_get("first_ms")?,
            last_ms: r.try_get("last_ms")?,
            calls: r.try_get("calls")?,
            attempts: r.try_get("attempts")?,
            tokens: r.try_get("tokens")?,
            cost_usd: r.try_get("cost_usd")?,
        })
    }
}

/// A trace's totals, with a count `n_<outcome>` per outcome in [`crate::CALL_OUTCOMES`].
impl FromRow<'_, AnyRow> for TraceSummary {
    fn from_row(r: &AnyRow) -> Mapped<Self> {
        let calls: i64 = r.try_get("calls")?;
        let mut outcomes = std::collections::BTreeMap::new();
        let mut known = 0;
        for o in crate::CALL_OUTCOMES {
            let n: i64 = r.try_get(format!("n_{o}").as_str())?;
            known += n;
            if n > 0 {
                outcomes.insert(o.as_str().to_string(), n);
            }
        }
        // An outcome a later version records: counted, not lost.
        if calls > known {
            outcomes.insert("other".into(), calls - known);
        }
        Ok(TraceSummary {
            trace_id: r.try_get("trace_id")?,
            tenant: r.try_get("tenant")?,
            calls,
            attempts: r.try_get("attempts")?,
            first_ms: r.try_get("first_ms")?,
            last_ms: r.try_get("last_ms")?,
            input_tokens: r.try_get("input_tokens")?,
            output_tokens: r.try_get("output_tokens")?,
            cost_usd: r.try_get("cost_usd")?,
            tokens_estimated: is_set(r, "estimated")?,
            unpriced_calls: r.try_get("unpriced")?,
            outcomes,
        })
    }
}

/// A page's last call, as `created_ms` and `id`.
impl FromRow<'_, AnyRow> for ExportCursor {
    fn from_row(r: &AnyRow) -> Mapped<Self> {
        Ok(ExportCursor {
            created_ms: r.try_get("created_ms")?,
            id: r.try_get("id")?,
        })
    }
}

/// A vocabulary word (`seam_vocab`) from text column `col`; a word this version does not know
/// is an error naming the column and the value, not a panic.
pub(super) fn word<T>(r: &AnyRow, col: &str) -> std::result::Result<T, sqlx::Error>
where
    T: FromStr<Err = seam_vocab::Unknown>,
{
    let s: String = r.try_get(col)?;
    s.parse().map_err(|e| unknown_word(col, e))
}

/// [`word`] of a nullable column.
fn opt_word<T>(r: &AnyRow, col: &str) -> std::result::Result<Option<T>, sqlx::Error>
where
    T: FromStr<Err = seam_vocab::Unknown>,
{
    let s: Option<String> = r.try_get(col)?;
    s.map(|s| s.parse().map_err(|e| unknown_word(col, e)))
        .transpose()
}

fn unknown_word(col: &str, e: seam_vocab::Unknown) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: format!("{col:?}"),
        source: Box::new(e),
    }
}
