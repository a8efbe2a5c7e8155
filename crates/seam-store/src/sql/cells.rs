//! The record tables' rows as typed cells in column order: the one place that knows, for
//! writing, which value goes in which column. The three writers (sqlx's `Any` driver, the
//! SQLite record sink, the PostgreSQL record sink) only walk cells.

use super::rows::{ATTEMPT_COLUMNS, CALL_COLUMNS, CALL_INLINE_COLUMNS};
use super::streams::COLUMNS as STREAM_COLUMNS;
use crate::{AttemptRecord, CallRecord, ContentRecord, StreamRecord};

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Cell<'a> {
    Text(Option<&'a str>),
    Int(Option<i64>),
    Real(Option<f64>),
    Blob(Option<&'a [u8]>),
}

/// A record written to one table.
pub(crate) trait Row {
    const TABLE: &'static str;
    /// Comma-separated, in the order of [`Row::cells`].
    const COLUMNS: &'static str;
    fn cells(&self) -> Vec<Cell<'_>>;
}

fn text(s: &str) -> Cell<'_> {
    Cell::Text(Some(s))
}

fn opt(s: &Option<String>) -> Cell<'_> {
    Cell::Text(s.as_deref())
}

fn int(i: i64) -> Cell<'static> {
    Cell::Int(Some(i))
}

fn flag(b: bool) -> Cell<'static> {
    Cell::Int(Some(super::rows::flag(b)))
}

fn real(f: f64) -> Cell<'static> {
    Cell::Real(Some(f))
}

impl Row for CallRecord {
    const TABLE: &'static str = "calls";
    const COLUMNS: &'static str = CALL_COLUMNS;
    fn cells(&self) -> Vec<Cell<'_>> {
        vec![
            text(&self.id),
            int(self.created_ms),
            text(&self.tenant),
            opt(&self.key_id),
            opt(&self.trace_id),
            opt(&self.session_id),
            text(&self.endpoint),
            text(&self.route),
            flag(self.stream),
            text(&self.requested_model),
            opt(&self.provider),
            opt(&self.served_model),
            opt(&self.system_fingerprint),
            int(self.status),
            text(self.outcome.as_str()),
            Cell::Text(self.error_class.map(|c| c.as_str())),
            opt(&self.error_message),
            int(self.attempts),
            real(self.latency_ms),
            Cell::Real(self.ttfb_ms),
            int(self.input_tokens),
            int(self.output_tokens),
            real(self.cost_usd),
            flag(self.tokens_estimated),
            flag(self.budget_exhausted),
            opt(&self.release_id),
            flag(self.unpriced),
            opt(&self.upstream_request_id),
            Cell::Text(self.purpose.stored()),
            opt(&self.request_hash),
        ]
    }
}

impl Row for AttemptRecord {
    const TABLE: &'static str = "attempts";
    const COLUMNS: &'static str = ATTEMPT_COLUMNS;
    fn cells(&self) -> Vec<Cell<'_>> {
        vec![
            text(&self.id),
            text(&self.call_id),
            int(self.seq),
            int(self.created_ms),
            text(&self.tenant),
            opt(&self.trace_id),
            text(&self.route),
            text(&self.provider),
            text(&self.model),
            opt(&self.served_model),
            opt(&self.system_fingerprint),
            Cell::Int(self.status),
            text(self.outcome.as_str()),
            Cell::Text(self.error_class.map(|c| c.as_str())),
            opt(&self.error_body),
            real(self.latency_ms),
            Cell::Real(self.ttfb_ms),
            int(self.input_tokens),
            int(self.output_tokens),
            real(self.cost_usd),
            flag(self.tokens_estimated),
            flag(self.unpriced),
            opt(&self.upstream_request_id),
        ]
    }
}

impl Row for ContentRecord {
    const TABLE: &'static str = "contents";
    const COLUMNS: &'static str = super::contents::COLUMNS;
    fn cells(&self) -> Vec<Cell<'_>> {
        vec![
            text(&self.call_id),
            int(self.created_ms),
            int(self.format),
            int(self.bytes),
            flag(self.truncated),
            int(self.redactions),
            Cell::Blob(Some(&self.body)),
        ]
    }
}

/// A call row with room for its only attempt (migration 10): the attempt's own fields when it
/// is kept there, else NULLs.
pub(crate) struct InlineCall<'a> {
    pub call: &'a CallRecord,
    pub attempt: Option<&'a AttemptRecord>,
}

impl Row for InlineCall<'_> {
    const TABLE: &'static str = "calls";
    const COLUMNS: &'static str = CALL_INLINE_COLUMNS;
    fn cells(&self) -> Vec<Cell<'_>> {
        let mut cells = self.call.cells();
        let a = self.attempt;
        cells.extend([
            Cell::Text(a.map(|a| a.model.as_str())),
            Cell::Int(a.map(|a| a.created_ms)),
            Cell::Int(a.and_then(|a| a.status)),
            Cell::Text(a.map(|a| a.outcome.as_str())),
            Cell::Text(a.and_then(|a| a.error_class.map(|c| c.as_str()))),
            Cell::Text(a.and_then(|a| a.error_body.as_deref())),
            Cell::Real(a.map(|a| a.latency_ms)),
            Cell::Real(a.and_then(|a| a.ttfb_ms)),
        ]);
        cells
    }
}

