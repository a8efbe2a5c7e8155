//! Graders (docs/evals.md "Graders"): each assertion of a case gives a verdict (pass, fail or
//! error), a score in 0..1 and a reason to store; a case's verdict is theirs weighted.
//!
//! Assertions are written as promptfoo writes them (`{"type": "contains", "value": "...",
//! "weight": 2}`, `not-` before any type to negate it), with Seam's names for what promptfoo
//! lacks, and the retired OpenAI Evals graders (`string_check`, `text_similarity`,
//! `score_model`, `label_model`) as OpenAI wrote them. Everything that can be checked without
//! an answer is checked when the dataset is read: the type, each key, a regex, a JSON Schema,
//! a template. One file per family; `similar` and the judges call a [`Backend`].

mod backend;
mod bounds;
pub(crate) mod json;
mod judge;
mod metrics;
mod model;
mod number;
mod openai;
mod output;
mod pattern;
pub(crate) mod refusal;
mod similar;
mod template;
mod text;
mod tool_call;

pub use backend::{Backend, BackendError, JudgeMessage, JudgeRequest, NoBackend};
pub use output::{Output, ToolCall};

use crate::dataset::Case;
use crate::fields::{FieldError, Obj};
use crate::{Run, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A grader's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    /// The grader could not decide (a judge that failed or answered malformed JSON, a latency
    /// that was not measured): never a pass.
    Error,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Error => "error",
        }
    }
}

impl From<Outcome> for Verdict {
    fn from(o: Outcome) -> Verdict {
        match o {
            Outcome::Pass => Verdict::Pass,
            Outcome::Fail => Verdict::Fail,
            Outcome::Error => Verdict::Error,
        }
    }
}

/// One assertion's verdict, as stored with the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grade {
    /// The assertion's type as written (`not-contains`, `string_check`).
    pub assertion: String,
    pub outcome: Outcome,
    /// In 0..1; `None` on error.
    pub score: Option<f64>,
    pub reason: String,
    pub weight: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// A model grader's prompt: the SHA-256 (hex) of its template, so a verdict says which
    /// rubric prompt gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_sha256: Option<String>,
}

/// A case's verdict from its assertions' (`grades`, in the order written).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseGrade {
    pub outcome: Outcome,
    /// The weighted mean of the scores of the assertions with a weight above 0 (`None`
    /// without such an assertion, or on error).
    pub score: Option<f64>,
    pub reason: String,
    pub grades: Vec<Grade>,
}

impl CaseGrade {
    /// The run the gate reads.
    pub fn run(&self) -> Run {
        Run {
            verdict: self.outcome.into(),
            score: self.score,
        }
    }
}

/// A parsed assertion.
#[derive(Debug, Clone)]
pub struct Assertion {
    /// Its type as written.
    pub kind: String,
    /// Written with `not-`: the verdict inverted (and the score, `1 - score`).
    pub negate: bool,
    /// Its weight in the case's score (default 1; 0: reported, not counted).
    pub weight: f64,
    /// promptfoo's `metric` (a name to report the assertion under).
    pub metric: Option<String>,
    pub(crate) check: Check,
}

/// What an assertion checks, parsed and compiled.
#[derive(Debug, Clone)]
pub(crate) enum Check {
    Equals(text::Equals),
    Contains(text::Contains),
    Regex(pattern::Pattern),
    Json(json::IsJson),
    ToolCall(tool_call::ToolCallCheck),
    Refusal,
    Number(number::Number),
    Length(bounds::Bounds),
    Latency(bounds::Bounds),
    Cost(bounds::Bounds),
    Similar(similar::Similar),
    Judge(judge::Judge),
    StringCheck(openai::StringCheck),
    TextSimilarity(openai::TextSimilarity),
    ScoreModel(model::ScoreModel),
    LabelModel(model::LabelModel),
}

/// A grader's finding before negation and weighting.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Checked {
    pub pass: bool,
    pub score: f64,
    pub reason: String,
}

impl Checked {
    pub fn binary(pass: bool, reason: impl Into<String>) -> Checked {
        Checked {
            pass,
            score: if pass { 1.0 } else { 0.0 },
            reason: reason.into(),
        }
    }
}

/// What an assertion grades: the case and the answer.
pub(crate) struct Subject<'a> {
    pub case: &'a Case,
    pub output: &'a Output,
}

/// An assertion's `route`: a route's name, not empty.
pub(crate) fn route_key(o: &Obj<'_>) -> Result<Option<String>, FieldError> {
    match o.str("route")? {
        Some(r) if r.trim().is_empty() => Err(o.err("route", "must name a route")),
        r => Ok(r.map(str::to_string)),
    }
}

/// Keys every promptfoo-style assertion may have.
pub(crate) const COMMON: &[&str] = &["type", "weight", "metric"];

