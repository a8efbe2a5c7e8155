//! Phase 9 of [`crate::pipeline`], observe (through [`crate::finish`]): Prometheus metrics. Every metric's help text says whether it counts
//! calls (post-retry, what the client saw) or attempts (pre-retry, what the provider billed).

use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use seam_vocab::Outcome;
use seam_wire::Usage;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

pub mod connections;
mod labels;
pub(crate) mod resolved;
pub mod retention;
pub mod streams;
pub mod webhooks;
mod zero;

pub use labels::*;

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        60.0,
    ])
}

fn fan_out_histogram() -> Histogram {
    Histogram::new([1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0, 55.0, 89.0])
}

pub struct Metrics {
    registry: Registry,
    pub calls: Family<CallLabels, Counter>,
    pub attempts: Family<AttemptLabels, Counter>,
    pub tokens: Family<TokenLabels, Counter>,
    pub cost: Family<RouteProvider, Counter<f64, AtomicU64>>,
    pub usage_anomalies: Family<ProviderReason, Counter>,
    /// The part of `cost` billed for failed attempts: over `cost`, the retry tax.
    pub failed_cost: Family<RouteProvider, Counter<f64, AtomicU64>>,
    pub call_duration: Family<RouteProvider, Histogram, fn() -> Histogram>,
    pub attempt_ttfb: Family<RouteProvider, Histogram, fn() -> Histogram>,
    pub auth_failures: Counter,
    /// Store lookups of keys missing from the snapshot, by result.
    pub key_lookups: Family<Reason, Counter>,
    /// Spans for the OTLP collector, by what became of them.
    pub otlp_spans: Family<Reason, Counter>,
    pub records_written: Counter,
    pub records_dropped: Family<Reason, Counter>,
    pub record_queue: Gauge,
    pub records_spooled: Counter,
    pub record_spool_bytes: Gauge,
    pub record_write_failures: Counter,
    pub records_not_durable: Counter,
    /// Captured contents handed to the store with their calls.
    pub contents_captured: Counter,
    /// Captured contents not kept, by reason (the writer was behind; encoding failed).
    pub contents_dropped: Family<Reason, Counter>,
    pub first_attempts: Family<CallLabels, Counter>,
    pub retries: Family<RouteProvider, Counter>,
    pub budget_refusals: Family<RouteProvider, Counter>,
    pub events: Family<Reason, Counter>,
    pub limit_backend_errors: Family<Reason, Counter>,
    /// Calls refused by a tenant, key or trace limit (or by limits that could not be checked),
    /// by the refusal's code.
    pub limit_refusals: Family<Code, Counter>,
    /// Traces the in-process counters forgot to stay within `limits.max_traces`.
    pub limit_traces_evicted: Counter,
    pub limit_traces: Gauge,
    /// Windows and traces re-counted from the stored records: `start`, `redis_empty`, `failed`.
    pub limit_reseeds: Family<Reason, Counter>,
    pub trace_calls: Family<Tenant, Histogram, fn() -> Histogram>,
    pub trace_attempts: Family<Tenant, Histogram, fn() -> Histogram>,
    pub sessions_pinned: Family<PromptRelease, Gauge>,
    pub reloads: Family<Reason, Counter>,
    pub streams: streams::StreamMetrics,
    pub connections: connections::ConnectionMetrics,
    pub retention: retention::RetentionMetrics,
    pub webhooks: webhooks::WebhookMetrics,
    /// Handles for the common case (success) per route and provider, so that counting a
    /// call needs no label allocation: route -> provider -> handles.
    hot: resolved::PerRouteProvider<Hot>,
}

