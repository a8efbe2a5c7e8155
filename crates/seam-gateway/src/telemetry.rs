//! Per-stream telemetry: what the client saw of a stream, chunk by chunk — time to first
//! chunk and to first content, content characters per chunk, gaps between content chunks,
//! stalls, output tokens per second — recorded with the call, checked against the route's
//! smoothness SLO, and observed in histograms named after the OpenTelemetry GenAI
//! conventions. Memory per stream is bounded: past [`MAX_SAMPLES`] chunks the samples are a
//! uniform reservoir over the whole stream (the maximum
//! gap and the stall count stay exact).

use crate::observe::streams::{SloLabels, StreamLabels, StreamMetrics};
use prometheus_client::metrics::histogram::Histogram;
use seam_config::StreamSlo;
use seam_store::StreamRecord;
use seam_vocab::SloVerdict;
use std::time::{Duration, Instant};

pub const MAX_SAMPLES: usize = 4_096;

/// Counts output tokens of a stream's text without keeping all of it: text is tokenized in
/// pieces at whitespace once enough has gathered.
#[derive(Default)]
pub struct TokenTally {
    pending: String,
    counted: u64,
}

const TALLY_PIECE: usize = 16 * 1024;

impl TokenTally {
    pub fn push(&mut self, text: &str) {
        self.pending.push_str(text);
        if self.pending.len() >= TALLY_PIECE
            && let Some(cut) = self.pending.rfind(char::is_whitespace)
            && cut > 0
        {
            self.counted += crate::account::count_tokens(&self.pending[..cut]);
            self.pending.drain(..cut);
        }
    }

    pub fn total(&self) -> u64 {
        self.counted + crate::account::count_tokens(&self.pending)
    }
}

/// One stream, watched as it is sent to the client.
pub struct StreamWatch {
    call_started: Instant,
    attempt_started: Instant,
    stall: Duration,
    first_chunk: Option<Instant>,
    first_content: Option<Instant>,
    last_content: Option<Instant>,
    chunks: u64,
    content_chunks: u64,
    total_chars: u64,
    chars: Vec<u32>,
    gaps_us: Vec<u32>,
    max_gap: Duration,
    stalls: u64,
    per_chunk: Option<Histogram>,
}

/// Reservoir sampling (Algorithm R): the `n`-th value (1-based) replaces a kept one with
/// probability MAX_SAMPLES / n, so what is kept is a uniform sample of all `n`. The index
/// comes from a hash of `n`: deterministic, and cheap enough per chunk.
fn keep(samples: &mut Vec<u32>, n: u64, v: u32) {
    if samples.len() < MAX_SAMPLES {
        samples.push(v);
        return;
    }
    let mixed = n.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(31) ^ n;
    let slot = (mixed % n) as usize;
    if slot < MAX_SAMPLES {
        samples[slot] = v;
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * (sorted.len() - 1) as f64).round() as usize;
    f64::from(sorted[rank.min(sorted.len() - 1)])
}

/// What a finished stream looked like, for the record and the drift detector.
pub struct Summary {
    pub record: StreamRecord,
    /// Median gap between content chunks, ms (the drift detector's second sample).
    pub gap_p50_ms: f64,
}

impl StreamWatch {
    pub fn new(call_started: Instant, attempt_started: Instant, stall: Duration) -> StreamWatch {
        StreamWatch {
            call_started,
            attempt_started,
            stall,
            first_chunk: None,
            first_content: None,
            last_content: None,
            chunks: 0,
            content_chunks: 0,
            total_chars: 0,
            chars: Vec::new(),
            gaps_us: Vec::new(),
            max_gap: Duration::ZERO,
            stalls: 0,
            per_chunk: None,
        }
    }

    /// Observes per-chunk gaps into `h` as they happen.
    pub fn observe_gaps(&mut self, h: Histogram) {
        self.per_chunk = Some(h);
    }