/// `COMMON` and `extra`.
pub(crate) fn keys(extra: &[&'static str]) -> Vec<&'static str> {
    COMMON.iter().chain(extra).copied().collect()
}

const KNOWN: &str = "equals, contains, icontains, contains-any, contains-all, icontains-any, icontains-all, regex, is-json (json), tool-call, refusal (is-refusal), number, length, latency-ms (latency), cost-usd (cost), similar, judge (llm-rubric); not-TYPE for any of them; OpenAI's string_check, text_similarity, score_model, label_model";

impl Assertion {
    /// Reads one assertion at `key` (`assert[0]`) of a case whose `expected` is `expected`
    /// (the value some graders default to).
    pub fn parse(v: &Value, key: &str, expected: Option<&Value>) -> Result<Assertion, FieldError> {
        let o = Obj::new(v, key, "an assertion object with a `type`")?;
        let kind = o.req_str("type")?;
        let weight = match o.num("weight")? {
            Some(w) if w < 0.0 => return Err(o.err("weight", "must be 0 or more")),
            Some(w) => w,
            None => 1.0,
        };
        let metric = o.str("metric")?.map(str::to_string);
        if let Some(check) = openai::parse(kind, &o, expected)? {
            return Ok(Assertion {
                kind: kind.to_string(),
                negate: false,
                weight,
                metric,
                check,
            });
        }
        let (negate, base) = match kind
            .strip_prefix("not-")
            .or_else(|| kind.strip_prefix("not_"))
        {
            Some(base) => (true, base),
            None => (false, kind),
        };
        let base = base.replace('_', "-");
        let check = match base.as_str() {
            "equals" => Check::Equals(text::Equals::parse(&o, expected)?),
            "contains" | "icontains" | "contains-any" | "contains-all" | "icontains-any"
            | "icontains-all" => Check::Contains(text::Contains::parse(&base, &o)?),
            "regex" => Check::Regex(pattern::Pattern::parse(&o)?),
            "is-json" | "json" => Check::Json(json::IsJson::parse(&o)?),
            "tool-call" => Check::ToolCall(tool_call::ToolCallCheck::parse(&o)?),
            "refusal" | "is-refusal" => {
                o.only(COMMON, "refusal")?;
                Check::Refusal
            }
            "number" => Check::Number(number::Number::parse(&o, expected)?),
            "length" => Check::Length(bounds::Bounds::parse_length(&o)?),
            "latency-ms" | "latency" => Check::Latency(bounds::Bounds::parse_latency(&base, &o)?),
            "cost-usd" | "cost" => Check::Cost(bounds::Bounds::parse_cost(&base, &o)?),
            "similar" => Check::Similar(similar::Similar::parse(&o, expected)?),
            "judge" | "llm-rubric" => Check::Judge(judge::Judge::parse(&o)?),
            "javascript" | "python" | "webhook" => {
                return Err(o.err(
                    "type",
                    format!("`{kind}` runs code Seam does not run; use a judge or a regex"),
                ));
            }
            _ => {
                return Err(o.err(
                    "type",
                    format!("unknown assertion type `{kind}` (known: {KNOWN})"),
                ));
            }
        };
        Ok(Assertion {
            kind: kind.to_string(),
            negate,
            weight,
            metric,
            check,
        })
    }

    /// The route this assertion calls: its own, else the default for its kind; `None` when
    /// it calls nothing; an error when it needs one and has none.
    pub fn route<'a>(
        &'a self,
        judge_route: Option<&'a str>,
        embedding_route: Option<&'a str>,
    ) -> Result<Option<&'a str>, String> {
        let (own, default, setting) = match &self.check {
            Check::Judge(j) => (j.route.as_deref(), judge_route, "judge_route"),
            Check::ScoreModel(m) => (Some(m.route.as_str()), judge_route, "judge_route"),
            Check::LabelModel(m) => (Some(m.route.as_str()), judge_route, "judge_route"),
            Check::Similar(s) => (s.route.as_deref(), embedding_route, "embedding_route"),
            Check::TextSimilarity(t) if t.needs_embeddings() => {
                (t.route.as_deref(), embedding_route, "embedding_route")
            }
            _ => return Ok(None),
        };
        own.or(default).map(Some).ok_or_else(|| {
            format!(
                "`{}` calls a model: name its `route`, or set [evals] {setting}",
                self.kind
            )
        })
    }

    /// Whether grading it makes a call through the backend.
    pub fn calls_model(&self) -> bool {
        match &self.check {
            Check::Judge(_) | Check::ScoreModel(_) | Check::LabelModel(_) | Check::Similar(_) => {
                true
            }
            Check::TextSimilarity(t) => t.needs_embeddings(),
            _ => false,
        }
    }
}

/// Grades answers: the backend model graders call, and the routes they use when an
/// assertion names none (`[evals] judge_route`, `embedding_route`).
#[derive(Clone, Copy)]
pub struct Grader<'a> {
    pub backend: &'a dyn Backend,
    pub judge_route: Option<&'a str>,
    pub embedding_route: Option<&'a str>,
}

