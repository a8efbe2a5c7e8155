//! Phase 9 of [`crate::pipeline`], record and observe: the end of every call, answered, streamed or failed. Its response
//! headers, its metrics, the detectors it feeds (fan-out, served-model drift, retry
//! divergence, stream shape), its spans and its records, in one place.

use crate::call::{CallCtx, CallEnd};
use crate::events::Events;
use crate::observe::Metrics;
use crate::record::{Durable, Entry, Recorder};
use axum::response::Response;
use http::{HeaderName, HeaderValue};
use seam_vocab::Outcome;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// What the end of a call writes to and feeds.
pub struct Finisher {
    pub metrics: Arc<Metrics>,
    pub recorder: Recorder,
    pub events: Events,
    pub fan_out: Arc<crate::fanout::FanOut>,
    pub drift: crate::drift::Drift,
    pub divergence: crate::divergence::Detector,
    pub shape: crate::shape::ShapeDrift,
    /// Spans to the OTLP collector (`[telemetry] otlp_endpoint`), when configured.
    pub otlp: Option<crate::otlp::Exporter>,
    /// The grace period of a shutdown is over: calls still running are being cut (their
    /// records say so, rather than that the client left).
    pub cutting: AtomicBool,
}

impl Finisher {
    /// Ends a call: counts it, feeds the detectors and hands its records over. With
    /// `durability = "acknowledged"` the returned [`Durable`] resolves once they are on
    /// disk, and the caller must not complete the response before.
    #[must_use]
    pub fn finish(&self, mut ctx: CallCtx, mut end: CallEnd) -> Option<Durable> {
        let mut memo = ctx.metrics.take();
        let named = ctx.trace_named;
        let parent = ctx.parent;
        let live = ctx.live.clone();
        let stream = end.stream.take();
        let content = ctx
            .capture
            .take()
            .and_then(|p| p.end(end.outcome, end.answer.take()));
        let (call, attempts) = ctx.into_record(end);
        self.fan_out.call(
            &self.metrics,
            &call.tenant,
            call.trace_id.as_deref().unwrap_or(&call.id),
            named,
            attempts.len() as u64,
            call.created_ms,
        );
        self.metrics.call(
            &mut memo,
            &call.route,
            call.provider.as_deref().unwrap_or(""),
            call.outcome,
            call.status,
            call.latency_ms / 1000.0,
        );
        for a in attempts.iter().filter(|a| a.outcome == Outcome::Ok) {
            if let Some(served) = &a.served_model {
                self.drift.observe(
                    &self.events,
                    &call.route,
                    &a.provider,
                    &a.model,
                    served,
                    a.system_fingerprint.as_deref().unwrap_or(""),
                    &call.id,
                );
            }
        }
        if let Some(first) = attempts.first() {
            let first_ok = first.outcome == Outcome::Ok;
            self.metrics
                .first_attempt(&mut memo, &call.route, &first.provider, first_ok);
            self.divergence.observe(
                &self.events,
                &live.config.divergence,
                &call.route,
                &first.provider,
                first_ok,
                call.outcome == Outcome::Ok,
            );
        }
        if let Some(otlp) = &self.otlp {
            otlp.export(&call, &attempts, parent, |provider| {
                live.registry.get(provider).map_or("unknown", |p| p.kind())
            });
        }
        self.recorder.record(Box::new(Entry {
            call,
            attempts,
            stream,
            content,
        }))
    }
}

pub(crate) const JSON: HeaderValue = HeaderValue::from_static("application/json");
const CALL_ID: HeaderName = HeaderName::from_static("x-seam-call-id");
const ATTEMPTS: HeaderName = HeaderName::from_static("x-seam-attempts");
const SERVED_MODEL: HeaderName = HeaderName::from_static("x-seam-served-model");

/// `x-seam-attempts` for the usual counts, without formatting a number per call.
const ATTEMPT_COUNTS: [HeaderValue; 6] = [
    HeaderValue::from_static("0"),
    HeaderValue::from_static("1"),
    HeaderValue::from_static("2"),
    HeaderValue::from_static("3"),
    HeaderValue::from_static("4"),
    HeaderValue::from_static("5"),
];

/// The headers every answer carries: the call's id, its attempts, the model served.
pub fn with_call_headers(
    mut resp: Response,
    call_id: &str,
    attempts: usize,
    served: Option<&str>,
) -> Response {
    let h = resp.headers_mut();
    h.reserve(3);
    if let Ok(v) = HeaderValue::from_str(call_id) {
        h.insert(CALL_ID, v);
    }
    let count = match ATTEMPT_COUNTS.get(attempts) {
        Some(v) => v.clone(),
        None => HeaderValue::from(attempts),
    };
    h.insert(ATTEMPTS, count);
    if let Some(v) = served.and_then(|s| HeaderValue::from_str(s).ok()) {
        h.insert(SERVED_MODEL, v);
    }
    resp
}

/// `x-seam-release` on every answer to a prompt call.
pub fn set_release(resp: &mut Response, release: Option<&str>) {
    if let Some(v) = release.and_then(|r| HeaderValue::from_str(r).ok()) {
        resp.headers_mut().insert("x-seam-release", v);
    }
}
