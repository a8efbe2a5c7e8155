//! Phase 9, observe: Prometheus metrics. Every metric's help text says whether it counts
//! calls (post-retry, what the client saw) or attempts (pre-retry, what the provider billed).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub route: String,
    pub provider: String,
    pub outcome: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AttemptLabels {
    pub route: String,
    pub provider: String,
    pub outcome: String,
    pub error_class: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TokenLabels {
    pub route: String,
    pub provider: String,
    pub direction: String,
    pub estimated: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteProvider {
    pub route: String,
    pub provider: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Reason {
    pub reason: String,
}

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        60.0,
    ])
}

pub struct Metrics {
    registry: Registry,
    pub calls: Family<CallLabels, Counter>,
    pub attempts: Family<AttemptLabels, Counter>,
    pub tokens: Family<TokenLabels, Counter>,
    pub cost: Family<RouteProvider, Counter<f64, AtomicU64>>,
    pub call_duration: Family<RouteProvider, Histogram, fn() -> Histogram>,
    pub attempt_ttfb: Family<RouteProvider, Histogram, fn() -> Histogram>,
    pub auth_failures: Counter,
    pub records_written: Counter,
    pub records_dropped: Family<Reason, Counter>,
    pub record_queue: Gauge,
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("seam");
        let m = Metrics {
            calls: Family::default(),
            attempts: Family::default(),
            tokens: Family::default(),
            cost: Family::default(),
            call_duration: Family::new_with_constructor(latency_histogram),
            attempt_ttfb: Family::new_with_constructor(latency_histogram),
            auth_failures: Counter::default(),
            records_written: Counter::default(),
            records_dropped: Family::default(),
            record_queue: Gauge::default(),
            registry: Registry::default(),
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
            "records_written",
            "Call and attempt records written to the store",
            m.records_written.clone(),
        );
        registry.register(
            "records_dropped",
            "Call and attempt records lost, by reason (queue_full, store_error)",
            m.records_dropped.clone(),
        );
        registry.register(
            "record_queue_depth",
            "Calls waiting in the record writer's queue",
            m.record_queue.clone(),
        );
        Arc::new(Metrics { registry, ..m })
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
