//! OpenAI's model graders, mapped onto judge calls through the backend: `score_model` (a
//! number within `range`, passing at `pass_threshold`) and `label_model` (one of `labels`,
//! passing when among `passing_labels`). Their `input` messages are rendered as OpenAI's
//! templates (`openai.rs`) and sent through `route`, else a route named as the grader's
//! `model` (in Seam a client's `model` names a route). OpenAI made the model answer with
//! structured outputs; Seam appends a user message asking for the JSON object instead, and an
//! answer that is not that object is an `error`. The verdict stores the SHA-256 of the messages
//! as written (canonical JSON) and of that instruction.

use super::backend::{Backend, JudgeMessage, JudgeRequest};
use super::judge::answer_object;
use super::openai::context;
use super::{Checked, Subject, template};
use crate::dataset::canonical_json;
use crate::fields::{FieldError, Obj, kind};
use serde_json::{Map, Value};

const COMMON: &[&str] = &[
    "type", "name", "weight", "metric", "model", "input", "route",
];

/// A grader's message: a role and its text template.
#[derive(Debug, Clone)]
struct Message {
    role: String,
    content: String,
}

/// OpenAI's `input`: messages whose `content` is a string, an `input_text` / `output_text`
/// part, or a list of those; images and audio are refused.
fn messages(o: &Obj<'_>) -> Result<Vec<Message>, FieldError> {
    let items = match o.get("input") {
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(Value::Array(_)) | None => {
            return Err(o.err("input", "missing: the messages to send the grader model"));
        }
        Some(other) => {
            return Err(o.err(
                "input",
                format!("must be an array of messages, not {}", kind(other)),
            ));
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, m) in items.iter().enumerate() {
        let key = o.key(&format!("input[{i}]"));
        let m = Obj::new(m, &key, "a message object")?;
        m.only(&["role", "content", "type"], "a message")?;
        if let Some(t) = m.str("type")?
            && t != "message"
        {
            return Err(m.err("type", format!("`{t}`: a message's type is `message`")));
        }
        let role = m.req_str("role")?;
        if !["system", "developer", "user", "assistant"].contains(&role) {
            return Err(m.err(
                "role",
                format!("`{role}`: one of system, developer, user, assistant"),
            ));
        }
        let parts: Vec<&Value> = match m.get("content") {
            Some(Value::Array(ps)) => ps.iter().collect(),
            Some(v) => vec![v],
            None => return Err(m.err("content", "missing")),
        };
        let mut text = String::new();
        for p in parts {
            let piece = match p {
                Value::String(s) => s.as_str(),
                Value::Object(po) => match (po.get("type").and_then(Value::as_str), po.get("text"))
                {
                    (Some("input_text" | "output_text"), Some(Value::String(t))) => t.as_str(),
                    (Some(t), _) => {
                        return Err(m.err(
                            "content",
                            format!("a part of type `{t}` is not supported (text only)"),
                        ));
                    }
                    (None, _) => return Err(m.err("content", "a part without a `type`")),
                },
                other => {
                    return Err(m.err(
                        "content",
                        format!("must be text or text parts, not {}", kind(other)),
                    ));
                }
            };
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(piece);
        }
        template::check(&text).map_err(|e| m.err("content", e))?;
        out.push(Message {
            role: role.to_string(),
            content: text,
        });
    }
    Ok(out)
}

/// The route: `route`, else `model`.
fn route(o: &Obj<'_>) -> Result<String, FieldError> {
    let model = o.req_str("model")?;
    if model.trim().is_empty() {
        return Err(o.err("model", "must not be empty"));
    }
    Ok(super::route_key(o)?.unwrap_or_else(|| model.to_string()))
}

fn fingerprint(o: &Obj<'_>, instruction: &str) -> String {
    let input = o.get("input").map(canonical_json).unwrap_or_default();
    template::sha256(&format!("{input}\n{instruction}"))
}

/// Renders the messages and asks the route, adding the instruction as a last user message.
async fn ask(
    s: &Subject<'_>,
    backend: &dyn Backend,
    route: &str,
    messages: &[Message],
    instruction: &str,
    params: &Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    let ctx = context(s);
    let mut rendered = Vec::with_capacity(messages.len() + 1);
    for m in messages {
        rendered.push(JudgeMessage::new(
            m.role.clone(),
            template::render(&m.content, &ctx)?,
        ));
    }
    rendered.push(JudgeMessage::new("user", instruction));
    let request = JudgeRequest {
        route: route.to_string(),
        messages: rendered,
        params: params.clone(),
    };
    let answer = backend
        .judge(&request)
        .await
        .map_err(|e| format!("the grader model call through route `{route}` failed: {e}"))?;
    answer_object(&answer)
}

fn reason_of(o: &Map<String, Value>) -> String {
    match (o.get("reason"), o.get("steps")) {
        (Some(Value::String(r)), _) => r.clone(),
        (_, Some(steps)) => steps.to_string(),
        _ => "no reason given".to_string(),
    }
}

#[derive(Debug, Clone)]
pub(crate) struct ScoreModel {
    messages: Vec<Message>,
    pub route: String,
    range: (f64, f64),
    pass_threshold: Option<f64>,
    params: Map<String, Value>,
    instruction: String,
    pub template_sha256: String,
}

impl ScoreModel {
    pub fn parse(o: &Obj<'_>) -> Result<ScoreModel, FieldError> {
        let allowed: Vec<&str> = COMMON
            .iter()
            .chain(&["range", "pass_threshold", "sampling_params"])
            .copied()
            .collect();
        o.only(&allowed, "score_model")?;
        let route = route(o)?;
        let messages = messages(o)?;
        let range = match o.get("range") {
            None => (0.0, 1.0),
            Some(Value::Array(r)) => match r.as_slice() {
                [a, b] => match (a.as_f64(), b.as_f64()) {
                    (Some(a), Some(b)) if a < b && a.is_finite() && b.is_finite() => (a, b),
                    _ => return Err(o.err("range", "must be [low, high] with low below high")),
                },
                _ => return Err(o.err("range", "must be [low, high]")),
            },
            Some(other) => {
                return Err(o.err("range", format!("must be [low, high], not {}", kind(other))));
            }
        };
        let pass_threshold = o.num_in("pass_threshold", range.0, range.1)?;
        let params = sampling_params(o)?;
        let instruction = format!(
            "Reply with a JSON object only, no other text: {{\"result\": <a number from {} to {}>, \"reason\": \"<one or two sentences>\"}}",
            range.0, range.1
        );
        Ok(ScoreModel {
            template_sha256: fingerprint(o, &instruction),
            messages,
            route,
            range,
            pass_threshold,
            params,
            instruction,
        })
    }

    pub async fn check(
        &self,
        s: &Subject<'_>,
        backend: &dyn Backend,
        route: &str,
    ) -> Result<Checked, String> {
        let o = ask(
            s,
            backend,
            route,
            &self.messages,
            &self.instruction,
            &self.params,
        )
        .await?;
        let raw = o
            .get("result")
            .or_else(|| o.get("score"))
            .and_then(Value::as_f64)
            .filter(|f| f.is_finite())
            .ok_or("the grader model's answer has no number `result`")?;
        let (lo, hi) = self.range;
        if !(lo..=hi).contains(&raw) {
            return Err(format!(
                "the grader model's result {raw} is outside its range [{lo}, {hi}]"
            ));
        }
        let score = (raw - lo) / (hi - lo);
        let (pass, rule) = match self.pass_threshold {
            Some(t) => (raw >= t, format!("pass_threshold {t}")),
            None => (score >= 0.5, "the middle of its range".to_string()),
        };
        Ok(Checked {
            pass,
            score,
            reason: format!(
                "result {raw} {} {rule}: {}",
                if pass { ">=" } else { "<" },
                reason_of(&o)
            ),
        })
    }
}

/// OpenAI's `sampling_params`, as chat request fields (`max_completions_tokens` is the
/// chat API's `max_completion_tokens`).
fn sampling_params(o: &Obj<'_>) -> Result<Map<String, Value>, FieldError> {
    let Some(v) = o.get("sampling_params") else {
        return Ok(Map::new());
    };
    let key = o.key("sampling_params");
    let p = Obj::new(v, &key, "an object")?;
    p.only(
        &[
            "temperature",
            "top_p",
            "seed",
            "max_completions_tokens",
            "reasoning_effort",
        ],
        "sampling_params",
    )?;
    let mut out = Map::new();
    for (k, v) in p.map {
        if v.is_null() {
            continue;
        }
        let name = if k == "max_completions_tokens" {
            "max_completion_tokens"
        } else {
            k.as_str()
        };
        out.insert(name.to_string(), v.clone());
    }
    Ok(out)
}

#[derive(Debug, Clone)]
pub(crate) struct LabelModel {
    messages: Vec<Message>,
    pub route: String,
    labels: Vec<String>,
    passing: Vec<String>,
    instruction: String,
    pub template_sha256: String,
}

impl LabelModel {
    pub fn parse(o: &Obj<'_>) -> Result<LabelModel, FieldError> {
        let allowed: Vec<&str> = COMMON
            .iter()
            .chain(&["labels", "passing_labels"])
            .copied()
            .collect();
        o.only(&allowed, "label_model")?;
        let route = route(o)?;
        let messages = messages(o)?;
        let labels = o.strings("labels")?.unwrap_or_default();
        if labels.is_empty() || labels.iter().any(|l| l.trim().is_empty()) {
            return Err(o.err("labels", "name the labels (non-empty strings)"));
        }
        if let Some((i, l)) = labels
            .iter()
            .enumerate()
            .find(|(i, l)| labels[..*i].contains(l))
        {
            return Err(o.err(&format!("labels[{i}]"), format!("`{l}` is listed twice")));
        }
        let passing = o.strings("passing_labels")?.unwrap_or_default();
        if passing.is_empty() {
            return Err(o.err("passing_labels", "name the labels that pass"));
        }
        if let Some(l) = passing.iter().find(|l| !labels.contains(l)) {
            return Err(o.err("passing_labels", format!("`{l}` is not one of `labels`")));
        }
        let instruction = format!(
            "Reply with a JSON object only, no other text: {{\"label\": <one of {}>, \"reason\": \"<one or two sentences>\"}}",
            Value::from(labels.clone())
        );
        Ok(LabelModel {
            template_sha256: fingerprint(o, &instruction),
            messages,
            route,
            labels,
            passing,
            instruction,
        })
    }

    pub async fn check(
        &self,
        s: &Subject<'_>,
        backend: &dyn Backend,
        route: &str,
    ) -> Result<Checked, String> {
        let o = ask(
            s,
            backend,
            route,
            &self.messages,
            &self.instruction,
            &Map::new(),
        )
        .await?;
        let said = o
            .get("label")
            .and_then(Value::as_str)
            .ok_or("the grader model's answer has no string `label`")?;
        let label = self
            .labels
            .iter()
            .find(|l| l.trim().eq_ignore_ascii_case(said.trim()))
            .ok_or_else(|| {
                format!(
                    "the grader model's label {} is not one of `labels`",
                    super::text::quote(said)
                )
            })?;
        let pass = self.passing.contains(label);
        Ok(Checked::binary(
            pass,
            format!(
                "label `{label}` is {}a passing label: {}",
                if pass { "" } else { "not " },
                reason_of(&o)
            ),
        ))
    }
}