    /// A chunk went to the client at `now` with `chars` characters of content.
    pub fn sent(&mut self, chars: usize, now: Instant) {
        self.chunks += 1;
        self.first_chunk.get_or_insert(now);
        if chars == 0 {
            return;
        }
        self.content_chunks += 1;
        self.total_chars += chars as u64;
        let c = u32::try_from(chars).unwrap_or(u32::MAX);
        keep(&mut self.chars, self.content_chunks, c);
        if let Some(last) = self.last_content {
            let gap = now.saturating_duration_since(last);
            self.max_gap = self.max_gap.max(gap);
            if gap > self.stall {
                self.stalls += 1;
            }
            let g = u32::try_from(gap.as_micros()).unwrap_or(u32::MAX);
            keep(&mut self.gaps_us, self.content_chunks - 1, g);
            if let Some(h) = &self.per_chunk {
                h.observe(gap.as_secs_f64());
            }
        }
        self.first_content.get_or_insert(now);
        self.last_content = Some(now);
    }

    #[allow(clippy::too_many_arguments)]
    fn observe(
        &self,
        metrics: &StreamMetrics,
        route: &str,
        provider: &str,
        output_tokens: u64,
        span: f64,
        client_closed: bool,
        slo: Option<&SloVerdict>,
    ) {
        let h = metrics.histograms(route, provider);
        if let Some(t) = self.first_chunk {
            let s = t.saturating_duration_since(self.call_started).as_secs_f64();
            h.ttfc.observe(s);
        }
        if let Some(t) = self.first_content {
            let s = t
                .saturating_duration_since(self.attempt_started)
                .as_secs_f64();
            h.ttft.observe(s);
        }
        if output_tokens > 1 && span > 0.0 {
            h.per_token.observe(span / (output_tokens - 1) as f64);
        }
        let sl = || StreamLabels {
            route: route.to_string(),
            provider: provider.to_string(),
        };
        if self.stalls > 0 {
            metrics.stalls.get_or_create(&sl()).inc_by(self.stalls);
        }
        if client_closed {
            metrics.client_disconnects.get_or_create(&sl()).inc();
        }
        for c in &self.chars {
            h.chars_per_chunk.observe(f64::from(*c));
        }
        if let Some(o) = slo {
            metrics
                .slo
                .get_or_create(&SloLabels {
                    route: route.to_string(),
                    outcome: o.outcome().as_str().into(),
                })
                .inc();
        }
    }

    /// The stream's record; `slo` is the route's, checked here.
    #[allow(clippy::too_many_arguments)]
    pub fn finish(
        mut self,
        call_id: &str,
        created_ms: i64,
        route: &str,
        provider: &str,
        served_model: Option<&str>,
        output_tokens: u64,
        client_closed: bool,
        rechunked: bool,
        slo: Option<&StreamSlo>,
        metrics: Option<&StreamMetrics>,
    ) -> Summary {
        self.chars.sort_unstable();
        self.gaps_us.sort_unstable();
        let ms = |i: Option<Instant>, from: Instant| {
            i.map(|t| t.saturating_duration_since(from).as_secs_f64() * 1000.0)
        };
        let gap_p50_ms = percentile(&self.gaps_us, 0.50) / 1000.0;
        let gap_p95_ms = percentile(&self.gaps_us, 0.95) / 1000.0;
        let gap_max_ms = self.max_gap.as_secs_f64() * 1000.0;
        let chars_p50 = percentile(&self.chars, 0.50);
        let span = match (self.first_content, self.last_content) {
            (Some(a), Some(b)) => b.saturating_duration_since(a).as_secs_f64(),
            _ => 0.0,
        };
        let tokens_per_sec = (span > 0.0 && output_tokens > 0).then(|| output_tokens as f64 / span);
        let slo_outcome = slo.map(|s| {
            let mut breaches = Vec::new();
            if let Some(max) = s.gap_p95_ms
                && gap_p95_ms > max
            {
                breaches.push(format!("gap p95 {gap_p95_ms:.0} ms > {max} ms"));
            }
            if let Some(min) = s.chars_per_chunk_p50
                && self.content_chunks > 0
                && chars_p50 < min
            {
                breaches.push(format!("chars/chunk p50 {chars_p50} < {min}"));
            }
            if let Some(max) = s.max_stall_ms
                && gap_max_ms > max
            {
                breaches.push(format!("stall {gap_max_ms:.0} ms > {max} ms"));
            }
            if breaches.is_empty() {
                SloVerdict::Met
            } else {
                SloVerdict::breached(&breaches.join("; "))
            }
        });
        if let Some(metrics) = metrics {
            self.observe(
                metrics,
                route,
                provider,
                output_tokens,
                span,
                client_closed,
                slo_outcome.as_ref(),
            );
        }
        Summary {
            gap_p50_ms,
            record: StreamRecord {
                call_id: call_id.to_string(),
                created_ms,
                route: route.to_string(),
                provider: provider.to_string(),
                served_model: served_model.map(str::to_string),
                ttfc_ms: ms(self.first_chunk, self.call_started),
                ttft_ms: ms(self.first_content, self.call_started),
                chunks: self.chunks as i64,
                content_chunks: self.content_chunks as i64,
                chars: self.total_chars as i64,
                chars_p50,
                tokens_per_chunk: if self.content_chunks > 0 {
                    output_tokens as f64 / self.content_chunks as f64
                } else {
                    0.0
                },
                gap_p50_ms,
                gap_p95_ms,
                gap_max_ms,
                stalls: self.stalls as i64,
                output_tokens: output_tokens as i64,
                tokens_per_sec,
                client_closed,
                rechunked,
                slo: slo_outcome,
            },
        }
    }

