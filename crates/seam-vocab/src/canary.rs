//! What a canary run stores: its verdict and what started it.

use crate::vocabulary;

vocabulary! {
    /// A canary run's verdict over its repeats.
    pub enum CanaryVerdict as "canary verdict" {
        /// Every repeat held the golden's assertions.
        Pass => "pass",
        /// Some repeats failed and some passed: an unsteady answer, not a changed one.
        Flaky => "flaky",
        /// Every repeat failed (after the retry a failing replay gets).
        Fail => "fail",
        /// The replay could not run (a route gone, no captured content): no verdict on the
        /// answer.
        Error => "error",
    }
}

vocabulary! {
    /// What started a canary run.
    pub enum CanaryTrigger as "canary trigger" {
        /// `seam canary run`.
        Manual => "manual",
        /// `[canaries] every`.
        Schedule => "schedule",
        /// A deploy to the golden's channel (`[canaries] on_deploy`).
        Deploy => "deploy",
        /// A `served_model_changed` event on the golden's route (`[canaries] on_model_change`).
        ServedModelChanged => "served_model_changed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{refuses, round_trips};

    #[test]
    fn canary_words_keep_their_strings() {
        let pinned = [
            (CanaryVerdict::Pass, "pass"),
            (CanaryVerdict::Flaky, "flaky"),
            (CanaryVerdict::Fail, "fail"),
            (CanaryVerdict::Error, "error"),
        ];
        assert_eq!(CanaryVerdict::ALL.len(), pinned.len());
        for (v, s) in pinned {
            round_trips(v, s);
        }
        refuses::<CanaryVerdict>("passed", "canary verdict");
        let pinned = [
            (CanaryTrigger::Manual, "manual"),
            (CanaryTrigger::Schedule, "schedule"),
            (CanaryTrigger::Deploy, "deploy"),
            (CanaryTrigger::ServedModelChanged, "served_model_changed"),
        ];
        assert_eq!(CanaryTrigger::ALL.len(), pinned.len());
        for (v, s) in pinned {
            round_trips(v, s);
        }
        refuses::<CanaryTrigger>("cron", "canary trigger");
    }
}
