//! Seam's eval statistics (issue 24, docs/evals.md "Statistics"): pure functions with no
//! gateway, store or clock.

pub mod stats;
