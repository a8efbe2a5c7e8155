//! `[evals]`: where the eval datasets are (docs/evals.md "Datasets"), the routes that the
//! graders needing a model (`similar`, `judge` and the OpenAI model graders) call by default,
//! and whether eval traffic counts against cost limits (docs/evals.md "Eval traffic").

use serde::Deserialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEvals {
    pub dir: Option<String>,
    pub judge_route: Option<String>,
    pub embedding_route: Option<String>,
    pub count_in_budgets: Option<bool>,
    pub contamination: Option<RawContamination>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawContamination {
    pub ngram: Option<i64>,
    pub share_ngram: Option<i64>,
    pub share: Option<f64>,
    pub jaccard: Option<f64>,
    pub min_words: Option<i64>,
}

/// `[evals.contamination]`: when the contamination guard counts an eval case as found in a
/// release or a file (docs/evals.md "Contamination guard"); the defaults are the literature's.
#[derive(Debug, Clone, PartialEq)]
pub struct Contamination {
    /// Any shared word n-gram of this length (default 13, GPT-3's and lm-evaluation-harness's);
    /// shorter cases are checked by exact containment.
    pub ngram: usize,
    /// The n-gram of the share measure (default 8, PaLM's).
    pub share_ngram: usize,
    /// The share of a case's n-grams present that flags it (default 0.70, PaLM's).
    pub share: f64,
    /// Exact Jaccard of 5-gram shingles that flags a MinHash near-duplicate (default 0.75).
    pub jaccard: f64,
    /// Case parts with fewer words are not checked (default 3).
    pub min_words: usize,
}

impl Default for Contamination {
    fn default() -> Contamination {
        Contamination {
            ngram: 13,
            share_ngram: 8,
            share: 0.70,
            jaccard: 0.75,
            min_words: 3,
        }
    }
}

fn contamination(raw: Option<RawContamination>, problems: &mut Vec<String>) -> Contamination {
    let d = Contamination::default();
    let Some(raw) = raw else { return d };
    let mut int = |key: &str, v: Option<i64>, default: usize, lo: i64, hi: i64| match v {
        None => default,
        Some(n) if (lo..=hi).contains(&n) => n as usize,
        Some(n) => {
            problems.push(format!(
                "evals.contamination.{key}: {n} is out of range ({lo} to {hi})"
            ));
            default
        }
    };
    let ngram = int("ngram", raw.ngram, d.ngram, 2, 64);
    let share_ngram = int(
        "share_ngram",
        raw.share_ngram,
        d.share_ngram,
        2,
        ngram as i64,
    );
    let min_words = int("min_words", raw.min_words, d.min_words, 1, ngram as i64);
    let mut frac = |key: &str, v: Option<f64>, default: f64| match v {
        None => default,
        Some(x) if x > 0.0 && x <= 1.0 => x,
        Some(x) => {
            problems.push(format!(
                "evals.contamination.{key}: {x} is out of range (above 0, at most 1)"
            ));
            default
        }
    };
    Contamination {
        ngram,
        share_ngram,
        share: frac("share", raw.share, d.share),
        jaccard: frac("jaccard", raw.jaccard, d.jaccard),
        min_words,
    }
}

/// The default datasets directory, relative to the config file.
pub const DEFAULT_EVALS_DIR: &str = "evals";

#[derive(Debug, Clone, PartialEq)]
pub struct Evals {
    /// The datasets, one JSON-lines file each (`[evals] dir`, relative to the config file;
    /// default `evals`). Commands name a dataset by its file name here.
    pub dir: PathBuf,
    /// The route an LLM judge is called through when an assertion names none.
    pub judge_route: Option<String>,
    /// The route `similar` embeds through when an assertion names none.
    pub embedding_route: Option<String>,
    /// Eval traffic (`x-seam-purpose: eval`) counts against, and is refused by, tenant and
    /// key limits on `cost` too (default false: it is outside them). Request-rate, attempt and
    /// token limits hold eval traffic either way. Read per call: a reload changes it.
    pub count_in_budgets: bool,
    /// `[evals.contamination]`: the contamination guard's thresholds.
    pub contamination: Contamination,
}

impl Evals {
    pub(crate) fn default_at(base_dir: &Path) -> Evals {
        Evals {
            dir: base_dir.join(DEFAULT_EVALS_DIR),
            judge_route: None,
            embedding_route: None,
            count_in_budgets: false,
            contamination: Contamination::default(),
        }
    }
}

pub(crate) fn evals(
    raw: Option<RawEvals>,
    base_dir: &Path,
    routes: &HashSet<String>,
    problems: &mut Vec<String>,
) -> Evals {
    let Some(raw) = raw else {
        return Evals::default_at(base_dir);
    };
    let dir = match raw.dir {
        Some(d) if d.trim().is_empty() => {
            problems.push(format!(
                "evals.dir: name a directory (default \"{DEFAULT_EVALS_DIR}\", relative to the config file)"
            ));
            base_dir.join(DEFAULT_EVALS_DIR)
        }
        Some(d) => base_dir.join(d),
        None => base_dir.join(DEFAULT_EVALS_DIR),
    };
    let mut route = |key: &str, v: Option<String>| {
        if let Some(r) = &v
            && !routes.contains(r)
        {
            problems.push(format!(
                "evals.{key}: route `{r}` is not in the config (name one of [[routes]])"
            ));
        }
        v
    };
    let judge_route = route("judge_route", raw.judge_route);
    let embedding_route = route("embedding_route", raw.embedding_route);
    Evals {
        dir,
        judge_route,
        embedding_route,
        count_in_budgets: raw.count_in_budgets.unwrap_or(false),
        contamination: contamination(raw.contamination, problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Evals, Vec<String>) {
        let raw: RawEvals = toml::from_str(text).expect("parses");
        let mut problems = Vec::new();
        let e = evals(Some(raw), Path::new("/c"), &HashSet::new(), &mut problems);
        (e, problems)
    }

    #[test]
    fn contamination_thresholds_default_to_the_literature_and_are_checked() {
        let (e, p) = read("");
        assert!(p.is_empty());
        assert_eq!(e.contamination, Contamination::default());
        assert_eq!(
            (e.contamination.ngram, e.contamination.share_ngram),
            (13, 8)
        );
        let (e, p) = read("[contamination]\nngram = 10\nshare = 0.5\njaccard = 0.8\nmin_words = 4");
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(e.contamination.ngram, 10);
        assert_eq!(e.contamination.share, 0.5);
        assert_eq!(e.contamination.min_words, 4);
        let (_, p) = read("[contamination]\nngram = 1\nshare = 1.5\njaccard = 0\nshare_ngram = 14");
        assert_eq!(
            p,
            vec![
                "evals.contamination.ngram: 1 is out of range (2 to 64)",
                "evals.contamination.share_ngram: 14 is out of range (2 to 13)",
                "evals.contamination.share: 1.5 is out of range (above 0, at most 1)",
                "evals.contamination.jaccard: 0 is out of range (above 0, at most 1)",
            ]
        );
        let e = toml::from_str::<RawEvals>("[contamination]\nshares = 0.5").unwrap_err();
        assert!(e.to_string().contains("unknown field `shares`"), "{e}");
    }
}
