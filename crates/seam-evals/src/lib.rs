//! Seam's eval statistics and the gate decision (issue 24, docs/evals.md "Statistics"): pure
//! functions with no gateway, store or clock, so every number of a gate can be recomputed
//! from the runs and the seed it stored.
//!
//! - [`stats`]: Wilson intervals, the exact McNemar test (and its grouped form), Newcombe's
//!   interval of a paired difference, a seeded (group) bootstrap, pass^k, the minimum
//!   detectable effect;
//! - [`gate`](gate()): a candidate run against a baseline, per case, to a [`GateReport`]
//!   (decision, reasons, every number), [`render`] to text, [`Decision::exit_code`].

pub mod stats;

mod gate;

pub use gate::{
    BySide, DEFAULT_SEED, Decision, Difference, DifferenceMethod, FlakyCase, Flipped, GateConfig,
    GateError, GateReport, MIN_RESAMPLES, PairedCase, PassCount, Reason, RepeatRates, Repeats, Run,
    ScoreDifference, Test, TestMethod, Verdict, gate, render,
};
