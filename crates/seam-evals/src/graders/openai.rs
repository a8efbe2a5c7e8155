//! The retired OpenAI Evals graders, accepted as OpenAI wrote them: `string_check` and
//! `text_similarity` here, `score_model` and `label_model` in `model.rs`. Their `{{ ... }}`
//! templates are rendered with MiniJinja: `sample.output_text`, `sample.output_json` (the
//! answer parsed, null when it is not JSON), `sample.output_tools`; `item` is the case's
//! `variables`, then its `metadata` keys, then `id` and `expected` (the first writer of a name
//! wins), so an OpenAI item's fields go in `variables` or `metadata`.

use super::backend::Backend;
use super::metrics::{fuzzy_ratio, rouge_l, rouge_n};
use super::{Check, Checked, Subject, template};
use crate::fields::{FieldError, Obj};
use serde_json::{Map, Value, json};

/// Keys every OpenAI grader may have (`weight` and `metric` are Seam's, as on any assertion).
const COMMON: &[&str] = &["type", "name", "weight", "metric"];

fn keys(extra: &[&'static str]) -> Vec<&'static str> {
    COMMON.iter().chain(extra).copied().collect()
}

/// The OpenAI grader `kind` names, parsed; `None` for other types.
pub(crate) fn parse(
    kind: &str,
    o: &Obj<'_>,
    _expected: Option<&Value>,
) -> Result<Option<Check>, FieldError> {
    Ok(Some(match kind {
        "string_check" => Check::StringCheck(StringCheck::parse(o)?),
        "text_similarity" => Check::TextSimilarity(TextSimilarity::parse(o)?),
        "score_model" => Check::ScoreModel(super::model::ScoreModel::parse(o)?),
        "label_model" => Check::LabelModel(super::model::LabelModel::parse(o)?),
        "python" | "multi" | "endpoint" => {
            return Err(o.err(
                "type",
                format!("OpenAI's `{kind}` grader is not supported (it runs code or other services); use a judge"),
            ));
        }
        _ => return Ok(None),
    }))
}

/// A template key: a string that compiles.
pub(crate) fn template_key(o: &Obj<'_>, k: &str) -> Result<String, FieldError> {
    let t = o.req_str(k)?;
    template::check(t).map_err(|e| o.err(k, e))?;
    Ok(t.to_string())
}

/// What an OpenAI grader's templates see.
pub(crate) fn context(s: &Subject<'_>) -> Value {
    let text = s.output.text_or_empty();
    let mut item = Map::new();
    for source in [&s.case.variables, &s.case.metadata] {
        if let Some(Value::Object(m)) = source {
            for (k, v) in m {
                item.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    item.entry("id").or_insert_with(|| s.case.id.clone().into());
    item.entry("expected")
        .or_insert_with(|| s.case.expected.clone().unwrap_or(Value::Null));
    json!({
        "sample": {
            "output_text": text,
            "output_json": serde_json::from_str::<Value>(text.trim()).unwrap_or(Value::Null),
            "output_tools": s.output.tools_json(),
        },
        "item": item,
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Operation {
    Eq,
    Ne,
    Like,
    Ilike,
}

/// `string_check`: `input` against `reference` by `operation`: `eq`, `ne`, `like` (contains),
/// `ilike` (contains, ignoring case).
#[derive(Debug, Clone)]
pub(crate) struct StringCheck {
    input: String,
    reference: String,
    operation: Operation,
}

impl StringCheck {
    fn parse(o: &Obj<'_>) -> Result<StringCheck, FieldError> {
        o.only(&keys(&["input", "reference", "operation"]), "string_check")?;
        let operation = match o.req_str("operation")? {
            "eq" => Operation::Eq,
            "ne" => Operation::Ne,
            "like" => Operation::Like,
            "ilike" => Operation::Ilike,
            other => {
                return Err(o.err(
                    "operation",
                    format!("`{other}`: one of eq, ne, like, ilike"),
                ));
            }
        };
        Ok(StringCheck {
            input: template_key(o, "input")?,
            reference: template_key(o, "reference")?,
            operation,
        })
    }

    pub fn check(&self, s: &Subject<'_>) -> Result<Checked, String> {
        let ctx = context(s);
        let input = template::render(&self.input, &ctx)?;
        let reference = template::render(&self.reference, &ctx)?;
        let (pass, what) = match self.operation {
            Operation::Eq => (input == reference, "equals"),
            Operation::Ne => (input != reference, "differs from"),
            Operation::Like => (input.contains(&reference), "contains"),
            Operation::Ilike => (
                input.to_lowercase().contains(&reference.to_lowercase()),
                "contains (ignoring case)",
            ),
        };
        Ok(Checked::binary(
            pass,
            format!(
                "input {}{what} the reference",
                if pass { "" } else { "does not satisfy: " }
            ),
        ))
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Metric {
    Fuzzy,
    Rouge(usize),
    RougeL,
    Cosine,
}

/// `text_similarity`: a metric of `input` against `reference`, passing at `pass_threshold`.
#[derive(Debug, Clone)]
pub(crate) struct TextSimilarity {
    input: String,
    reference: String,
    metric: Metric,
    pass_threshold: f64,
    /// For `cosine`: the embedding route (else `[evals] embedding_route`).
    pub route: Option<String>,
}

const METRICS: &str = "fuzzy_match, rouge_1 .. rouge_5, rouge_l, cosine";

impl TextSimilarity {
    fn parse(o: &Obj<'_>) -> Result<TextSimilarity, FieldError> {
        o.only(
            &keys(&[
                "input",
                "reference",
                "evaluation_metric",
                "pass_threshold",
                "route",
            ]),
            "text_similarity",
        )?;
        let metric = match o.req_str("evaluation_metric")? {
            "fuzzy_match" => Metric::Fuzzy,
            "rouge_l" => Metric::RougeL,
            "cosine" => Metric::Cosine,
            m if m.starts_with("rouge_") => match m["rouge_".len()..].parse::<usize>() {
                Ok(n @ 1..=5) => Metric::Rouge(n),
                _ => {
                    return Err(o.err(
                        "evaluation_metric",
                        format!("`{m}` is not a metric (supported: {METRICS})"),
                    ));
                }
            },
            m @ ("bleu" | "gleu" | "meteor") => {
                return Err(o.err(
                    "evaluation_metric",
                    format!(
                        "`{m}` is not supported by Seam: its result depends on tokenization and smoothing choices Seam cannot match to OpenAI's (supported: {METRICS}); use one of those or a judge"
                    ),
                ));
            }
            m => {
                return Err(o.err(
                    "evaluation_metric",
                    format!("`{m}` is not a metric (supported: {METRICS})"),
                ));
            }
        };
        let pass_threshold = o.num("pass_threshold")?.ok_or_else(|| {
            o.err(
                "pass_threshold",
                "missing: the score at or above which it passes",
            )
        })?;
        if metric != Metric::Cosine && o.has("route") {
            return Err(o.err("route", "only the `cosine` metric calls a route"));
        }
        Ok(TextSimilarity {
            input: template_key(o, "input")?,
            reference: template_key(o, "reference")?,
            metric,
            pass_threshold,
            route: super::route_key(o)?,
        })
    }

    pub fn needs_embeddings(&self) -> bool {
        self.metric == Metric::Cosine
    }

    pub async fn check(
        &self,
        s: &Subject<'_>,
        backend: &dyn Backend,
        route: Option<&str>,
    ) -> Result<Checked, String> {
        let ctx = context(s);
        let input = template::render(&self.input, &ctx)?;
        let reference = template::render(&self.reference, &ctx)?;
        let (score, name) = match self.metric {
            Metric::Fuzzy => (fuzzy_ratio(&input, &reference)?, "fuzzy_match".to_string()),
            Metric::Rouge(n) => (rouge_n(&input, &reference, n), format!("rouge_{n}")),
            Metric::RougeL => (rouge_l(&input, &reference)?, "rouge_l".to_string()),
            Metric::Cosine => {
                let route = route.unwrap_or("");
                let c = super::similar::best_cosine(backend, route, &[input, reference]).await?;
                (c, "cosine".to_string())
            }
        };
        let pass = score >= self.pass_threshold;
        Ok(Checked {
            pass,
            score: score.max(0.0),
            reason: format!(
                "{name} {score:.4} {} pass_threshold {}",
                if pass { ">=" } else { "<" },
                self.pass_threshold
            ),
        })
    }
}
