//! The record tables' rows as typed cells in column order: the one place that knows, for
//! writing, which value goes in which column. The three writers (sqlx's `Any` driver, the
//! SQLite record sink, the PostgreSQL record sink) only walk cells.

use super::rows::{ATTEMPT_COLUMNS, CALL_COLUMNS};
use super::streams::COLUMNS as STREAM_COLUMNS;
use crate::{AttemptRecord, CallRecord, StreamRecord};

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Cell<'a> {
    Text(Option<&'a str>),
    Int(Option<i64>),
    Real(Option<f64>),
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
            text(&self.outcome),
            opt(&self.error_class),
            opt(&self.error_message),
            int(self.attempts),
            real(self.latency_ms),
            Cell::Real(self.ttfb_ms),
            int(self.input_tokens),
            int(self.output_tokens),
            real(self.cost_usd),
            flag(self.tokens_estimated),
            flag(self.budget_exhausted),
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
            text(&self.outcome),
            opt(&self.error_class),
            opt(&self.error_body),
            real(self.latency_ms),
            Cell::Real(self.ttfb_ms),
            int(self.input_tokens),
            int(self.output_tokens),
            real(self.cost_usd),
            flag(self.tokens_estimated),
        ]
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
            opt(&self.slo),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::Row;
    use crate::conformance::{sample_attempt, sample_call, sample_stream};

    #[test]
    fn every_column_has_one_cell() {
        let width = |cols: &str| cols.split(',').count();
        let call = sample_call("c", 1, "t");
        assert_eq!(call.cells().len(), width(crate::CallRecord::COLUMNS));
        let attempt = sample_attempt(&call, 1, true);
        assert_eq!(attempt.cells().len(), width(crate::AttemptRecord::COLUMNS));
        let stream = sample_stream(&call);
        assert_eq!(stream.cells().len(), width(crate::StreamRecord::COLUMNS));
    }
}