impl<'a> Grader<'a> {
    pub fn new(backend: &'a dyn Backend) -> Grader<'a> {
        Grader {
            backend,
            judge_route: None,
            embedding_route: None,
        }
    }

    /// One assertion's verdict on `output`, the answer to `case`.
    pub async fn grade(&self, assertion: &Assertion, case: &Case, output: &Output) -> Grade {
        let s = Subject { case, output };
        let route = assertion.route(self.judge_route, self.embedding_route);
        let checked: Result<Checked, String> = match (&assertion.check, route) {
            (_, Err(e)) => Err(e),
            (Check::Equals(c), _) => Ok(c.check(&s)),
            (Check::Contains(c), _) => Ok(c.check(&s)),
            (Check::Regex(c), _) => Ok(c.check(&s)),
            (Check::Json(c), _) => Ok(c.check(&s)),
            (Check::ToolCall(c), _) => Ok(c.check(&s)),
            (Check::Refusal, _) => Ok(refusal::check(&s)),
            (Check::Number(c), _) => Ok(c.check(&s)),
            (Check::Length(c), _) => Ok(c.check_length(&s)),
            (Check::Latency(c), _) => c.check_latency(&s),
            (Check::Cost(c), _) => c.check_cost(&s),
            (Check::StringCheck(c), _) => c.check(&s),
            (Check::Similar(c), Ok(route)) => c.check(&s, self.backend, route.unwrap_or("")).await,
            (Check::TextSimilarity(c), Ok(route)) => c.check(&s, self.backend, route).await,
            (Check::Judge(c), Ok(route)) => c.check(&s, self.backend, route.unwrap_or("")).await,
            (Check::ScoreModel(c), Ok(route)) => {
                c.check(&s, self.backend, route.unwrap_or("")).await
            }
            (Check::LabelModel(c), Ok(route)) => {
                c.check(&s, self.backend, route.unwrap_or("")).await
            }
        };
        let template_sha256 = match &assertion.check {
            Check::Judge(j) => Some(j.template_sha256.clone()),
            Check::ScoreModel(m) => Some(m.template_sha256.clone()),
            Check::LabelModel(m) => Some(m.template_sha256.clone()),
            _ => None,
        };
        let (outcome, score, reason) = match checked {
            Err(reason) => (Outcome::Error, None, reason),
            Ok(c) => {
                let (pass, score) = if assertion.negate {
                    (!c.pass, 1.0 - c.score)
                } else {
                    (c.pass, c.score)
                };
                let outcome = if pass { Outcome::Pass } else { Outcome::Fail };
                (outcome, Some(score.clamp(0.0, 1.0)), c.reason)
            }
        };
        Grade {
            assertion: assertion.kind.clone(),
            outcome,
            score,
            reason,
            weight: assertion.weight,
            metric: assertion.metric.clone(),
            template_sha256,
        }
    }

    /// The case's verdict: every assertion graded in order, then weighed (as promptfoo
    /// does): an assertion of weight 0 is reported and not counted; an error among the
    /// counted ones makes the case an error; else, with the case's `threshold`, it passes when
    /// its weighted score reaches the threshold, and without one when every counted assertion
    /// passed. A case without assertions passes (the call answered).
    pub async fn grade_case(&self, case: &Case, output: &Output) -> CaseGrade {
        let mut grades = Vec::with_capacity(case.assertions.len());
        for a in &case.assertions {
            grades.push(self.grade(a, case, output).await);
        }
        weigh(case.threshold, grades)
    }
}

pub(crate) fn weigh(threshold: Option<f64>, grades: Vec<Grade>) -> CaseGrade {
    let counted: Vec<&Grade> = grades.iter().filter(|g| g.weight > 0.0).collect();
    let errors: Vec<&str> = counted
        .iter()
        .filter(|g| g.outcome == Outcome::Error)
        .map(|g| g.assertion.as_str())
        .collect();
    if !errors.is_empty() {
        return CaseGrade {
            outcome: Outcome::Error,
            score: None,
            reason: format!("error in {}", errors.join(", ")),
            grades,
        };
    }
    let total: f64 = counted.iter().map(|g| g.weight).sum();
    let score = (total > 0.0).then(|| {
        counted
            .iter()
            .map(|g| g.weight * g.score.unwrap_or(0.0))
            .sum::<f64>()
            / total
    });
    let failed: Vec<&str> = counted
        .iter()
        .filter(|g| g.outcome == Outcome::Fail)
        .map(|g| g.assertion.as_str())
        .collect();
    let (pass, reason) = match (threshold, score) {
        (Some(t), Some(s)) => (
            s >= t,
            format!(
                "score {s:.3} {} threshold {t}",
                if s >= t { ">=" } else { "<" }
            ),
        ),
        _ if counted.is_empty() => (true, "no assertions to fail".to_string()),
        _ if failed.is_empty() => (true, format!("all {} assertions passed", counted.len())),
        _ => (false, format!("failed: {}", failed.join(", "))),
    };
    CaseGrade {
        outcome: if pass { Outcome::Pass } else { Outcome::Fail },
        score,
        reason,
        grades,
    }
}
