//! The webhooks' metrics: deliveries of timeline events to `[[notify.webhooks]]` receivers,
//! counted by the process that sends them (`seam serve`'s canary schedule copies its
//! notifier's counts here).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Outcome {
    pub result: &'static str,
}

pub struct WebhookMetrics {
    pub deliveries: Family<Outcome, Counter>,
    pub attempts: Counter,
    pub in_flight: Gauge,
}

impl WebhookMetrics {
    pub fn new(registry: &mut Registry) -> WebhookMetrics {
        let m = WebhookMetrics {
            deliveries: Family::default(),
            attempts: Counter::default(),
            in_flight: Gauge::default(),
        };
        registry.register(
            "webhook_deliveries",
            "Timeline events sent to webhooks, by result (delivered: a 2xx; failed: given up after max_attempts, or refused with a 4xx other than 408/429)",
            m.deliveries.clone(),
        );
        registry.register(
            "webhook_attempts",
            "Webhook requests made, first attempts and retries",
            m.attempts.clone(),
        );
        registry.register(
            "webhook_in_flight",
            "Webhook deliveries being attempted or waiting to retry",
            m.in_flight.clone(),
        );
        m
    }

    /// Adds what a notifier counted since it last reported.
    pub fn add(&self, delivered: u64, failed: u64, attempts: u64, in_flight: u64) {
        self.deliveries
            .get_or_create(&Outcome {
                result: "delivered",
            })
            .inc_by(delivered);
        self.deliveries
            .get_or_create(&Outcome { result: "failed" })
            .inc_by(failed);
        self.attempts.inc_by(attempts);
        self.in_flight
            .set(i64::try_from(in_flight).unwrap_or(i64::MAX));
    }
}
