//! `length` (characters of the answer's text), `latency-ms` and `cost-usd` (the call's): a
//! value within `min` and/or `max`. promptfoo's `latency` and `cost` take `threshold`, the
//! maximum. A call whose latency or cost was not measured (an unpriced model) is an error,
//! not a pass.

use super::{Checked, Subject, keys};
use crate::fields::{FieldError, Obj};

#[derive(Debug, Clone)]
pub(crate) struct Bounds {
    min: Option<f64>,
    max: Option<f64>,
}

impl Bounds {
    pub fn parse_length(o: &Obj<'_>) -> Result<Bounds, FieldError> {
        o.only(&keys(&["min", "max"]), "length")?;
        let min = o.count("min")?.map(|n| n as f64);
        let max = o.count("max")?.map(|n| n as f64);
        Bounds::new(o, min, max)
    }

    pub fn parse_latency(base: &str, o: &Obj<'_>) -> Result<Bounds, FieldError> {
        Bounds::parse_measure(base, "latency", o)
    }

    pub fn parse_cost(base: &str, o: &Obj<'_>) -> Result<Bounds, FieldError> {
        Bounds::parse_measure(base, "cost", o)
    }

    fn parse_measure(base: &str, promptfoo: &str, o: &Obj<'_>) -> Result<Bounds, FieldError> {
        if base == promptfoo {
            o.only(&keys(&["threshold"]), base)?;
            let max = o.num("threshold")?;
            if max.is_none() {
                return Err(o.err("threshold", "missing: the most it may be"));
            }
            return Bounds::new(o, None, max);
        }
        o.only(&keys(&["min", "max"]), base)?;
        Bounds::new(o, o.num("min")?, o.num("max")?)
    }

    fn new(o: &Obj<'_>, min: Option<f64>, max: Option<f64>) -> Result<Bounds, FieldError> {
        match (min, max) {
            (None, None) => Err(o.err("max", "missing: give `min`, `max` or both")),
            (Some(m), _) | (_, Some(m)) if m < 0.0 => Err(o.err(
                if min == Some(m) { "min" } else { "max" },
                "must be 0 or more",
            )),
            (Some(lo), Some(hi)) if lo > hi => Err(o.err("min", format!("{lo} is above max {hi}"))),
            _ => Ok(Bounds { min, max }),
        }
    }

    fn within(&self, what: &str, v: f64, unit: &str) -> Checked {
        let low = self.min.filter(|m| v < *m);
        let high = self.max.filter(|m| v > *m);
        match (low, high) {
            (Some(m), _) => Checked::binary(false, format!("{what} {v}{unit} is below {m}{unit}")),
            (_, Some(m)) => Checked::binary(false, format!("{what} {v}{unit} is above {m}{unit}")),
            _ => Checked::binary(true, format!("{what} {v}{unit} is within bounds")),
        }
    }

    pub fn check_length(&self, s: &Subject<'_>) -> Checked {
        let n = s.output.text_or_empty().chars().count();
        self.within("the answer's length", n as f64, " characters")
    }

    pub fn check_latency(&self, s: &Subject<'_>) -> Result<Checked, String> {
        match s.output.latency_ms {
            Some(ms) if ms.is_finite() => Ok(self.within("the call's latency", ms, " ms")),
            _ => Err("the call's latency was not measured".into()),
        }
    }

    pub fn check_cost(&self, s: &Subject<'_>) -> Result<Checked, String> {
        match s.output.cost_usd {
            Some(usd) if usd.is_finite() => Ok(self.within("the call's cost", usd, " USD")),
            _ => Err("the call's cost is unknown (an unpriced model?)".into()),
        }
    }
}
