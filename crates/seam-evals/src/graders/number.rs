//! `number`: a number taken from the answer's text, compared with `value` (default: the
//! number in the case's `expected`) within `tolerance` (absolute, default 0). `extract`
//! says which number: `last` (the default: answers end with their result), `first`, or
//! `only` (the answer must hold exactly one). Thousands separators (`1,234.5`) are read.

use super::{Checked, Subject, keys};
use crate::dataset::case::expected_text;
use crate::fields::{FieldError, Obj, kind};
use serde_json::Value;
use std::sync::LazyLock;

static NUMBER: LazyLock<regex::Regex> = LazyLock::new(|| {
    // A minus right after a letter or digit is a dash, not a sign: "3-4" reads 3 and 4.
    regex::Regex::new(r"(?:^|[^\w.])(-?)((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?)")
        .unwrap_or_else(|e| unreachable!("a fixed pattern: {e}"))
});

#[derive(Debug, Clone, Copy, PartialEq)]
enum Extract {
    First,
    Last,
    Only,
}

#[derive(Debug, Clone)]
pub(crate) struct Number {
    value: f64,
    tolerance: f64,
    extract: Extract,
}

/// The numbers in `text`, in order.
pub(crate) fn numbers(text: &str) -> Vec<f64> {
    NUMBER
        .captures_iter(text)
        .filter_map(|c| {
            let digits = c.get(2)?.as_str().replace(',', "");
            let n: f64 = digits.parse().ok()?;
            Some(if c.get(1).is_some_and(|m| !m.is_empty()) {
                -n
            } else {
                n
            })
        })
        .filter(|n| n.is_finite())
        .collect()
}

impl Number {
    pub fn parse(o: &Obj<'_>, expected: Option<&Value>) -> Result<Number, FieldError> {
        o.only(&keys(&["value", "tolerance", "extract"]), "number")?;
        let value = match o.get("value") {
            Some(Value::Number(_)) => o.num("value")?.unwrap_or_default(),
            Some(Value::String(s)) => match s.trim().parse::<f64>() {
                Ok(n) if n.is_finite() => n,
                _ => return Err(o.err("value", format!("`{s}` is not a number"))),
            },
            Some(other) => {
                return Err(o.err("value", format!("must be a number, not {}", kind(other))));
            }
            None => match expected {
                Some(Value::Number(n)) => n.as_f64().unwrap_or_default(),
                e => match expected_text(e).map(numbers).as_deref() {
                    Some([.., last]) => *last,
                    _ => {
                        return Err(o.err(
                            "value",
                            "missing, and the case's `expected` holds no number to compare with",
                        ));
                    }
                },
            },
        };
        let tolerance = match o.num("tolerance")? {
            Some(t) if t < 0.0 => return Err(o.err("tolerance", "must be 0 or more")),
            t => t.unwrap_or(0.0),
        };
        let extract = match o.str("extract")? {
            None | Some("last") => Extract::Last,
            Some("first") => Extract::First,
            Some("only") => Extract::Only,
            Some(other) => {
                return Err(o.err("extract", format!("`{other}`: one of last, first, only")));
            }
        };
        Ok(Number {
            value,
            tolerance,
            extract,
        })
    }

    pub fn check(&self, s: &Subject<'_>) -> Checked {
        let found = numbers(s.output.text_or_empty());
        let got = match (self.extract, found.as_slice()) {
            (_, []) => return Checked::binary(false, "the answer holds no number"),
            (Extract::Only, [n]) => *n,
            (Extract::Only, many) => {
                return Checked::binary(
                    false,
                    format!("the answer holds {} numbers, not one", many.len()),
                );
            }
            (Extract::First, [first, ..]) => *first,
            (Extract::Last, [.., last]) => *last,
        };
        let off = (got - self.value).abs();
        let pass = off <= self.tolerance;
        Checked::binary(
            pass,
            format!(
                "the answer's number {got} is {off} from {} ({} the tolerance {})",
                self.value,
                if pass { "within" } else { "beyond" },
                self.tolerance
            ),
        )
    }
}
