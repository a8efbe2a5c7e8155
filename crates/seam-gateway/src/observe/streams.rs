//! The stream metrics: what clients saw of streams (`telemetry.rs` measures them), and the
//! OpenTelemetry GenAI histograms.

use super::resolved::PerRouteProvider;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::sync::Arc;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GenAiLabels {
    pub gen_ai_operation_name: String,
    pub gen_ai_provider_name: String,
    pub seam_route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StreamLabels {
    pub route: String,
    pub provider: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SloLabels {
    pub route: String,
    pub outcome: String,
}

fn seconds() -> Histogram {
    Histogram::new([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

fn chars() -> Histogram {
    Histogram::new([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0])
}

/// Stream histograms and counters. The `gen_ai_*` ones live in a registry without Seam's
/// prefix, so they carry the convention's names.
pub struct StreamMetrics {
    pub gen_ai: Registry,
    pub(crate) ttfc: Family<GenAiLabels, Histogram, fn() -> Histogram>,
    pub(crate) per_chunk: Family<GenAiLabels, Histogram, fn() -> Histogram>,
    pub(crate) ttft: Family<GenAiLabels, Histogram, fn() -> Histogram>,
    pub(crate) per_token: Family<GenAiLabels, Histogram, fn() -> Histogram>,
    pub chars_per_chunk: Family<StreamLabels, Histogram, fn() -> Histogram>,
    pub stalls: Family<StreamLabels, Counter>,
    pub client_disconnects: Family<StreamLabels, Counter>,
    pub slo: Family<SloLabels, Counter>,
    resolved: PerRouteProvider<StreamHistograms>,
}

/// The histograms every stream of one route and provider observes.
pub struct StreamHistograms {
    pub ttfc: Histogram,
    pub per_chunk: Histogram,
    pub ttft: Histogram,
    pub per_token: Histogram,
    pub chars_per_chunk: Histogram,
}

impl StreamMetrics {
    pub fn new(seam: &mut Registry) -> StreamMetrics {
        let m = StreamMetrics {
            gen_ai: Registry::default(),
            ttfc: Family::new_with_constructor(seconds),
            per_chunk: Family::new_with_constructor(seconds),
            ttft: Family::new_with_constructor(seconds),
            per_token: Family::new_with_constructor(seconds),
            chars_per_chunk: Family::new_with_constructor(chars),
            stalls: Family::default(),
            client_disconnects: Family::default(),
            slo: Family::default(),
            resolved: PerRouteProvider::default(),
        };
        let mut gen_ai = Registry::default();
        gen_ai.register_with_unit(
            "gen_ai_client_operation_time_to_first_chunk",
            "Streams: time from the call's start to the first chunk sent to the client",
            Unit::Seconds,
            m.ttfc.clone(),
        );
        gen_ai.register_with_unit(
            "gen_ai_client_operation_time_per_output_chunk",
            "Streams: gap between content chunks as sent to the client, per chunk",
            Unit::Seconds,
            m.per_chunk.clone(),
        );
        gen_ai.register_with_unit(
            "gen_ai_server_time_to_first_token",
            "Streams: time from the serving attempt's start to the first content from the provider",
            Unit::Seconds,
            m.ttft.clone(),
        );
        gen_ai.register_with_unit(
            "gen_ai_server_time_per_output_token",
            "Streams: time between the first and last content over the output tokens after the first, per stream",
            Unit::Seconds,
            m.per_token.clone(),
        );
        seam.register(
            "stream_chars_per_chunk",
            "Streams: content characters per content chunk sent to the client",
            m.chars_per_chunk.clone(),
        );
        seam.register(
            "stream_stalls",
            "Streams: gaps between content chunks longer than streams.stall_ms",
            m.stalls.clone(),
        );
        seam.register(
            "stream_client_disconnects",
            "Streams the client left before their end (the upstream request is cancelled)",
            m.client_disconnects.clone(),
        );
        seam.register(
            "stream_slo",
            "Streams on routes with a stream_slo, by whether each met it",
            m.slo.clone(),
        );
        StreamMetrics { gen_ai, ..m }
    }

    /// The histograms of `route` and `provider`, resolved on their first stream.
    pub fn histograms(&self, route: &str, provider: &str) -> Arc<StreamHistograms> {
        self.resolved.get(route, provider, || {
            let gen_ai = GenAiLabels {
                gen_ai_operation_name: "chat".into(),
                gen_ai_provider_name: provider.to_string(),
                seam_route: route.to_string(),
            };
            let labels = StreamLabels {
                route: route.to_string(),
                provider: provider.to_string(),
            };
            StreamHistograms {
                ttfc: self.ttfc.get_or_create(&gen_ai).clone(),
                per_chunk: self.per_chunk.get_or_create(&gen_ai).clone(),
                ttft: self.ttft.get_or_create(&gen_ai).clone(),
                per_token: self.per_token.get_or_create(&gen_ai).clone(),
                chars_per_chunk: self.chars_per_chunk.get_or_create(&labels).clone(),
            }
        })
    }
}