/// Splits a batch's attempts into those kept in their call's row and the rest: a call's
/// attempt goes in its row when it is the call's only one and the view `attempt_rows` gives
/// it back exactly (same id, and every field it shares with the call equal).
pub(crate) fn inline_attempts<'a>(
    calls: &'a [CallRecord],
    attempts: &'a [AttemptRecord],
) -> (Vec<InlineCall<'a>>, Vec<&'a AttemptRecord>) {
    let mut kept = vec![false; attempts.len()];
    let mut rows = Vec::with_capacity(calls.len());
    // Attempts come in their calls' order; a batch that does not is written as it is.
    let mut next = 0;
    for call in calls {
        let own = attempts[next..]
            .iter()
            .take_while(|a| a.call_id == call.id)
            .count();
        let attempt = match attempts.get(next) {
            Some(a) if own == 1 && kept_in_call(call, a) => {
                kept[next] = true;
                Some(a)
            }
            _ => None,
        };
        next += own;
        rows.push(InlineCall { call, attempt });
    }
    let rest = attempts
        .iter()
        .zip(kept)
        .filter(|(_, k)| !k)
        .map(|(a, _)| a)
        .collect();
    (rows, rest)
}

fn kept_in_call(c: &CallRecord, a: &AttemptRecord) -> bool {
    c.attempts == 1
        && a.seq == 1
        && crate::records::is_first_attempt_id(&a.id, &c.id)
        && a.tenant == c.tenant
        && a.trace_id == c.trace_id
        && a.route == c.route
        && c.provider.as_deref() == Some(a.provider.as_str())
        && a.served_model == c.served_model
        && a.system_fingerprint == c.system_fingerprint
        && a.input_tokens == c.input_tokens
        && a.output_tokens == c.output_tokens
        && a.cost_usd.to_bits() == c.cost_usd.to_bits()
        && a.tokens_estimated == c.tokens_estimated
        && a.unpriced == c.unpriced
        && a.upstream_request_id == c.upstream_request_id
}

impl<T: Row> Row for &T {
    const TABLE: &'static str = T::TABLE;
    const COLUMNS: &'static str = T::COLUMNS;
    fn cells(&self) -> Vec<Cell<'_>> {
        (*self).cells()
    }
}

impl Row for StreamRecord {
    const TABLE: &'static str = "streams";
    const COLUMNS: &'static str = STREAM_COLUMNS;
    fn cells(&self) -> Vec<Cell<'_>> {
        vec![
            text(&self.call_id),
            int(self.created_ms),
            text(&self.route),
            text(&self.provider),
            opt(&self.served_model),
            Cell::Real(self.ttfc_ms),
            Cell::Real(self.ttft_ms),
            int(self.chunks),
            int(self.content_chunks),
            int(self.chars),
            real(self.chars_p50),
            real(self.tokens_per_chunk),
            real(self.gap_p50_ms),
            real(self.gap_p95_ms),
            real(self.gap_max_ms),
            int(self.stalls),
            int(self.output_tokens),
            Cell::Real(self.tokens_per_sec),
            flag(self.client_closed),
            flag(self.rechunked),
            Cell::Text(self.slo.as_ref().map(|s| s.as_str())),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::Row;
    use crate::conformance::{sample_attempt, sample_call, sample_stream, sole_attempt};

    #[test]
    fn every_column_has_one_cell() {
        let width = |cols: &str| cols.split(',').count();
        let call = sample_call("c", 1, "t");
        assert_eq!(call.cells().len(), width(crate::CallRecord::COLUMNS));
        let attempt = sample_attempt(&call, 1, true);
        assert_eq!(attempt.cells().len(), width(crate::AttemptRecord::COLUMNS));
        let stream = sample_stream(&call);
        assert_eq!(stream.cells().len(), width(crate::StreamRecord::COLUMNS));
        let inline = super::InlineCall {
            call: &call,
            attempt: Some(&attempt),
        };
        assert_eq!(inline.cells().len(), width(super::CALL_INLINE_COLUMNS));
        assert!(super::CALL_INLINE_COLUMNS.starts_with(crate::CallRecord::COLUMNS));
    }

    #[test]
    fn only_a_calls_sole_reconstructible_attempt_is_kept_in_its_row() {
        let mut one = sample_call("call_one", 1, "t");
        let att = sole_attempt(&mut one, false);
        // Two attempts, and one whose tokens differ from its call's: both stay rows.
        let two = sample_call("call_two", 2, "t");
        let mut odd = sample_call("call_odd", 3, "t");
        let mut odd_att = sole_attempt(&mut odd, true);
        odd_att.input_tokens += 1;
        let attempts = vec![
            att.clone(),
            sample_attempt(&two, 1, false),
            sample_attempt(&two, 2, true),
            odd_att,
        ];
        let mut att_one = att;
        att_one.call_id = "elsewhere".into();
        let calls = vec![one, two, odd];
        let (rows, rest) = super::inline_attempts(&calls, &attempts);
        let kept: Vec<bool> = rows.iter().map(|r| r.attempt.is_some()).collect();
        assert_eq!(kept, [true, false, false]);
        assert_eq!(rest.len(), 3);
        // An attempt that belongs to no call in its place is never kept.
        let (rows, rest) = super::inline_attempts(&calls[..1], std::slice::from_ref(&att_one));
        assert!(rows[0].attempt.is_none());
        assert_eq!(rest.len(), 1);
    }
}