    /// The histogram for per-chunk gaps of `route` and `provider`.
    pub fn gap_histogram(metrics: &StreamMetrics, route: &str, provider: &str) -> Histogram {
        metrics.histograms(route, provider).per_chunk.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tally_counts_what_it_no_longer_keeps() {
        let text = "the quick brown fox jumps over the lazy dog. ".repeat(2_000);
        let mut t = TokenTally::default();
        for piece in text.as_bytes().chunks(7) {
            t.push(std::str::from_utf8(piece).expect("ascii"));
        }
        assert!(t.pending.len() < TALLY_PIECE + 7, "memory stays bounded");
        let whole = crate::account::count_tokens(&text);
        assert!(t.total().abs_diff(whole) <= 4, "{} vs {whole}", t.total());
    }

    #[test]
    fn a_long_stream_keeps_a_bounded_sample_of_all_its_chunks() {
        let t0 = Instant::now();
        let mut w = StreamWatch::new(t0, t0, Duration::from_secs(1));
        // 20,000 chunks: the first half 2 characters each, the second half 10.
        for i in 0..20_000u64 {
            let chars = if i < 10_000 { 2 } else { 10 };
            w.sent(chars, t0 + Duration::from_millis(i));
        }
        assert_eq!(w.chars.len(), MAX_SAMPLES);
        let late = w.chars.iter().filter(|c| **c == 10).count() as f64 / MAX_SAMPLES as f64;
        assert!(
            (0.4..0.6).contains(&late),
            "the sample spans the whole stream: {late}"
        );
        let r = w
            .finish("c", 0, "chat", "up", None, 0, false, false, None, None)
            .record;
        assert_eq!(r.content_chunks, 20_000);
        assert_eq!(r.chars, 120_000);
    }

    #[test]
    fn gaps_stalls_and_slo_come_from_the_chunks_sent() {
        let t0 = Instant::now();
        let mut w = StreamWatch::new(t0, t0, Duration::from_millis(1000));
        w.sent(0, t0 + Duration::from_millis(5)); // the role chunk
        let mut at = t0 + Duration::from_millis(10);
        for i in 0..20 {
            w.sent(4, at);
            at += Duration::from_millis(if i == 10 { 1500 } else { 50 });
        }
        let mut reg = prometheus_client::registry::Registry::default();
        let metrics = StreamMetrics::new(&mut reg);
        let slo = StreamSlo {
            gap_p95_ms: Some(150.0),
            chars_per_chunk_p50: Some(8.0),
            max_stall_ms: Some(1000.0),
        };
        let s = w.finish(
            "c",
            0,
            "chat",
            "up",
            None,
            40,
            false,
            false,
            Some(&slo),
            Some(&metrics),
        );
        let r = s.record;
        assert_eq!(
            (r.chunks, r.content_chunks, r.chars, r.stalls),
            (21, 20, 80, 1)
        );
        assert_eq!(r.gap_p50_ms, 50.0);
        assert_eq!(r.gap_max_ms, 1500.0);
        assert_eq!(r.ttfc_ms, Some(5.0));
        assert_eq!(r.ttft_ms, Some(10.0));
        let slo = r.slo.expect("slo").to_string();
        assert!(
            slo.contains("chars/chunk p50 4 < 8") && slo.contains("stall 1500 ms > 1000 ms"),
            "{slo}"
        );
        assert!(!slo.contains("gap p95"), "{slo}");
    }
}
