//! Silent failures (issue 29): signals computed from recorded calls and their captured
//! content in passes off the request path (`scan`), their rates per route, release and signal
//! against the previous period (`report`), and the flagged user turns clustered and held
//! against the eval datasets (`coverage`; candidate cases written by `export`). The signals
//! and the clustering are `seam-signals`'; this module reads the store and writes the flags.

pub mod coverage;
pub mod embed;
pub mod export;
pub mod report;
pub mod scan;
pub mod synth;
pub mod turns;

pub use coverage::{CoverageOptions, CoverageReport, coverage};
pub use embed::Embedder;
pub use report::{By, Report, failures};
pub use scan::{Scanned, scan};

/// The signals' thresholds from `[failures]`, `seam-signals`' defaults where it sets none.
pub fn signal_options(cfg: &seam_config::Failures) -> seam_signals::Options {
    let d = seam_signals::Options::default();
    seam_signals::Options {
        rephrase_secs: cfg.rephrase_secs.unwrap_or(d.rephrase_secs),
        rephrase_threshold: cfg.rephrase_threshold.unwrap_or(d.rephrase_threshold),
        regenerate_secs: cfg.regenerate_secs.unwrap_or(d.regenerate_secs),
        abandon_idle_secs: cfg.abandon_idle_secs.unwrap_or(d.abandon_idle_secs),
        loop_repeats: cfg.loop_repeats.unwrap_or(d.loop_repeats),
        now_ms: None,
        max_calls: Some(cfg.report_max_calls),
    }
}

/// `seam coverage`'s options from `[failures]`.
pub fn coverage_options(cfg: &seam_config::Failures) -> CoverageOptions {
    let d = seam_signals::ClusterOptions::default();
    CoverageOptions {
        signals: signal_options(cfg),
        cluster: seam_signals::ClusterOptions {
            threshold: cfg.cluster_threshold.unwrap_or(d.threshold),
            min_cluster_size: cfg.min_cluster_size,
            ..d
        },
        cover_threshold: cfg
            .cover_threshold
            .unwrap_or(seam_signals::DEFAULT_COVER_THRESHOLD),
    }
}

/// How far back a background pass reads: the longest window a signal looks across, plus two
/// intervals, so a session that went idle is judged by a later pass even if one was missed.
pub fn lookback_ms(opts: &seam_signals::Options, interval_secs: u64) -> i64 {
    let longest = opts
        .rephrase_secs
        .max(opts.regenerate_secs)
        .max(opts.abandon_idle_secs);
    (i64::from(longest) + 2 * interval_secs as i64) * 1000
}
