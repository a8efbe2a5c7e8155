//! The client connections' metrics (`server/connections.rs` counts them).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::Reason;

pub struct ConnectionMetrics {
    pub open: Gauge,
    pub max: Gauge,
    /// Connections Seam closed: `header_timeout`, `idle_timeout`, `evicted`.
    pub closed: Family<Reason, Counter>,
    pub accept_errors: Counter,
}

impl ConnectionMetrics {
    pub fn new(registry: &mut Registry) -> ConnectionMetrics {
        let m = ConnectionMetrics {
            open: Gauge::default(),
            max: Gauge::default(),
            closed: Family::default(),
            accept_errors: Counter::default(),
        };
        registry.register(
            "connections_open",
            "Client connections open now",
            m.open.clone(),
        );
        registry.register(
            "connections_max",
            "The most client connections open at once (server.max_connections, or derived from the open-file limit)",
            m.max.clone(),
        );
        registry.register(
            "connections_closed",
            "Client connections Seam closed, by reason: header_timeout (a request head took longer than server.header_timeout_ms), idle_timeout (no request within server.idle_timeout_secs), evicted (closed to make room at server.max_connections)",
            m.closed.clone(),
        );
        registry.register(
            "accept_errors",
            "Connections the listener failed to accept (out of file descriptors, say)",
            m.accept_errors.clone(),
        );
        m
    }
}
