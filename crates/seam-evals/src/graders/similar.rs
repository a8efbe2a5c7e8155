//! `similar`: the cosine similarity of the answer's and the value's embeddings (one call
//! through the route, `route` or `[evals] embedding_route`), passing at `threshold` (default
//! 0.75, promptfoo's) or above. `value` is a string or a list (the best match counts); left
//! out, the case's expected text. The score is the cosine, floored at 0.

use super::backend::Backend;
use super::text::literal;
use super::{Checked, Subject, keys};
use crate::dataset::case::expected_text;
use crate::fields::{FieldError, Obj, kind};
use serde_json::Value;

pub(crate) const DEFAULT_THRESHOLD: f64 = 0.75;

#[derive(Debug, Clone)]
pub(crate) struct Similar {
    values: Vec<String>,
    threshold: f64,
    pub route: Option<String>,
}

impl Similar {
    pub fn parse(o: &Obj<'_>, expected: Option<&Value>) -> Result<Similar, FieldError> {
        if o.has("provider") {
            return Err(o.err("provider", "name a Seam route with `route` instead"));
        }
        o.only(&keys(&["value", "threshold", "route"]), "similar")?;
        let values = match o.get("value") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(_)) => o.strings("value")?.unwrap_or_default(),
            Some(other) => {
                return Err(o.err(
                    "value",
                    format!("must be a string or a list of strings, not {}", kind(other)),
                ));
            }
            None => match expected_text(expected) {
                Some(t) => vec![t.to_string()],
                None => {
                    return Err(o.err(
                        "value",
                        "missing, and the case's `expected` has no text to compare with",
                    ));
                }
            },
        };
        if values.is_empty() || values.iter().any(|v| v.trim().is_empty()) {
            return Err(o.err("value", "must not be empty"));
        }
        for v in &values {
            literal(o, "value", v)?;
        }
        let threshold = o
            .num_in("threshold", -1.0, 1.0)?
            .unwrap_or(DEFAULT_THRESHOLD);
        let route = super::route_key(o)?;
        Ok(Similar {
            values,
            threshold,
            route,
        })
    }

    pub async fn check(
        &self,
        s: &Subject<'_>,
        backend: &dyn Backend,
        route: &str,
    ) -> Result<Checked, String> {
        let Some(text) = s.output.text.as_deref().filter(|t| !t.trim().is_empty()) else {
            return Ok(Checked::binary(false, "the answer has no text to compare"));
        };
        let mut texts = Vec::with_capacity(1 + self.values.len());
        texts.push(text.to_string());
        texts.extend(self.values.iter().cloned());
        let best = best_cosine(backend, route, &texts).await?;
        let pass = best >= self.threshold;
        Ok(Checked {
            pass,
            score: best.max(0.0),
            reason: format!(
                "cosine similarity {best:.4} {} threshold {}",
                if pass { ">=" } else { "<" },
                self.threshold
            ),
        })
    }
}

/// The highest cosine of `texts[0]`'s embedding with those of the rest, embedded in one call.
pub(crate) async fn best_cosine(
    backend: &dyn Backend,
    route: &str,
    texts: &[String],
) -> Result<f64, String> {
    let vectors = backend
        .embed(route, texts)
        .await
        .map_err(|e| format!("embedding through route `{route}` failed: {e}"))?;
    if vectors.len() != texts.len() {
        return Err(format!(
            "route `{route}` returned {} embeddings for {} texts",
            vectors.len(),
            texts.len()
        ));
    }
    let (first, rest) = vectors.split_first().ok_or("no embeddings")?;
    rest.iter()
        .map(|v| cosine(first, v))
        .try_fold(f64::NEG_INFINITY, |best, c| c.map(|c| best.max(c)))
}

pub(crate) fn cosine(a: &[f32], b: &[f32]) -> Result<f64, String> {
    if a.len() != b.len() {
        return Err(format!(
            "embeddings of different sizes ({} and {})",
            a.len(),
            b.len()
        ));
    }
    seam_wire::cosine(a, b).ok_or_else(|| "an embedding is zero or not finite: no cosine".into())
}
