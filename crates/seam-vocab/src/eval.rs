//! What an eval run and its results store.

use crate::vocabulary;

vocabulary! {
    /// Where an eval run stands.
    pub enum EvalStatus as "eval run status" {
        /// Started and not finished: still going, or its process died (`--resume` finishes it).
        Running => "running",
        /// Every (case, repeat) of the run has a result.
        Complete => "complete",
        /// Stopped (Ctrl-C) with what finished stored.
        Interrupted => "interrupted",
    }
}

vocabulary! {
    /// One (case, repeat)'s verdict.
    pub enum EvalVerdict as "eval verdict" {
        Pass => "pass",
        Fail => "fail",
        /// The call or a model grader failed: no verdict on the answer.
        Error => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{refuses, round_trips};

    #[test]
    fn eval_words_keep_their_strings() {
        let pinned = [
            (EvalStatus::Running, "running"),
            (EvalStatus::Complete, "complete"),
            (EvalStatus::Interrupted, "interrupted"),
        ];
        assert_eq!(EvalStatus::ALL.len(), pinned.len());
        for (v, s) in pinned {
            round_trips(v, s);
        }
        let pinned = [
            (EvalVerdict::Pass, "pass"),
            (EvalVerdict::Fail, "fail"),
            (EvalVerdict::Error, "error"),
        ];
        assert_eq!(EvalVerdict::ALL.len(), pinned.len());
        for (v, s) in pinned {
            round_trips(v, s);
        }
        refuses::<EvalStatus>("done", "eval run status");
        refuses::<EvalVerdict>("passed", "eval verdict");
    }
}
