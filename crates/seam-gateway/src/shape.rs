//! Chunk-shape drift: per provider and served model, each finished stream adds one sample
//! (its median characters per chunk and median gap between chunks, as the provider sent
//! them). Once there are two full windows, the newer window is compared with the older by a
//! two-sided Mann–Whitney U test; a p-value under `streams.drift_p_value` together with a
//! relative change of the median of at least `streams.drift_min_change` writes one
//! `stream_shape_changed` event with before and after, and the newer window becomes the
//! baseline. One odd stream moves neither the test nor the medians much; a steady stream
//! never fires.

use crate::events::Events;
use crate::untrusted::Escaped;
use seam_config::Streams;
use seam_store::EventRecord;
use serde_json::json;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

pub const EVENT_KIND: seam_vocab::EventKind = seam_vocab::EventKind::StreamShapeChanged;

/// (chars per chunk, gap ms) of each stream, oldest first.
type Samples = VecDeque<(f64, f64)>;

#[derive(Default)]
pub struct ShapeDrift {
    /// Per (provider, served model).
    samples: Mutex<HashMap<(String, String), Samples>>,
}

/// What changed, for the event.
#[derive(Debug, Clone, PartialEq)]
pub struct Shift {
    pub chars_before: f64,
    pub chars_after: f64,
    pub gap_before_ms: f64,
    pub gap_after_ms: f64,
    pub p_chars: f64,
    pub p_gap: f64,
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// erfc(x), Numerical Recipes' Chebyshev fit (relative error under 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// Two-sided p-value of the Mann–Whitney U test (normal approximation, tie-corrected).
pub fn mann_whitney_p(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    if a.is_empty() || b.is_empty() {
        return 1.0;
    }
    let mut all: Vec<(f64, bool)> = a
        .iter()
        .map(|x| (*x, true))
        .chain(b.iter().map(|x| (*x, false)))
        .collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n = all.len();
    let (mut rank_a, mut ties) = (0.0, 0.0);
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        rank_a += rank * all[i..=j].iter().filter(|x| x.1).count() as f64;
        i = j + 1;
    }
    let u = rank_a - n1 * (n1 + 1.0) / 2.0;
    let mean = n1 * n2 / 2.0;
    let nn = n1 + n2;
    let var = n1 * n2 / 12.0 * ((nn + 1.0) - ties / (nn * (nn - 1.0)));
    if var <= 0.0 {
        return 1.0; // every sample equal: no evidence of a difference
    }
    let z = ((u - mean).abs() - 0.5).max(0.0) / var.sqrt();
    erfc(z / std::f64::consts::SQRT_2)
}

fn changed(before: f64, after: f64, min_change: f64) -> bool {
    let base = before.abs().max(f64::EPSILON);
    (after - before).abs() / base >= min_change
}

impl ShapeDrift {
    /// Adds one stream's sample; returns the shift when the detector fires.
    pub fn record(
        &self,
        cfg: &Streams,
        provider: &str,
        served: &str,
        chars_p50: f64,
        gap_p50_ms: f64,
    ) -> Option<Shift> {
        let w = cfg.drift_window;
        let mut all = self.samples.lock().ok()?;
        let q = all
            .entry((provider.to_string(), served.to_string()))
            .or_default();
        q.push_back((chars_p50, gap_p50_ms));
        while q.len() > 2 * w {
            q.pop_front();
        }
        if q.len() < 2 * w {
            return None;
        }
        let (old, new): (Vec<_>, Vec<_>) = (
            q.iter().take(w).copied().collect::<Vec<_>>(),
            q.iter().skip(w).copied().collect::<Vec<_>>(),
        );
        let col =
            |v: &[(f64, f64)], f: fn(&(f64, f64)) -> f64| v.iter().map(f).collect::<Vec<f64>>();
        let (mut c0, mut c1) = (col(&old, |s| s.0), col(&new, |s| s.0));
        let (mut g0, mut g1) = (col(&old, |s| s.1), col(&new, |s| s.1));
        let p_chars = mann_whitney_p(&c0, &c1);
        let p_gap = mann_whitney_p(&g0, &g1);
        let shift = Shift {
            chars_before: median(&mut c0),
            chars_after: median(&mut c1),
            gap_before_ms: median(&mut g0),
            gap_after_ms: median(&mut g1),
            p_chars,
            p_gap,
        };
        let fires = (p_chars < cfg.drift_p_value
            && changed(shift.chars_before, shift.chars_after, cfg.drift_min_change))
            || (p_gap < cfg.drift_p_value
                && changed(
                    shift.gap_before_ms,
                    shift.gap_after_ms,
                    cfg.drift_min_change,
                ));
        if !fires {
            return None;
        }
        // The new shape is the baseline from here on.
        q.drain(..w);
        Some(shift)
    }

