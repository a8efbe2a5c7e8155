//! The per-call context every phase reads and adds to, and the records it becomes.

use crate::account::{Bill, Billed, Fallback};
use crate::authenticate::Caller;
use crate::errors::GatewayError;
use crate::untrusted::{MAX_ERROR_MESSAGE_LEN, MAX_MODEL_LEN, cap, cap_owned};
use http::HeaderName;
use seam_providers::{AttemptError, Endpoint, Served};
use seam_store::{AttemptRecord, CallRecord, attempt_id};
use seam_vocab::{CallErrorClass, Outcome, Purpose};
use seam_wire::{RequestBody, UsageReport};
use std::time::Instant;

const MAX_ID_LEN: usize = 128;

pub struct CallCtx {
    pub id: String,
    /// The config snapshot this call started on and finishes on.
    pub live: std::sync::Arc<crate::Live>,
    pub started: Instant,
    pub created_ms: i64,
    pub caller: Caller,
    pub trace_id: Option<String>,
    /// Whether the client named the trace (else the call is its own trace).
    pub trace_named: bool,
    pub session_id: Option<String>,
    /// What the call is for (`x-seam-purpose`): live traffic unless it says `eval`.
    pub purpose: Purpose,
    pub endpoint: Endpoint,
    /// The wire format the client speaks; the call itself runs on OpenAI shapes.
    pub edge: crate::edge::Edge,
    pub route: String,
    pub requested_model: String,
    pub stream: bool,
    pub attempts: Vec<AttemptRecord>,
    /// The retry budget refused a retry this call needed.
    pub budget_exhausted: bool,
    /// A client's retry of the failed call cannot help (`x-should-retry: false`).
    pub retry_futile: bool,
    /// The limits this call's trace is held to.
    pub trace_limits: seam_config::TraceLimits,
    /// The open attempt's reservation against tenant and trace limits.
    pub reservation: Option<crate::admit::Reservation>,
    /// For a prompt call: the release served, and the model it pins.
    pub release_id: Option<String>,
    pub pinned_model: Option<String>,
    /// What the release says to do when the provider serves another model than it pins.
    pub model_policy: Option<seam_prompts::ModelChange>,
    /// The metric handles this call last counted against (see `Metrics::hot`).
    pub metrics: Option<std::sync::Arc<crate::observe::Hot>>,
    /// The caller's W3C trace context, read only when spans are exported.
    pub parent: Option<crate::otlp::Parent>,
    /// A Responses API call's chat translation, for the targets that do not speak the
    /// Responses API (made once the route is known to have one).
    pub translated: Option<crate::edge::responses::Translated>,
    /// The call may keep its content (`capture.rs`): decided once its route is known.
    pub capture: Option<Box<crate::capture::Pending>>,
    /// The xxh3-64 of the request body as sent, for chat, messages and responses calls
    /// (`request::read`): the same request sent again hashes the same (issue 29).
    pub request_hash: Option<String>,
}

/// The attempt that reached an upstream: made by dispatch, read by relay, account and record.
pub struct Upstream {
    pub provider: String,
    /// The model Seam asked for (a target's, or the one a release pins).
    pub model: String,
    pub started: Instant,
    /// Until the first event (a stream) or the whole answer; none for a failed attempt.
    pub ttfb_ms: Option<f64>,
    /// How long a stream may go quiet.
    pub idle_timeout: std::time::Duration,
    /// The endpoint the attempt called: a Responses API call's is chat completions when
    /// its target does not speak the Responses API.
    pub endpoint: Endpoint,
    /// The headers of its answer a client reads, and the upstream's request id.
    pub passed: seam_providers::Passed,
}

/// How an attempt ended, for its bill and its record.
pub struct AttemptEnd<'a> {
    pub served: &'a Served,
    /// The usage the provider reported.
    pub report: UsageReport,
    /// What to bill when that usage cannot be taken.
    pub fallback: Fallback<'a>,
    pub error: Option<&'a AttemptError>,
}

