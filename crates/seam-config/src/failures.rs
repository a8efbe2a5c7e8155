//! `[failures]`: the silent-failure signals, their background pass in `seam serve`, and the
//! clusters `seam coverage` builds (docs/failures.md).

use crate::Secret;
use serde::Deserialize;
use std::collections::HashSet;

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
    pub embedding_route: Option<String>,
    pub embed_rephrase_threshold: Option<f64>,
    pub embed_cluster_threshold: Option<f64>,
    pub embed_cover_threshold: Option<f64>,
    pub key_env: Option<String>,
}

/// Cosine of two user turns' embeddings at or above which the later one rephrases the earlier.
/// Not calibrated on a real model here: a paraphrase scores 0.8-0.95 with OpenAI's
/// text-embedding-3 models, two questions of one topic lower; set it for the route's model.
pub const DEFAULT_EMBED_REPHRASE_THRESHOLD: f64 = 0.85;
/// Centroid cosine at or above which two groups of flagged turns merge, with embeddings.
pub const DEFAULT_EMBED_CLUSTER_THRESHOLD: f64 = 0.75;
/// Cosine of a cluster's mean embedding and a case input's at or above which it is covered.
pub const DEFAULT_EMBED_COVER_THRESHOLD: f64 = 0.7;

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
    /// The route the user turns are embedded through (rephrase and clusters); None: lexical.
    pub embedding_route: Option<String>,
    pub embed_rephrase_threshold: f64,
    pub embed_cluster_threshold: f64,
    pub embed_cover_threshold: f64,
    /// The Seam key `seam serve`'s pass embeds with (`key_env`, the environment variable
    /// holding it); None: serve's pass embeds only when `[server] keyless_tenant` is set.
    pub key: Option<Secret>,
}

impl Default for Failures {
    fn default() -> Failures {
        failures(None, &HashSet::new(), &|_| None, &mut Vec::new())
    }
}

pub(crate) fn failures(
    raw: Option<RawFailures>,
    routes: &HashSet<String>,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<String>,
) -> Failures {
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
    for (key, v) in [
        ("embed_rephrase_threshold", raw.embed_rephrase_threshold),
        ("embed_cluster_threshold", raw.embed_cluster_threshold),
        ("embed_cover_threshold", raw.embed_cover_threshold),
    ] {
        range(key, v, 0.01, 1.0);
    }
    if let Some(r) = &raw.embedding_route
        && !routes.contains(r)
    {
        problems.push(format!(
            "failures.embedding_route: route `{r}` is not in the config (name one of [[routes]])"
        ));
    }
    let key = raw.key_env.as_deref().and_then(|name| match env(name) {
        // (A lenient load reads an unset variable as empty: no key, no problem.)
        Some(v) => (!v.is_empty()).then(|| Secret::new(v)),
        None => {
            problems.push(format!(
                "failures.key_env: the environment variable `{name}` is not set (it holds the Seam key `seam serve`'s pass embeds with)"
            ));
            None
        }
    });
    if raw.key_env.is_some() && raw.embedding_route.is_none() {
        problems.push(
            "failures.key_env: set only with failures.embedding_route (the key embeds through it)"
                .into(),
        );
    }
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
        embedding_route: raw.embedding_route,
        embed_rephrase_threshold: raw
            .embed_rephrase_threshold
            .unwrap_or(DEFAULT_EMBED_REPHRASE_THRESHOLD),
        embed_cluster_threshold: raw
            .embed_cluster_threshold
            .unwrap_or(DEFAULT_EMBED_CLUSTER_THRESHOLD),
        embed_cover_threshold: raw
            .embed_cover_threshold
            .unwrap_or(DEFAULT_EMBED_COVER_THRESHOLD),
        key,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    #[test]
    fn defaults_bounds_and_unknown_keys() {
        let mut problems = Vec::new();
        let none = HashSet::new();
        let f = super::failures(None, &none, &|_| None, &mut problems);
        assert!(f.enabled && f.interval_secs == 60 && f.min_cluster_size == 5);
        assert_eq!((f.pass_max_calls, f.report_max_calls), (20_000, 500_000));
        assert_eq!(f.rephrase_secs, None);
        let raw: super::RawFailures =
            toml::from_str("rephrase_threshold = 1.5\ninterval_secs = 5\npass_max_calls = 10")
                .expect("toml");
        super::failures(Some(raw), &none, &|_| None, &mut problems);
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

    #[test]
    fn the_embedding_route_must_be_a_route_and_its_thresholds_cosines() {
        let routes = HashSet::from(["embed".to_string()]);
        let env = |name: &str| (name == "FAILURES_KEY").then(|| "sk-seam-x".to_string());
        let read = |text: &str| {
            let raw: super::RawFailures = toml::from_str(text).expect("toml");
            let mut problems = Vec::new();
            let f = super::failures(Some(raw), &routes, &env, &mut problems);
            (f, problems)
        };
        let (f, p) = read("");
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(f.embedding_route, None);
        assert_eq!(
            (f.embed_rephrase_threshold, f.embed_cluster_threshold),
            (0.85, 0.75)
        );
        let (f, p) = read(
            "embedding_route = \"embed\"\nembed_rephrase_threshold = 0.9\nembed_cluster_threshold = 0.6\nkey_env = \"FAILURES_KEY\"",
        );
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(f.embedding_route.as_deref(), Some("embed"));
        assert_eq!(
            (f.embed_rephrase_threshold, f.embed_cluster_threshold),
            (0.9, 0.6)
        );
        assert_eq!(
            f.key.as_ref().map(|k| k.expose().to_string()).as_deref(),
            Some("sk-seam-x")
        );
        let (_, p) = read(
            "embedding_route = \"chat\"\nembed_rephrase_threshold = 1.5\nembed_cover_threshold = 0\nkey_env = \"NOPE\"",
        );
        assert_eq!(
            p,
            [
                "failures.embed_rephrase_threshold: 1.5: give 0.01 to 1",
                "failures.embed_cover_threshold: 0: give 0.01 to 1",
                "failures.embedding_route: route `chat` is not in the config (name one of [[routes]])",
                "failures.key_env: the environment variable `NOPE` is not set (it holds the Seam key `seam serve`'s pass embeds with)",
            ]
        );
        let (_, p) = read("key_env = \"FAILURES_KEY\"");
        assert_eq!(
            p,
            [
                "failures.key_env: set only with failures.embedding_route (the key embeds through it)"
            ]
        );
        let e = toml::from_str::<super::RawFailures>("embedding = \"embed\"").expect_err("unknown");
        assert!(e.to_string().contains("unknown field `embedding`"), "{e}");
    }
}
