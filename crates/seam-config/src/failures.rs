//! `[failures]`: the silent-failure signals, their background pass in `seam serve`, and the
//! clusters `seam coverage` builds (docs/failures.md).

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFailures {
    pub enabled: Option<bool>,
    pub interval_secs: Option<u64>,
    pub rephrase_secs: Option<u32>,
    pub rephrase_threshold: Option<f64>,
    pub regenerate_secs: Option<u32>,
    pub abandon_idle_secs: Option<u32>,
    pub loop_repeats: Option<usize>,
    pub cluster_threshold: Option<f64>,
    pub cover_threshold: Option<f64>,
    pub min_cluster_size: Option<usize>,
    pub pass_max_calls: Option<usize>,
    pub report_max_calls: Option<usize>,
}

/// `[failures]`, validated. Thresholds left unset are `seam-signals`' defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Failures {
    /// `seam serve` scans recent calls for signals in the background (default true).
    pub enabled: bool,
    /// Seconds between background passes (10 to 3600, default 60).
    pub interval_secs: u64,
    pub rephrase_secs: Option<u32>,
    pub rephrase_threshold: Option<f64>,
    pub regenerate_secs: Option<u32>,
    pub abandon_idle_secs: Option<u32>,
    pub loop_repeats: Option<usize>,
    pub cluster_threshold: Option<f64>,
    pub cover_threshold: Option<f64>,
    /// Clusters smaller than this are reported only in aggregate (default 5).
    pub min_cluster_size: usize,
    /// Calls one background pass of `seam serve` reads at most (default 20,000): on a busy
    /// gateway a pass covers part of its window and the next pass goes on from there.
    pub pass_max_calls: usize,
    /// Calls `seam failures`, `seam coverage` and the Coverage page read per period at most
    /// (default 500,000, about 1 GB of memory); the report says when it stopped short.
    pub report_max_calls: usize,
}

impl Default for Failures {
    fn default() -> Failures {
        failures(None, &mut Vec::new())
    }
}

pub(crate) fn failures(raw: Option<RawFailures>, problems: &mut Vec<String>) -> Failures {
    let raw = raw.unwrap_or_default();
    let mut range = |key: &str, v: Option<f64>, low: f64, high: f64| {
        if let Some(x) = v
            && !(x.is_finite() && low <= x && x <= high)
        {
            problems.push(format!("failures.{key}: {x}: give {low} to {high}"));
        }
    };
    range(
        "interval_secs",
        raw.interval_secs.map(|v| v as f64),
        10.0,
        3600.0,
    );
    range(
        "rephrase_secs",
        raw.rephrase_secs.map(f64::from),
        1.0,
        3600.0,
    );
    range("rephrase_threshold", raw.rephrase_threshold, 0.01, 1.0);
    range(
        "regenerate_secs",
        raw.regenerate_secs.map(f64::from),
        1.0,
        3600.0,
    );
    range(
        "abandon_idle_secs",
        raw.abandon_idle_secs.map(f64::from),
        10.0,
        86_400.0,
    );
    range(
        "loop_repeats",
        raw.loop_repeats.map(|v| v as f64),
        2.0,
        100.0,
    );
    range("cluster_threshold", raw.cluster_threshold, 0.01, 1.0);
    range("cover_threshold", raw.cover_threshold, 0.01, 1.0);
    range(
        "min_cluster_size",
        raw.min_cluster_size.map(|v| v as f64),
        1.0,
        10_000.0,
    );
    range(
        "pass_max_calls",
        raw.pass_max_calls.map(|v| v as f64),
        100.0,
        10_000_000.0,
    );
    range(
        "report_max_calls",
        raw.report_max_calls.map(|v| v as f64),
        100.0,
        100_000_000.0,
    );
    Failures {
        enabled: raw.enabled.unwrap_or(true),
        interval_secs: raw.interval_secs.unwrap_or(60),
        rephrase_secs: raw.rephrase_secs,
        rephrase_threshold: raw.rephrase_threshold,
        regenerate_secs: raw.regenerate_secs,
        abandon_idle_secs: raw.abandon_idle_secs,
        loop_repeats: raw.loop_repeats,
        cluster_threshold: raw.cluster_threshold,
        cover_threshold: raw.cover_threshold,
        min_cluster_size: raw.min_cluster_size.unwrap_or(5),
        pass_max_calls: raw.pass_max_calls.unwrap_or(20_000),
        report_max_calls: raw.report_max_calls.unwrap_or(500_000),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn defaults_bounds_and_unknown_keys() {
        let mut problems = Vec::new();
        let f = super::failures(None, &mut problems);
        assert!(f.enabled && f.interval_secs == 60 && f.min_cluster_size == 5);
        assert_eq!((f.pass_max_calls, f.report_max_calls), (20_000, 500_000));
        assert_eq!(f.rephrase_secs, None);
        let raw: super::RawFailures =
            toml::from_str("rephrase_threshold = 1.5\ninterval_secs = 5\npass_max_calls = 10")
                .expect("toml");
        super::failures(Some(raw), &mut problems);
        assert_eq!(
            problems,
            [
                "failures.interval_secs: 5: give 10 to 3600",
                "failures.rephrase_threshold: 1.5: give 0.01 to 1",
                "failures.pass_max_calls: 10: give 100 to 10000000"
            ]
        );
        let e = toml::from_str::<super::RawFailures>("rephrase = 1").expect_err("unknown key");
        assert!(e.to_string().contains("unknown field `rephrase`"), "{e}");
    }
}