    pub fn observe(
        &self,
        events: &Events,
        cfg: &Streams,
        provider: &str,
        served: &str,
        chars_p50: f64,
        gap_p50_ms: f64,
    ) {
        let Some(s) = self.record(cfg, provider, served, chars_p50, gap_p50_ms) else {
            return;
        };
        let message = format!(
            "provider `{provider}` changed the shape of `{served}` streams: median {:.1} → {:.1} characters per chunk, \
             median gap {:.1} → {:.1} ms (Mann–Whitney p = {:.2e} / {:.2e}, {} streams each side)",
            s.chars_before,
            s.chars_after,
            s.gap_before_ms,
            s.gap_after_ms,
            s.p_chars,
            s.p_gap,
            cfg.drift_window
        );
        tracing::warn!(
            kind = EVENT_KIND.as_str(),
            provider,
            served,
            "{}",
            Escaped(&message)
        );
        let details = json!({
            "actor": "provider",
            "served_model": served,
            "before": {"chars_per_chunk_p50": s.chars_before, "gap_p50_ms": s.gap_before_ms},
            "after": {"chars_per_chunk_p50": s.chars_after, "gap_p50_ms": s.gap_after_ms},
            "p_value": {"chars_per_chunk": s.p_chars, "gap": s.p_gap},
            "window_streams": cfg.drift_window,
        });
        events.emit(EventRecord::new(EVENT_KIND, message, details).provider(provider));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Streams {
        Streams::default()
    }

    /// A little deterministic noise around a value.
    fn noisy(base: f64, i: usize) -> f64 {
        base * (1.0 + ((i * 7919) % 11) as f64 / 100.0 - 0.05)
    }

    #[test]
    fn the_test_tells_different_samples_from_alike_ones() {
        let a: Vec<f64> = (0..20).map(|i| noisy(16.0, i)).collect();
        let b: Vec<f64> = (0..20).map(|i| noisy(16.0, i + 3)).collect();
        let c: Vec<f64> = (0..20).map(|i| noisy(4.0, i)).collect();
        assert!(mann_whitney_p(&a, &b) > 0.05);
        assert!(mann_whitney_p(&a, &c) < 1e-6);
        assert_eq!(mann_whitney_p(&[1.0; 10], &[1.0; 10]), 1.0);
    }

    #[test]
    fn a_steady_stream_never_fires_and_a_shape_change_fires_once() {
        let d = ShapeDrift::default();
        for i in 0..200 {
            assert!(
                d.record(&cfg(), "p", "m", noisy(16.0, i), noisy(40.0, i + 1))
                    .is_none(),
                "stream {i}"
            );
        }
        // One odd stream is not a change.
        assert!(d.record(&cfg(), "p", "m", 2.0, 10.0).is_none());
        let mut fired = Vec::new();
        for i in 0..60 {
            if let Some(s) = d.record(&cfg(), "p", "m", noisy(4.0, i), noisy(10.0, i + 2)) {
                fired.push((i, s));
            }
        }
        assert_eq!(fired.len(), 1, "{fired:?}");
        let s = &fired[0].1;
        assert!(s.chars_before > 15.0 && s.chars_after < 4.5, "{s:?}");
        assert!(s.gap_before_ms > 38.0 && s.gap_after_ms < 11.0, "{s:?}");
    }
}
