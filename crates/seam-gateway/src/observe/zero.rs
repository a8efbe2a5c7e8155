//! Series that exist at 0 from the start. A counter that appears only at its first increment
//! gives an alert "no data" until then, and `increase()` / `rate()` miss that first
//! increment (one sample is no rate). So every label set known before any traffic gets its
//! series at 0: the fixed reasons and codes when the metrics are made, and each route and the
//! providers of its targets when a config is started or reloaded.

use super::streams::{SloLabels, StreamLabels};
use super::{CallLabels, Code, Metrics, ProviderReason, Reason, RouteProvider};
use seam_config::{Config, Metric};
use seam_vocab::EventKind;
use seam_vocab::{RefusalCode, SloOutcome};

/// `seam_records_dropped_total{reason}`: the reasons of `record/` (mod.rs, writer.rs, journal.rs).
pub const RECORD_DROP_REASONS: [&str; 6] = [
    "queue_full",
    "writer_stopped",
    "spool_full",
    "spool_error",
    "store_error",
    "spool_unreadable",
];

/// `seam_contents_dropped_total{reason}`: see `record/writer.rs`.
pub const CONTENT_DROP_REASONS: [&str; 2] = ["writer_behind", "encode_failed"];

/// `seam_events_total{reason}`: the kinds of event the gateway writes (the control plane's
/// deploys and approvals are written by `seam-control`, not counted here).
pub const EVENT_KINDS: [EventKind; 11] = [
    EventKind::ServedModelChanged,              // drift.rs
    EventKind::FingerprintChanged,              // drift.rs
    EventKind::ProviderDegradedHiddenByRetries, // divergence.rs
    EventKind::StreamShapeChanged,              // shape.rs
    EventKind::SessionMoved,                    // session.rs
    EventKind::ConfigReloadRefused,             // reload.rs
    EventKind::ReleaseModelMismatch,            // pinned.rs
    // The record writer's outage summary (record/writer.rs).
    EventKind::RecordsDropped,
    EventKind::StoreOutage,
    // Captured content the record writer could not keep up with (record/writer.rs).
    EventKind::ContentDropped,
    EventKind::RetentionDeleted, // retention.rs
];
/// `seam_limit_backend_errors_total{reason}`: the `on_backend_down` decisions.
const BACKEND_DOWN_DECISIONS: [&str; 2] = ["open", "closed"];
/// `seam_limit_reseeds_total{reason}`.
const RESEED_REASONS: [&str; 3] = ["start", "redis_empty", "failed"];
/// `seam_reloads_total{reason}`.
const RELOAD_OUTCOMES: [&str; 3] = ["applied", "unchanged", "refused"];
/// `seam_limit_refusals_total{code}` beyond the per-metric codes of tenants and keys.
const OTHER_REFUSAL_CODES: [RefusalCode; 6] = [
    RefusalCode::TraceCallLimit,
    RefusalCode::TraceAttemptLimit,
    RefusalCode::TraceTimeLimit,
    RefusalCode::TraceTokenLimit,
    RefusalCode::TraceCostLimit,
    RefusalCode::LimitsUnavailable,
];

/// Every code a limit refusal can carry.
pub fn refusal_codes() -> Vec<&'static str> {
    Metric::ALL
        .into_iter()
        .flat_map(|m| [false, true].map(|key| crate::errors::refusal_code(m, key)))
        .chain(OTHER_REFUSAL_CODES)
        .map(RefusalCode::as_str)
        .collect()
}

fn reason(r: &str) -> Reason {
    Reason { reason: r.into() }
}

// `get_or_create` hands back a read guard of the family; dropping it at once (`let _`) is all
// a zero series needs.
impl Metrics {
    /// The series whose labels do not depend on the config.
    pub(super) fn zero_fixed(&self) {
        for r in RECORD_DROP_REASONS {
            let _ = self.records_dropped.get_or_create(&reason(r));
        }
        for r in CONTENT_DROP_REASONS {
            let _ = self.contents_dropped.get_or_create(&reason(r));
        }
        for k in EVENT_KINDS {
            let _ = self.events.get_or_create(&reason(k.as_str()));
        }
        for d in BACKEND_DOWN_DECISIONS {
            let _ = self.limit_backend_errors.get_or_create(&reason(d));
        }
        for r in RESEED_REASONS {
            let _ = self.limit_reseeds.get_or_create(&reason(r));
        }
        for o in RELOAD_OUTCOMES {
            let _ = self.reloads.get_or_create(&reason(o));
        }
        for c in refusal_codes() {
            let _ = self.limit_refusals.get_or_create(&Code { code: c.into() });
        }
    }

    /// The series of each route of `config` and each provider of its targets: calls and first
    /// attempts (succeeded and failed), successful attempts (failed ones are labelled by an
    /// error class: they appear with their first failure), retries, retry-budget refusals, stream
    /// stalls and disconnects, usage anomalies, and stream SLO outcomes where the route has an SLO. Called at
    /// start and after each reload (a series once made stays, as Prometheus expects).
    pub fn zero_routes(&self, config: &Config) {
        for route in &config.routes {
            let mut providers: Vec<&str> = Vec::new();
            for t in &route.targets {
                if !providers.contains(&t.provider.as_str()) {
                    providers.push(&t.provider);
                }
            }
            for provider in providers {
                // Succeeded calls, first attempts and attempts, tokens, cost, latency.
                let _ = self.lookup(&route.name, provider);
                let rp = RouteProvider {
                    route: route.name.clone(),
                    provider: provider.to_string(),
                };
                let _ = self.first_attempts.get_or_create(&CallLabels {
                    outcome: seam_vocab::Outcome::Error.as_str().into(),
                    status: String::new(),
                    route: rp.route.clone(),
                    provider: rp.provider.clone(),
                });
                let _ = self.retries.get_or_create(&rp);
                let _ = self.budget_refusals.get_or_create(&rp);
                let sl = StreamLabels {
                    route: rp.route.clone(),
                    provider: rp.provider.clone(),
                };
                let _ = self.streams.stalls.get_or_create(&sl);
                let _ = self.streams.client_disconnects.get_or_create(&sl);
                for r in super::ANOMALY_REASONS {
                    let _ = self.usage_anomalies.get_or_create(&ProviderReason {
                        provider: rp.provider.clone(),
                        reason: r.into(),
                    });
                }
            }
            if route.stream_slo.is_some() {
                // `seam_stream_slo_total{outcome}`.
                for o in SloOutcome::ALL {
                    let _ = self.streams.slo.get_or_create(&SloLabels {
                        route: route.name.clone(),
                        outcome: o.as_str().into(),
                    });
                }
            }
        }
    }
}
