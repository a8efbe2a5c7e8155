//! Seam's evals (issue 24): datasets as files, graders, and the statistics and gate decision.
//! Pure functions and types with no gateway, store or clock (the model graders call a
//! [`Backend`] the runner provides), so every number of a gate can be recomputed from the runs
//! and the seed it stored.
//!
//! - [`dataset`]: JSON-lines datasets read strictly (file, line and key in every error),
//!   versioned by the SHA-256 of their canonical content, named by file or path, diffed;
//! - [`graders`]: promptfoo-shaped assertions and OpenAI's retired grader shapes, each to a
//!   [`Grade`] (pass, fail or error, a score, a reason), weighed into a [`CaseGrade`];
//! - [`stats`]: Wilson intervals, the exact McNemar test (and its grouped form), Newcombe's
//!   interval of a paired difference, a seeded (group) bootstrap, pass^k, the minimum
//!   detectable effect;
//! - [`canary`]: a golden's default assertions, the diff of a replay against its recording,
//!   and the verdict of its repeats;
//! - [`gate`](gate()): a candidate run against a baseline, per case, to a [`GateReport`]
//!   (decision, reasons, every number), [`render`] to text, [`Decision::exit_code`].

pub mod canary;
pub mod contamination;
pub mod dataset;
pub mod graders;
pub mod stats;
pub mod value;

mod fields;
mod gate;

pub use dataset::{Case, Dataset, DatasetError, DatasetErrors};
pub use fields::FieldError;
pub use gate::{
    BySide, DEFAULT_SEED, Decision, Difference, DifferenceMethod, FlakyCase, Flipped, GateConfig,
    GateError, GateReport, MIN_RESAMPLES, PairedCase, PassCount, Reason, RepeatRates, Repeats, Run,
    ScoreDifference, Test, TestMethod, Verdict, gate, render,
};
pub use graders::{
    Assertion, Backend, BackendError, CaseGrade, Grade, Grader, JudgeMessage, JudgeRequest,
    NoBackend, Outcome, Output, ToolCall,
};
