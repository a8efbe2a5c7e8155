//! A golden's verdict from its repeats: replaying each golden several times tells an answer
//! that sometimes changes (flaky) from one that changed (fail).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One repeat's outcome: the case grade's [`Outcome`](crate::Outcome) (pass, fail, or error
/// when a grader or the replay itself could not decide).
pub type RepeatOutcome = crate::Outcome;

/// A golden's verdict over its repeats (stored as its [`as_str`](Verdict::as_str) name).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every repeat passed.
    Pass,
    /// Some repeats passed and some did not.
    Flaky,
    /// No repeat passed, and at least one failed.
    Fail,
    /// Nothing was decided: every repeat errored, or there were none.
    Error,
}

impl Verdict {
    pub const ALL: [Verdict; 4] = [Verdict::Pass, Verdict::Flaky, Verdict::Fail, Verdict::Error];

    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Flaky => "flaky",
            Verdict::Fail => "fail",
            Verdict::Error => "error",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Verdict {
    type Err = String;

    fn from_str(s: &str) -> Result<Verdict, String> {
        Verdict::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not a canary verdict (pass, flaky, fail, error)"))
    }
}

/// The verdict of a golden's repeats: all passed, pass; some passed, flaky (an errored repeat
/// among passes counts as not passing); none passed, fail, unless every one errored (or
/// there were none), error.
pub fn verdict(repeats: &[RepeatOutcome]) -> Verdict {
    let passed = repeats
        .iter()
        .filter(|r| **r == RepeatOutcome::Pass)
        .count();
    let errored = repeats
        .iter()
        .filter(|r| **r == RepeatOutcome::Error)
        .count();
    match passed {
        _ if errored == repeats.len() => Verdict::Error,
        p if p == repeats.len() => Verdict::Pass,
        0 => Verdict::Fail,
        _ => Verdict::Flaky,
    }
}

#[cfg(test)]
mod tests {
    use super::{RepeatOutcome, Verdict, verdict};
    use crate::Outcome::{Error as E, Fail as F, Pass as P};

    #[test]
    fn the_verdict_table() {
        let table: &[(&[RepeatOutcome], Verdict)] = &[
            (&[P, P, P], Verdict::Pass),
            (&[P], Verdict::Pass),
            (&[P, F, P], Verdict::Flaky),
            (&[F, F, P], Verdict::Flaky),
            (&[P, P, E], Verdict::Flaky),
            (&[F, F, F], Verdict::Fail),
            (&[F, E, E], Verdict::Fail),
            (&[E, E, E], Verdict::Error),
            (&[E], Verdict::Error),
            (&[], Verdict::Error),
        ];
        for (repeats, want) in table {
            assert_eq!(verdict(repeats), *want, "{repeats:?}");
        }
    }

    #[test]
    fn names_round_trip() {
        for v in Verdict::ALL {
            assert_eq!(v.as_str().parse::<Verdict>(), Ok(v));
            assert_eq!(
                serde_json::to_value(v).ok(),
                Some(serde_json::json!(v.as_str()))
            );
        }
        assert_eq!(
            "passed".parse::<Verdict>(),
            Err("`passed` is not a canary verdict (pass, flaky, fail, error)".to_string())
        );
    }
}