/// How the call ended, for its record.
pub struct CallEnd {
    pub status: u16,
    pub outcome: Outcome,
    pub error_class: Option<CallErrorClass>,
    pub error_message: Option<String>,
    pub ttfb_ms: Option<f64>,
    /// A stream's telemetry, recorded with the call.
    pub stream: Option<seam_store::StreamRecord>,
    /// What came back, for a call that may keep its content.
    pub answer: Option<crate::capture::Answered>,
}

impl CallCtx {
    /// A call's context from its headers; with the first of its trace and session headers
    /// that cannot be used as sent, when there is one (the call is then its own trace).
    pub fn new(
        live: std::sync::Arc<crate::Live>,
        endpoint: Endpoint,
        headers: &http::HeaderMap,
    ) -> (CallCtx, Option<GatewayError>) {
        let mut id = String::with_capacity(5 + uuid::fmt::Simple::LENGTH);
        id.push_str("call_");
        id.push_str(
            uuid::Uuid::now_v7()
                .simple()
                .encode_lower(&mut uuid::Uuid::encode_buffer()),
        );
        let (named, session_id, bad) = match (trace_id(headers), header_id(headers, &SEAM_SESSION))
        {
            (Ok(t), Ok(s)) => (t, s, None),
            (Err(e), _) | (_, Err(e)) => (None, None, Some(e)),
        };
        let (purpose, bad) = match (purpose(headers), bad) {
            (Ok(p), bad) => (p, bad),
            (Err(e), bad) => (Purpose::Live, bad.or(Some(e))),
        };
        // A call that names no trace is a trace of its own.
        let trace_named = named.is_some();
        let parent = match live.config.telemetry.otlp {
            Some(_) => crate::otlp::parent(headers),
            None => None,
        };
        let trace_id = named.unwrap_or_else(|| id.clone());
        let ctx = CallCtx {
            id,
            live,
            started: Instant::now(),
            created_ms: seam_store::now_ms(),
            caller: Caller {
                tenant: String::new(),
                key_id: None,
                key_limits: std::sync::Arc::from(Vec::new()),
                purpose,
            },
            trace_id: Some(trace_id),
            trace_named,
            session_id,
            purpose,
            endpoint,
            edge: crate::edge::Edge::OpenAi,
            route: String::new(),
            requested_model: String::new(),
            stream: false,
            // Most calls make one attempt.
            attempts: Vec::with_capacity(1),
            budget_exhausted: false,
            retry_futile: false,
            trace_limits: seam_config::TraceLimits::default(),
            reservation: None,
            release_id: None,
            pinned_model: None,
            model_policy: None,
            metrics: None,
            parent,
            translated: None,
            capture: None,
            request_hash: None,
        };
        (ctx, bad)
    }

    /// The trace this call belongs to: the one it named, else itself.
    pub fn trace_key(&self) -> &str {
        self.trace_id.as_deref().unwrap_or(&self.id)
    }

