//! Whether a stream met its route's smoothness SLO.

use crate::{Unknown, vocabulary};
use std::fmt;

vocabulary! {
    /// The label of `seam_stream_slo_total{outcome}`.
    pub enum SloOutcome as "SLO outcome" {
        Met => "met",
        Breached => "breached",
    }
}

/// A stream's SLO verdict as its record keeps it: `met`, or `breached: ` and what was
/// breached (`gap p95 180 ms > 150 ms; stall 1200 ms > 1000 ms`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SloVerdict {
    Met,
    Breached(Breach),
}

/// What a stream breached; kept as the whole stored text, so a record's cell borrows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Breach(String);

impl Breach {
    /// What was breached: the text after `breached: `.
    pub fn reasons(&self) -> &str {
        &self.0[BREACHED.len()..]
    }
}

const BREACHED: &str = "breached: ";

impl SloVerdict {
    /// A breach of what `reasons` says.
    pub fn breached(reasons: &str) -> SloVerdict {
        SloVerdict::Breached(Breach(format!("{BREACHED}{reasons}")))
    }

    pub fn outcome(&self) -> SloOutcome {
        match self {
            SloVerdict::Met => SloOutcome::Met,
            SloVerdict::Breached(_) => SloOutcome::Breached,
        }
    }

    /// What was breached, for a breach.
    pub fn breaches(&self) -> Option<&str> {
        match self {
            SloVerdict::Met => None,
            SloVerdict::Breached(b) => Some(b.reasons()),
        }
    }

    /// The verdict as stored and shown.
    pub fn as_str(&self) -> &str {
        match self {
            SloVerdict::Met => SloOutcome::Met.as_str(),
            SloVerdict::Breached(b) => &b.0,
        }
    }

    /// The verdict `s` states, if it is one.
    pub fn lookup(s: &str) -> Option<SloVerdict> {
        if s == SloOutcome::Met.as_str() {
            return Some(SloVerdict::Met);
        }
        s.starts_with(BREACHED)
            .then(|| SloVerdict::Breached(Breach(s.to_string())))
    }
}

impl fmt::Display for SloVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl std::str::FromStr for SloVerdict {
    type Err = Unknown;
    fn from_str(s: &str) -> Result<SloVerdict, Unknown> {
        SloVerdict::lookup(s).ok_or_else(|| Unknown::new("SLO verdict", s))
    }
}

impl TryFrom<String> for SloVerdict {
    type Error = Unknown;
    fn try_from(s: String) -> Result<SloVerdict, Unknown> {
        s.parse()
    }
}

impl From<SloVerdict> for String {
    fn from(v: SloVerdict) -> String {
        v.to_string()
    }
}

impl serde::Serialize for SloVerdict {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for SloVerdict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SloVerdict, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SloVerdict;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an SLO verdict")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<SloVerdict, E> {
                s.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{refuses, round_trips};

    #[test]
    fn slo_outcomes_keep_their_strings() {
        let pinned = [(SloOutcome::Met, "met"), (SloOutcome::Breached, "breached")];
        assert_eq!(SloOutcome::ALL.len(), pinned.len());
        for (v, s) in pinned {
            round_trips(v, s);
        }
        refuses::<SloOutcome>("missed", "SLO outcome");
    }

    #[test]
    fn slo_verdicts_keep_their_strings() {
        round_trips(SloVerdict::Met, "met");
        let b = SloVerdict::breached("stall 1200 ms > 1000 ms");
        round_trips(b.clone(), "breached: stall 1200 ms > 1000 ms");
        assert_eq!(b.outcome(), SloOutcome::Breached);
        assert_eq!(b.breaches(), Some("stall 1200 ms > 1000 ms"));
        assert_eq!(SloVerdict::Met.outcome(), SloOutcome::Met);
        assert_eq!(SloVerdict::Met.breaches(), None);
        refuses::<SloVerdict>("breached", "SLO verdict");
        refuses::<SloVerdict>("breached:stall", "SLO verdict");
        refuses::<SloVerdict>("Met", "SLO verdict");
    }
}