/// Pre-resolved series of one route and provider.
pub struct Hot {
    route: String,
    provider: String,
    calls_ok: Counter,
    first_ok: Counter,
    attempts_ok: Counter,
    tokens: [Counter; 4],
    cost: Counter<f64, AtomicU64>,
    failed_cost: Counter<f64, AtomicU64>,
    call_duration: Histogram,
    attempt_ttfb: Histogram,
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("seam");
        let m = Metrics {
            calls: Family::default(),
            attempts: Family::default(),
            tokens: Family::default(),
            cost: Family::default(),
            usage_anomalies: Family::default(),
            failed_cost: Family::default(),
            call_duration: Family::new_with_constructor(latency_histogram),
            attempt_ttfb: Family::new_with_constructor(latency_histogram),
            auth_failures: Counter::default(),
            key_lookups: Family::default(),
            otlp_spans: Family::default(),
            records_written: Counter::default(),
            records_dropped: Family::default(),
            record_queue: Gauge::default(),
            records_spooled: Counter::default(),
            record_spool_bytes: Gauge::default(),
            record_write_failures: Counter::default(),
            records_not_durable: Counter::default(),
            contents_captured: Counter::default(),
            contents_dropped: Family::default(),
            first_attempts: Family::default(),
            retries: Family::default(),
            budget_refusals: Family::default(),
            events: Family::default(),
            limit_backend_errors: Family::default(),
            limit_refusals: Family::default(),
            limit_traces_evicted: Counter::default(),
            limit_traces: Gauge::default(),
            limit_reseeds: Family::default(),
            trace_calls: Family::new_with_constructor(fan_out_histogram),
            trace_attempts: Family::new_with_constructor(fan_out_histogram),
            sessions_pinned: Family::default(),
            reloads: Family::default(),
            streams: streams::StreamMetrics::new(&mut registry),
            connections: connections::ConnectionMetrics::new(&mut registry),
            retention: retention::RetentionMetrics::new(&mut registry),
            webhooks: webhooks::WebhookMetrics::new(&mut registry),
            registry: Registry::default(),
            hot: resolved::PerRouteProvider::default(),
        };
        registry.register(
            "calls",
            "Calls (client requests), per call, by final post-retry outcome and the status Seam answered",
            m.calls.clone(),
        );
        registry.register(
            "attempts",
            "Upstream attempts, per attempt (pre-retry), by outcome and error class",
            m.attempts.clone(),
        );
        registry.register(
            "tokens",
            "Tokens billed, summed over attempts, by direction and whether Seam estimated them",
            m.tokens.clone(),
        );
        registry.register(
            "cost_usd",
            "Cost in USD, summed over attempts (failed attempts included)",
            m.cost.clone(),
        );
        registry.register(
            "usage_anomalies",
            "Attempts whose reported usage Seam did not bill as reported, per attempt, by provider and reason (missing: an answer ran to its end without usage; malformed: counts that are not whole non-negative numbers; implausible: more tokens than the call could use); the estimate was billed instead, marked estimated",
            m.usage_anomalies.clone(),
        );
        registry.register(
            "failed_attempts_cost_usd",
            "Cost in USD of failed attempts, per attempt (pre-retry): over seam_cost_usd_total, the retry tax",
            m.failed_cost.clone(),
        );
        registry.register(
            "call_duration_seconds",
            "Wall time of a call, per call, from request to last byte",
            m.call_duration.clone(),
        );
        registry.register(
            "attempt_ttfb_seconds",
            "Time to first byte of an upstream attempt, per attempt",
            m.attempt_ttfb.clone(),
        );
        registry.register(
            "auth_failures",
            "Requests refused for a missing or unknown key",
            m.auth_failures.clone(),
        );
        registry.register(
            "key_lookups",
            "Keys missing from the gateway's snapshot looked up in the store, by result (found, unknown, limited: over the lookup rate, not looked up; error)",
            m.key_lookups.clone(),
        );
        registry.register(
            "otlp_spans",
            "Spans of calls and attempts for the OTLP collector, by result (exported, dropped_queue_full, dropped_export_failed)",
            m.otlp_spans.clone(),
        );
        registry.register(
            "records_written",
            "Call and attempt records written to the store",
            m.records_written.clone(),
        );
        registry.register(
            "records_dropped",
            "Call and attempt records lost, by reason (queue_full, spool_full, spool_error, store_error, writer_stopped; spool_unreadable counts damaged spool batches, whose size is unknown)",
            m.records_dropped.clone(),
        );
        registry.register(
            "record_queue_depth",
            "Calls waiting in the record writer's queue",
            m.record_queue.clone(),
        );
        registry.register(
            "records_spooled",
            "Call and attempt records written to the local spool (the store was down, or durability = acknowledged)",
            m.records_spooled.clone(),
        );
        registry.register(
            "record_spool_bytes",
            "Bytes in the local records spool, waiting for the store",
            m.record_spool_bytes.clone(),
        );
        registry.register(
            "records_not_durable",
            "Calls answered without their records on disk although durability = acknowledged (the spool was full or failing, or the journal was a whole queue behind): they went to the queue",
            m.records_not_durable.clone(),
        );
        registry.register(
            "contents_captured",
            "Captured contents (what a call asked and answered, redacted) handed to the store with their calls",
            m.contents_captured.clone(),
        );
        registry.register(
            "contents_dropped",
            "Captured contents not kept, by reason (writer_behind: the record writer had half its queue waiting, and kept the calls without their content; encode_failed)",
            m.contents_dropped.clone(),
        );
        registry.register(
            "record_write_failures",
            "Failed writes of a batch of records to the store (each is retried)",
            m.record_write_failures.clone(),
        );
        registry.register(
            "first_attempts",
            "Calls by the outcome of their first attempt, per call, pre-retry (status is empty)",
            m.first_attempts.clone(),
        );
        registry.register(
            "retries",
            "Retries sent to a provider on a route, per attempt (attempts after a call's first on that target)",
            m.retries.clone(),
        );
        registry.register(
            "retry_budget_refusals",
            "Calls failed fast because the route's retry budget for the provider was spent, per call",
            m.budget_refusals.clone(),
        );
        registry.register(
            "events",
            "Change-timeline events written, by kind",
            m.events.clone(),
        );
        registry.register(
            "sessions_pinned",
            "Live sessions per prompt and the release they are pinned to, across every gateway sharing the store (a release still counted after a deploy is draining)",
            m.sessions_pinned.clone(),
        );
        registry.register(
            "reloads",
            "Config and prompt reloads, by outcome (applied, unchanged, refused)",
            m.reloads.clone(),
        );
        registry.register(
            "limit_backend_errors",
            "Calls whose limits could not be checked (backend unreachable), by the on_backend_down decision (open: passed, closed: refused)",
            m.limit_backend_errors.clone(),
        );
        registry.register(
            "limit_refusals",
            "Calls refused by a limit, per call, by the code the client got (tenant_*, key_*, trace_*; limits_unavailable: the backend was down and on_backend_down closed)",
            m.limit_refusals.clone(),
        );
        registry.register(
            "limit_traces_evicted",
            "Traces the in-process limit counters forgot, least recently used first, to hold at most limits.max_traces (their trace caps start over)",
            m.limit_traces_evicted.clone(),
        );
        registry.register(
            "limit_traces",
            "Traces the in-process limit counters hold now",
            m.limit_traces.clone(),
        );
        registry.register(
            "limit_reseeds",
            "Times the limit counters were re-counted from the stored records (reason: start, redis_empty; failed: the store could not be read)",
            m.limit_reseeds.clone(),
        );
        registry.register(
            "trace_calls",
            "Fan-out: calls per trace (one user request), per tenant, observed when the trace goes quiet",
            m.trace_calls.clone(),
        );
        registry.register(
            "trace_attempts",
            "Fan-out: upstream attempts per trace, retries included, per tenant",
            m.trace_attempts.clone(),
        );
        let m = Metrics { registry, ..m };
        m.zero_fixed();
        Arc::new(m)
    }

    /// The handles of `route` and `provider`, kept in `memo` for the rest of the call: a call
    /// counts five series against one route and (but for a fallback) one provider, so it
    /// looks them up once instead of five times.
    fn hot<'m>(&self, memo: &'m mut Option<Arc<Hot>>, route: &str, provider: &str) -> &'m Hot {
        let held = memo
            .as_ref()
            .is_some_and(|h| h.route == route && h.provider == provider);
        if !held {
            *memo = None;
        }
        memo.get_or_insert_with(|| self.lookup(route, provider))
    }

    fn lookup(&self, route: &str, provider: &str) -> Arc<Hot> {
        self.hot
            .get(route, provider, || self.resolve(route, provider))
    }

    fn resolve(&self, route: &str, provider: &str) -> Hot {
        let rp = RouteProvider {
            route: route.to_string(),
            provider: provider.to_string(),
        };
        let token = |direction: &str, estimated: bool| {
            self.tokens
                .get_or_create(&TokenLabels {
                    route: route.to_string(),
                    provider: provider.to_string(),
                    direction: direction.into(),
                    estimated: estimated.to_string(),
                })
                .clone()
        };
        Hot {
            route: route.to_string(),
            provider: provider.to_string(),
            calls_ok: self
                .calls
                .get_or_create(&CallLabels {
                    route: route.to_string(),
                    provider: provider.to_string(),
                    outcome: Outcome::Ok.as_str().into(),
                    status: "200".into(),
                })
                .clone(),
            first_ok: self
                .first_attempts
                .get_or_create(&CallLabels {
                    route: route.to_string(),
                    provider: provider.to_string(),
                    outcome: Outcome::Ok.as_str().into(),
                    status: String::new(),
                })
                .clone(),
            attempts_ok: self
                .attempts
                .get_or_create(&AttemptLabels {
                    route: route.to_string(),
                    provider: provider.to_string(),
                    outcome: Outcome::Ok.as_str().into(),
                    error_class: String::new(),
                })
                .clone(),
            tokens: [
                token("input", false),
                token("output", false),
                token("input", true),
                token("output", true),
            ],
            cost: self.cost.get_or_create(&rp).clone(),
            failed_cost: self.failed_cost.get_or_create(&rp).clone(),
            call_duration: self.call_duration.get_or_create(&rp).clone(),
            attempt_ttfb: self.attempt_ttfb.get_or_create(&rp).clone(),
        }
    }

    /// One call finished (per call, post-retry).
    pub fn call(
        &self,
        memo: &mut Option<Arc<Hot>>,
        route: &str,
        provider: &str,
        outcome: Outcome,
        status: i64,
        secs: f64,
    ) {
        let hot = self.hot(memo, route, provider);
        if outcome == Outcome::Ok && status == 200 {
            hot.calls_ok.inc();
        } else {
            self.calls
                .get_or_create(&CallLabels {
                    route: route.to_string(),
                    provider: provider.to_string(),
                    outcome: outcome.as_str().to_string(),
                    status: status.to_string(),
                })
                .inc();
        }
        hot.call_duration.observe(secs);
    }

    /// One upstream attempt ended (per attempt, pre-retry); `error_class` is `None` on success.
    pub fn attempt(
        &self,
        memo: &mut Option<Arc<Hot>>,
        route: &str,
        provider: &str,
        error_class: Option<&str>,
    ) {
        match error_class {
            None => {
                self.hot(memo, route, provider).attempts_ok.inc();
            }
            Some(class) => {
                self.attempts
                    .get_or_create(&AttemptLabels {
                        route: route.to_string(),
                        provider: provider.to_string(),
                        outcome: Outcome::Error.as_str().into(),
                        error_class: class.to_string(),
                    })
                    .inc();
            }
        }
    }

    pub fn first_attempt(
        &self,
        memo: &mut Option<Arc<Hot>>,
        route: &str,
        provider: &str,
        ok: bool,
    ) {
        if ok {
            self.hot(memo, route, provider).first_ok.inc();
            return;
        }
        self.first_attempts
            .get_or_create(&CallLabels {
                route: route.to_string(),
                provider: provider.to_string(),
                outcome: Outcome::Error.as_str().into(),
                status: String::new(),
            })
            .inc();
    }

    pub fn otlp_spans(&self, result: &str, n: u64) {
        self.otlp_spans
            .get_or_create(&Reason {
                reason: result.to_string(),
            })
            .inc_by(n);
    }

    pub fn key_lookup(&self, result: &str) {
        self.key_lookups
            .get_or_create(&Reason {
                reason: result.to_string(),
            })
            .inc();
    }

    pub fn retry(&self, route: &str, provider: &str) {
        self.retries
            .get_or_create(&RouteProvider {
                route: route.to_string(),
                provider: provider.to_string(),
            })
            .inc();
    }

    /// A call refused by a limit (per call).
    pub fn limit_refusal(&self, code: &str) {
        self.limit_refusals
            .get_or_create(&Code {
                code: code.to_string(),
            })
            .inc();
    }

    pub fn budget_refusal(&self, route: &str, provider: &str) {
        self.budget_refusals
            .get_or_create(&RouteProvider {
                route: route.to_string(),
                provider: provider.to_string(),
            })
            .inc();
    }

    pub fn attempt_ttfb(
        &self,
        memo: &mut Option<Arc<Hot>>,
        route: &str,
        provider: &str,
        secs: f64,
    ) {
        self.hot(memo, route, provider).attempt_ttfb.observe(secs);
    }

    /// Tokens and cost one attempt was billed.
    pub fn usage(
        &self,
        memo: &mut Option<Arc<Hot>>,
        route: &str,
        provider: &str,
        usage: Usage,
        estimated: bool,
        cost: f64,
    ) {
        let hot = self.hot(memo, route, provider);
        let base = if estimated { 2 } else { 0 };
        if usage.input_tokens > 0 {
            hot.tokens[base].inc_by(usage.input_tokens);
        }
        if usage.output_tokens > 0 {
            hot.tokens[base + 1].inc_by(usage.output_tokens);
        }
        if cost > 0.0 {
            hot.cost.inc_by(cost);
        }
    }

    /// An attempt whose usage was set aside for an estimate (see `account::bill`).
    pub fn usage_anomaly(&self, provider: &str, reason: &str) {
        self.usage_anomalies
            .get_or_create(&ProviderReason {
                provider: provider.to_string(),
                reason: reason.to_string(),
            })
            .inc();
    }

    /// What a failed attempt was billed (already in [`Metrics::usage`]'s cost): the retry tax.
    pub fn failed_attempt_cost(
        &self,
        memo: &mut Option<Arc<Hot>>,
        route: &str,
        provider: &str,
        cost: f64,
    ) {
        if cost > 0.0 {
            self.hot(memo, route, provider).failed_cost.inc_by(cost);
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let written = encode_registry(&mut out, &self.registry)
            .and_then(|()| encode_registry(&mut out, &self.streams.gen_ai))
            .and_then(|()| encode_eof(&mut out));
        if written.is_err() {
            out.clear();
        }
        out
    }
}