    /// Bills an attempt ([`crate::account::bill`]), settles its reservation, counts it (per
    /// attempt, pre-retry) and adds its record: every attempt, on every path, ends here.
    pub fn charge(
        &mut self,
        metrics: &crate::observe::Metrics,
        up: &Upstream,
        request: &RequestBody,
        end: AttemptEnd<'_>,
    ) -> Bill {
        let bill = crate::account::bill(
            metrics,
            &self.live.config,
            Billed {
                provider: &up.provider,
                model: &up.model,
                served: end.served.model.as_deref(),
                request,
            },
            end.report,
            end.fallback,
        );
        let memo = &mut self.metrics;
        let class = end.error.map(|e| e.class.as_str());
        metrics.attempt(memo, &self.route, &up.provider, class);
        metrics.usage(
            memo,
            &self.route,
            &up.provider,
            bill.usage,
            bill.estimated,
            bill.cost_usd,
        );
        if class.is_some() {
            metrics.failed_attempt_cost(memo, &self.route, &up.provider, bill.cost_usd);
        }
        if let Some(r) = self.reservation.take() {
            r.settle(bill.usage, bill.cost_usd);
        }
        let seq = self.attempts.len() as i64 + 1;
        let e = end.error;
        self.attempts.push(AttemptRecord {
            id: attempt_id(&self.id, seq),
            call_id: self.id.clone(),
            seq,
            created_ms: seam_store::now_ms() - up.started.elapsed().as_millis() as i64,
            tenant: self.caller.tenant.clone(),
            trace_id: self.trace_id.clone(),
            route: self.route.clone(),
            provider: up.provider.clone(),
            model: up.model.clone(),
            served_model: end.served.model.as_deref().map(capped_model),
            system_fingerprint: end.served.fingerprint.as_deref().map(capped_model),
            status: match e {
                Some(e) => e.status.map(i64::from),
                None => Some(200),
            },
            outcome: if e.is_some() {
                Outcome::Error
            } else {
                Outcome::Ok
            },
            error_class: e.map(|e| e.class),
            error_body: e.and_then(|e| e.body.clone()),
            latency_ms: ms(up.started),
            ttfb_ms: up.ttfb_ms,
            input_tokens: stored(bill.usage.input_tokens),
            output_tokens: stored(bill.usage.output_tokens),
            cost_usd: bill.cost_usd,
            tokens_estimated: bill.estimated,
            unpriced: bill.unpriced,
            upstream_request_id: up.passed.request_id().map(str::to_string),
        });
        bill
    }

    /// The call's record: totals are summed over its attempts.
    pub fn into_record(self, end: CallEnd) -> (CallRecord, Vec<AttemptRecord>) {
        let last = self.attempts.last();
        let provider = last.map(|a| a.provider.clone());
        let served_model = last.and_then(|a| a.served_model.clone());
        let system_fingerprint = last.and_then(|a| a.system_fingerprint.clone());
        let upstream_request_id = last.and_then(|a| a.upstream_request_id.clone());
        let sum = |f: fn(&AttemptRecord) -> i64| {
            self.attempts
                .iter()
                .map(f)
                .fold(0i64, |a, b| a.saturating_add(b))
        };
        let (input_tokens, output_tokens) = (sum(|a| a.input_tokens), sum(|a| a.output_tokens));
        let cost_usd = self.attempts.iter().map(|a| a.cost_usd).sum();
        let tokens_estimated = self.attempts.iter().any(|a| a.tokens_estimated);
        let unpriced = self.attempts.iter().any(|a| a.unpriced);
        // The context ends here: its strings move into the record.
        let record = CallRecord {
            id: self.id,
            created_ms: self.created_ms,
            tenant: self.caller.tenant,
            key_id: self.caller.key_id,
            trace_id: self.trace_id,
            session_id: self.session_id,
            endpoint: self.edge.recorded_endpoint(self.endpoint).into(),
            route: self.route,
            stream: self.stream,
            requested_model: self.requested_model,
            provider,
            served_model,
            system_fingerprint,
            status: end.status as i64,
            outcome: end.outcome,
            error_class: end.error_class,
            error_message: end.error_message.map(|mut m| {
                cap_owned(&mut m, MAX_ERROR_MESSAGE_LEN);
                m
            }),
            attempts: self.attempts.len() as i64,
            latency_ms: ms(self.started),
            ttfb_ms: end.ttfb_ms,
            input_tokens,
            output_tokens,
            cost_usd,
            tokens_estimated,
            budget_exhausted: self.budget_exhausted,
            release_id: self.release_id,
            unpriced,
            upstream_request_id,
            purpose: self.purpose,
            request_hash: self.request_hash,
        };
        (record, self.attempts)
    }
}

/// A token count as a record stores it (billing keeps counts within i64 already).
fn stored(tokens: u64) -> i64 {
    i64::try_from(tokens).unwrap_or(i64::MAX)
}

/// What an upstream says it served, as recorded: at most [`MAX_MODEL_LEN`] bytes.
fn capped_model(s: &str) -> String {
    cap(s, MAX_MODEL_LEN).to_string()
}

pub fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

