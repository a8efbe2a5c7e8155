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
}

/// The default datasets directory, relative to the config file.
pub const DEFAULT_EVALS_DIR: &str = "evals";

#[derive(Debug, Clone, PartialEq, Eq)]
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
}

impl Evals {
    pub(crate) fn default_at(base_dir: &Path) -> Evals {
        Evals {
            dir: base_dir.join(DEFAULT_EVALS_DIR),
            judge_route: None,
            embedding_route: None,
            count_in_budgets: false,
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
    }
}
