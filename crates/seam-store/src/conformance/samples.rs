//! Records for the conformance suite and for other crates' tests: calls, attempts and streams
//! with every kind of value, and a call made the way the gateway records a sole attempt.

use crate::{AttemptRecord, CallRecord};
use seam_vocab::{ErrorClass, Outcome};

pub fn sample_call(id: &str, created_ms: i64, tenant: &str) -> CallRecord {
    CallRecord {
        id: id.into(),
        created_ms,
        tenant: tenant.into(),
        key_id: Some("key_1".into()),
        trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736".into()),
        session_id: None,
        endpoint: "chat.completions".into(),
        route: "chat".into(),
        stream: true,
        requested_model: "chat".into(),
        provider: Some("local".into()),
        served_model: Some("sim-large-2026-01".into()),
        system_fingerprint: Some("fp_1".into()),
        status: 200,
        outcome: Outcome::Ok,
        error_class: None,
        error_message: None,
        attempts: 2,
        latency_ms: 12.5,
        ttfb_ms: Some(3.25),
        input_tokens: 10,
        output_tokens: 20,
        cost_usd: 0.00009,
        tokens_estimated: false,
        budget_exhausted: false,
        release_id: None,
        unpriced: false,
        upstream_request_id: Some("req_sample".into()),
        purpose: seam_vocab::Purpose::Live,
        request_hash: None,
    }
}

/// A stream record for `call`, with every kind of value (some absent).
pub fn sample_stream(call: &CallRecord) -> crate::StreamRecord {
    crate::StreamRecord {
        call_id: call.id.clone(),
        created_ms: call.created_ms,
        route: call.route.clone(),
        provider: "up".into(),
        served_model: None,
        ttfc_ms: Some(3.25),
        ttft_ms: Some(4.5),
        chunks: 7,
        content_chunks: 5,
        chars: 40,
        chars_p50: 8.0,
        tokens_per_chunk: 1.5,
        gap_p50_ms: 2.0,
        gap_p95_ms: 3.0,
        gap_max_ms: 9.0,
        stalls: 0,
        output_tokens: 9,
        tokens_per_sec: None,
        client_closed: false,
        rechunked: true,
        slo: None,
    }
}

pub fn sample_attempt(call: &CallRecord, seq: i64, ok: bool) -> AttemptRecord {
    AttemptRecord {
        id: format!("{}_a{seq}", call.id),
        call_id: call.id.clone(),
        seq,
        created_ms: call.created_ms,
        tenant: call.tenant.clone(),
        trace_id: call.trace_id.clone(),
        route: call.route.clone(),
        provider: "local".into(),
        model: "sim-large-2026-01".into(),
        served_model: ok.then(|| "sim-large-2026-01".into()),
        system_fingerprint: None,
        status: Some(if ok { 200 } else { 503 }),
        outcome: if ok { Outcome::Ok } else { Outcome::Error },
        error_class: (!ok).then_some(ErrorClass::Status5xx),
        error_body: (!ok).then(|| "{\"error\":{\"message\":\"overloaded\"}}".into()),
        latency_ms: 4.0,
        ttfb_ms: None,
        input_tokens: 10,
        output_tokens: if ok { 20 } else { 0 },
        cost_usd: 0.00001,
        tokens_estimated: !ok,
        unpriced: false,
        upstream_request_id: Some(format!("req_sample_{seq}")),
    }
}

/// Makes `call` one whose only attempt is `att_<id>_1`, as the gateway records it: the call's
/// totals and served model are the attempt's; a failed one answered 502 for the upstream's 503.
pub fn sole_attempt(call: &mut CallRecord, failed: bool) -> AttemptRecord {
    let mut a = sample_attempt(call, 1, !failed);
    a.id = crate::attempt_id(&call.id, 1);
    a.created_ms = call.created_ms + 1;
    a.ttfb_ms = (!failed).then_some(2.5);
    call.attempts = 1;
    call.provider = Some(a.provider.clone());
    call.served_model = a.served_model.clone();
    call.system_fingerprint = a.system_fingerprint.clone();
    call.input_tokens = a.input_tokens;
    call.output_tokens = a.output_tokens;
    call.cost_usd = a.cost_usd;
    call.tokens_estimated = a.tokens_estimated;
    call.unpriced = a.unpriced;
    call.upstream_request_id = a.upstream_request_id.clone();
    if failed {
        call.status = 502;
        call.outcome = Outcome::Error;
        call.error_class = Some(ErrorClass::Status5xx.into());
        call.error_message = Some("provider `local` answered 503".into());
        call.ttfb_ms = None;
    }
    a
}
