//! Silent-failure signals from recorded calls (issue 29, first step; definitions and thresholds
//! in docs/design/failures.md).
//!
//! Pure: plain [`Turn`]s that the store fills go in, in any order; [`Flag`]s and a [`Coverage`]
//! that says which signals could not be computed come out. No IO, no clock: the caller passes
//! `now_ms` (or the latest turn stands for now).
//!
//! ```
//! use seam_signals::{Options, Signal, Turn, scan};
//!
//! let turn = |id: &str, at_ms: i64, text: &str| Turn {
//!     call_id: id.into(),
//!     session: Some("s1".into()),
//!     at_ms,
//!     user_text: Some(text.into()),
//!     outcome: "ok".into(),
//!     ..Turn::default()
//! };
//! let turns = [
//!     turn("c1", 0, "How do I export my invoices to CSV?"),
//!     turn("c2", 40_000, "how can I export invoices as a CSV file"),
//! ];
//! let out = scan(&turns, &Options::default());
//! assert_eq!(out.flags.len(), 1);
//! assert_eq!((out.flags[0].call_id.as_str(), out.flags[0].signal), ("c1", Signal::Rephrase));
//! ```

mod agglomerate;
mod cluster;
mod coverage;
mod dense;
mod detect;
mod features;
mod pairs;
pub mod synth;
mod text;
mod tool_error;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use cluster::{Cluster, ClusterOptions, Clustering, DEFAULT_THRESHOLD, cluster, cluster_in};
pub use coverage::{CaseMatch, DEFAULT_COVER_THRESHOLD, match_cases};
pub use dense::{Dense, Vectors, cluster_dense, cosine, match_cases_dense};
pub use text::{Sketch, normalize};
pub use tool_error::{canonical_args, tool_error};

/// One recorded call, as the signals need it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub call_id: String,
    pub session: Option<String>,
    pub trace: Option<String>,
    pub at_ms: i64,
    /// The request's last user turn; `None` when content was not captured.
    pub user_text: Option<String>,
    pub request_hash: Option<String>,
    pub finish_reason: Option<String>,
    /// The call's outcome (`ok`, `error`, `refused` by a limit, `rejected`, `client_closed`).
    pub outcome: String,
    /// The answer had no content and no tool call; `None` when unknown.
    pub answer_empty: Option<bool>,
    pub client_closed: bool,
    /// The model refused (a provider's refusal field or a refusal classifier); `None` when unknown.
    pub refusal: Option<bool>,
    /// The answer's tool calls: (name, arguments as JSON text).
    pub tool_calls: Vec<(String, String)>,
    /// The tool turns' texts sent in this request. A request with any is the continuation of an
    /// agent step, not a new user turn.
    pub tool_results: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    Rephrase,
    Regenerate,
    Abandon,
    Refusal,
    Truncated,
    ToolError,
    Loop,
}

impl Signal {
    pub const ALL: [Signal; 7] = [
        Signal::Rephrase,
        Signal::Regenerate,
        Signal::Abandon,
        Signal::Refusal,
        Signal::Truncated,
        Signal::ToolError,
        Signal::Loop,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Rephrase => "rephrase",
            Signal::Regenerate => "regenerate",
            Signal::Abandon => "abandon",
            Signal::Refusal => "refusal",
            Signal::Truncated => "truncated",
            Signal::ToolError => "tool_error",
            Signal::Loop => "loop",
        }
    }
}

/// A signal on a call. Rephrase and regenerate flag the earlier call (the answer the user did
/// not accept), loop the call that reached `loop_repeats`. `evidence` never holds user text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flag {
    pub call_id: String,
    pub signal: Signal,
    pub evidence: String,
}

/// Thresholds (reasons in docs/design/failures.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Options {
    /// The next user turn must come within this many seconds to count as a rephrase.
    pub rephrase_secs: u32,
    /// Exact Jaccard similarity of the two turns' shingles at or above which it is a rephrase.
    pub rephrase_threshold: f64,
    /// The same request again within this many seconds is a regenerate.
    pub regenerate_secs: u32,
    /// A session whose last call failed counts as abandoned once idle this long.
    pub abandon_idle_secs: u32,
    /// Calls of one tool with the same arguments in one trace that make a loop.
    pub loop_repeats: usize,
    /// Now, in ms since the epoch; `None`: the latest turn's time.
    pub now_ms: Option<i64>,
    /// Calls a pass over the store reads at most, the oldest first (`None`: all of the
    /// window). Read by the pass that loads the calls (seam-control), not by the signals:
    /// it bounds a pass's memory and time on a busy gateway.
    pub max_calls: Option<usize>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            rephrase_secs: 120,
            rephrase_threshold: 0.2,
            regenerate_secs: 120,
            abandon_idle_secs: 600,
            loop_repeats: 3,
            now_ms: None,
            max_calls: None,
        }
    }
}

/// What the scan could look at: signals that need text or a session were not computed for the
/// turns in `unchecked`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Coverage {
    pub turns: usize,
    /// Turns with captured user text (possibly empty).
    pub text_turns: usize,
    /// Turns without captured text: metadata signals only.
    pub metadata_only_turns: usize,
    pub unchecked: Vec<Unchecked>,
}

/// `turns` turns were not checked for `signal`, because of `reason`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unchecked {
    pub signal: Signal,
    pub turns: usize,
    pub reason: &'static str,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Scan {
    /// Sorted by call id, then signal; at most one flag per (call, signal).
    pub flags: Vec<Flag>,
    pub coverage: Coverage,
}

/// Every signal over `turns` (any order).
pub fn scan(turns: &[Turn], opts: &Options) -> Scan {
    detect::scan(turns, opts, None)
}

/// [`scan`], with the rephrase signal judged by embeddings where both turns of a pair have
/// one (cosine ≥ `dense.rephrase_threshold`), lexically where not.
pub fn scan_dense(turns: &[Turn], opts: &Options, dense: &Dense) -> Scan {
    detect::scan(turns, opts, Some(dense))
}

/// The indices of the turns whose user text the rephrase signal compares with a neighbour
/// (consecutive user turns of a session within `rephrase_secs`, not the same text): those
/// worth embedding, in input order.
pub fn rephrase_texts(turns: &[Turn], opts: &Options) -> Vec<usize> {
    detect::rephrase_texts(turns, opts)
}

/// The flags alone.
pub fn signals(turns: &[Turn], opts: &Options) -> Vec<Flag> {
    scan(turns, opts).flags
}
