//! `seam eval run|runs|show|gate|contamination`: a dataset's cases sent through a gateway and graded, the
//! runs stored (`eval_runs`, `eval_results`), read back (text, JSON, JUnit XML), and two runs
//! compared by the paired gate, whose decision goes on the audit chain and the timeline.

pub(crate) mod client;
mod contamination;
mod gate;
pub(crate) mod inproc;
mod ledger;
mod run;
mod show;

pub(crate) use contamination::{ContaminationArgs, contamination};
pub use gate::{GateOptions, decide, gate};
pub use run::{RunArgs, run};
pub use show::{list, show};

/// `seam eval`'s subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum EvalCommand {
    /// Send a dataset's cases through a gateway (`--gateway URL`, else one started in this
    /// process on the same config and store) to a route, a prompt's channel or a stored
    /// release, grade each answer, and store the run; progress on standard error, a summary at the end. Needs an
    /// owner of the prompt (or admin) for a prompt or release run, an operator of a tenant (or admin)
    /// for a route run.
    Run(RunArgs),
    /// The stored runs, newest first.
    Runs {
        /// Output as JSON.
        #[arg(long)]
        json: bool,
    },
    /// A run and each (case, repeat)'s verdict, score and reasons.
    Show {
        /// The run's id.
        run: String,
        /// Output as JSON.
        #[arg(long)]
        json: bool,
        /// Also write the run as JUnit XML to FILE: one testcase per case, a failure with its
        /// reasons.
        #[arg(long, value_name = "FILE")]
        junit: Option<std::path::PathBuf>,
    },
    /// Compare a candidate run with a baseline run case by case; exits 0 pass, 1 fail,
    /// 3 inconclusive. The decision is stored on the audit chain and the timeline. Needs, for
    /// each run, what running it needs (an owner of its prompt, an operator for a route run,
    /// or admin).
    Gate {
        /// The candidate run's id.
        candidate: String,
        /// The baseline run's id.
        #[arg(long)]
        baseline: String,
        /// The significance level of the test (default 0.05).
        #[arg(long)]
        alpha: Option<f64>,
        /// The largest drop in pass rate that is not a regression, as a fraction (default
        /// 0.02: 2 points).
        #[arg(long)]
        margin: Option<f64>,
        /// Gate although a run's release contains cases of the dataset (made with
        /// --allow-contamination): the decision is marked contaminated, and the clean subset's
        /// decision is printed beside it.
        #[arg(long)]
        accept_contaminated: bool,
        /// The value ledger's horizon: the days of traffic a blocked regression is estimated
        /// to have spared (default 30).
        #[arg(long, value_name = "DAYS")]
        horizon_days: Option<f64>,
        /// Output the gate's report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check stored releases (--release ID, --all) or JSON-lines files (--against FILE, e.g.
    /// fine-tuning data) for eval cases of `[evals] dir`, as `seam release create` does; exits
    /// 1 when a case is found.
    Contamination(ContaminationArgs),
}

/// What a result keeps besides its verdict and score: the case's grades and the case's group
/// and required flag, so that the gate reads both runs without the dataset file.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Reasons {
    pub reason: String,
    #[serde(default)]
    pub grades: Vec<seam_evals::Grade>,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub required: bool,
}

pub(crate) fn short(s: &str) -> &str {
    s.get(..12).unwrap_or(s)
}