// Looked up by `HeaderName`, not by `&str`: a `&str` is parsed and checked as a header name on
// every lookup (~250 instructions each, four lookups a call).
static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
static SEAM_TRACE: HeaderName = HeaderName::from_static("x-seam-trace");
static SEAM_SESSION: HeaderName = HeaderName::from_static("x-seam-session");
static PURPOSE: HeaderName = HeaderName::from_static(Purpose::HEADER);

/// The W3C `traceparent` trace id, else `x-seam-trace`. A malformed `traceparent` is
/// ignored, as W3C asks; any of them over [`MAX_ID_LEN`] bytes is refused.
fn trace_id(h: &http::HeaderMap) -> Result<Option<String>, GatewayError> {
    let parent = match h.get(&TRACEPARENT) {
        Some(v) if v.len() > MAX_ID_LEN => return Err(too_long(&TRACEPARENT, v.len())),
        Some(v) => v.to_str().ok(),
        None => None,
    };
    let from_parent = parent
        .and_then(|v| v.split('-').nth(1))
        .filter(|t| t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .filter(|t| t.bytes().any(|b| b != b'0'))
        .map(str::to_ascii_lowercase);
    let named = header_id(h, &SEAM_TRACE)?;
    Ok(from_parent.or(named))
}

/// The call's purpose: no `x-seam-purpose` header is live traffic, `eval` an eval run's call,
/// `canary` a canary replay's; any other value is refused (a call must not count as what it
/// is not).
fn purpose(h: &http::HeaderMap) -> Result<Purpose, GatewayError> {
    let Some(v) = h.get(&PURPOSE) else {
        return Ok(Purpose::Live);
    };
    v.to_str()
        .ok()
        .and_then(Purpose::from_header)
        .ok_or_else(|| GatewayError::InvalidHeader {
            header: Purpose::HEADER,
            reason: "the accepted values are `eval` (a call of an eval run) and `canary` (a canary replay's); send no x-seam-purpose header for live traffic".into(),
        })
}

/// An id a client names in a header: printable ASCII, at most [`MAX_ID_LEN`] bytes once
/// trimmed; an empty one names nothing.
fn header_id(
    h: &http::HeaderMap,
    name: &'static HeaderName,
) -> Result<Option<String>, GatewayError> {
    let Some(v) = h.get(name) else {
        return Ok(None);
    };
    let Ok(text) = v.to_str() else {
        return Err(GatewayError::InvalidHeader {
            header: name.as_str(),
            reason: "must be printable ASCII".into(),
        });
    };
    let text = text.trim();
    if text.len() > MAX_ID_LEN {
        return Err(too_long(name, text.len()));
    }
    Ok((!text.is_empty()).then(|| text.to_string()))
}

fn too_long(name: &'static HeaderName, len: usize) -> GatewayError {
    GatewayError::InvalidHeader {
        header: name.as_str(),
        reason: format!("must be at most {MAX_ID_LEN} bytes; this one is {len} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_from_traceparent_or_header() {
        let mut h = http::HeaderMap::new();
        h.insert(
            "traceparent",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"
                .parse()
                .unwrap(),
        );
        h.insert("x-seam-trace", "mine".parse().unwrap());
        let id = |h: &http::HeaderMap| trace_id(h).ok().flatten();
        assert_eq!(id(&h).as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        h.insert("traceparent", "garbage".parse().unwrap());
        assert_eq!(id(&h).as_deref(), Some("mine"));
    }

    #[test]
    fn a_purpose_is_live_unless_the_header_says_eval_or_canary() {
        let mut h = http::HeaderMap::new();
        assert_eq!(purpose(&h).ok(), Some(Purpose::Live));
        h.insert("x-seam-purpose", "eval".parse().unwrap());
        assert_eq!(purpose(&h).ok(), Some(Purpose::Eval));
        h.insert("x-seam-purpose", "canary".parse().unwrap());
        assert_eq!(purpose(&h).ok(), Some(Purpose::Canary));
        h.insert("x-seam-purpose", "live".parse().unwrap());
        assert!(
            purpose(&h).is_err(),
            "only `eval` and `canary` are values the header takes"
        );
    }
}
