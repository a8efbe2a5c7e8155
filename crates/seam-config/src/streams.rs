//! Streams: the stall threshold and chunk-shape drift detector (`[streams]`), and per route a
//! perceived-smoothness SLO (`stream_slo`) and re-chunking (`rechunk`).

use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStreams {
    pub stall_ms: Option<u64>,
    pub drift_window_streams: Option<usize>,
    pub drift_p_value: Option<f64>,
    pub drift_min_change: Option<f64>,
}

/// `[streams]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Streams {
    /// A gap between content chunks longer than this is a stall.
    pub stall: Duration,
    /// Streams per window of the drift test: the last `window` streams of a provider and
    /// served model are compared with the `window` before them.
    pub drift_window: usize,
    /// The two-sided p-value below which the windows differ.
    pub drift_p_value: f64,
    /// And the relative change of the median that makes a difference worth an event.
    pub drift_min_change: f64,
}

impl Default for Streams {
    fn default() -> Self {
        Streams {
            stall: Duration::from_millis(1000),
            drift_window: 20,
            drift_p_value: 0.001,
            drift_min_change: 0.25,
        }
    }
}

/// A route's perceived-smoothness SLO; each stream meets all of it or breaches it.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamSlo {
    /// The 95th percentile gap between content chunks, at most.
    pub gap_p95_ms: Option<f64>,
    /// The median content characters per chunk, at least.
    pub chars_per_chunk_p50: Option<f64>,
    /// No gap longer than this.
    pub max_stall_ms: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Boundary {
    Word,
    Line,
}

/// Coalesce content deltas into chunks of at least `min_chars` that end at a word or line
/// boundary, holding text at most `max_hold`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rechunk {
    pub boundary: Boundary,
    pub min_chars: usize,
    pub max_hold: Duration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRechunk {
    pub boundary: Boundary,
    pub min_chars: Option<usize>,
    pub max_hold_ms: Option<u64>,
}

pub(crate) fn streams(raw: Option<RawStreams>, problems: &mut Vec<String>) -> Streams {
    let raw = raw.unwrap_or_default();
    let d = Streams::default();
    let out = Streams {
        stall: raw.stall_ms.map(Duration::from_millis).unwrap_or(d.stall),
        drift_window: raw.drift_window_streams.unwrap_or(d.drift_window),
        drift_p_value: raw.drift_p_value.unwrap_or(d.drift_p_value),
        drift_min_change: raw.drift_min_change.unwrap_or(d.drift_min_change),
    };
    if out.stall.is_zero() {
        problems.push("streams.stall_ms: must be greater than 0".into());
    }
    if out.drift_window < 5 {
        problems.push("streams.drift_window_streams: at least 5 streams per window".into());
    }
    if !(out.drift_p_value > 0.0 && out.drift_p_value < 1.0) {
        problems.push("streams.drift_p_value: between 0 and 1, e.g. 0.001".into());
    }
    if out.drift_min_change.is_nan() || out.drift_min_change < 0.0 {
        problems.push("streams.drift_min_change: a non-negative fraction, e.g. 0.25".into());
    }
    out
}

pub(crate) fn slo(
    raw: Option<StreamSlo>,
    key: &str,
    problems: &mut Vec<String>,
) -> Option<StreamSlo> {
    let s = raw?;
    for (name, v) in [
        ("gap_p95_ms", s.gap_p95_ms),
        ("chars_per_chunk_p50", s.chars_per_chunk_p50),
        ("max_stall_ms", s.max_stall_ms),
    ] {
        if v.is_some_and(|v| v.is_nan() || v < 0.0) {
            problems.push(format!(
                "{key}.stream_slo.{name}: must be a non-negative number"
            ));
        }
    }
    if s.gap_p95_ms.is_none() && s.chars_per_chunk_p50.is_none() && s.max_stall_ms.is_none() {
        problems.push(format!(
            "{key}.stream_slo: name at least one of gap_p95_ms, chars_per_chunk_p50, max_stall_ms"
        ));
    }
    Some(s)
}

pub(crate) fn rechunk(
    raw: Option<RawRechunk>,
    key: &str,
    problems: &mut Vec<String>,
) -> Option<Rechunk> {
    let r = raw?;
    let hold = r.max_hold_ms.unwrap_or(100);
    if hold == 0 || hold > 10_000 {
        problems.push(format!("{key}.rechunk.max_hold_ms: between 1 and 10000"));
    }
    let min_chars = r.min_chars.unwrap_or(1);
    if min_chars == 0 || min_chars > 4096 {
        problems.push(format!("{key}.rechunk.min_chars: between 1 and 4096"));
    }
    Some(Rechunk {
        boundary: r.boundary,
        min_chars,
        max_hold: Duration::from_millis(hold),
    })
}
