//! `judge` (promptfoo's `llm-rubric`): an LLM grades the answer against a rubric (`value`).
//! The prompt is a MiniJinja template (`template`, or promptfoo's `rubricPrompt`; a default
//! otherwise) rendered with `rubric`, `output`, `input` (the case's conversation as text),
//! `messages`, `expected`, `variables`, `tool_calls` and `refusal`; a template that renders to a
//! JSON array of `{"role", "content"}` is those messages, else it is one user message. The
//! judge must answer a JSON object with a `score` in 0..1 and a `reason` (a ```json fence
//! around it is allowed); it passes at `threshold` (default 0.5) or above. A failed call, an
//! answer that is not such an object, a score outside 0..1: `error`, never a pass. The
//! template's SHA-256 is stored with every verdict.

use super::backend::{Backend, JudgeMessage, JudgeRequest};
use super::text::literal;
use super::{Checked, Subject, keys, template};
use crate::dataset::case::expected_text;
use crate::fields::{FieldError, Obj};
use serde_json::{Map, Value, json};

pub(crate) const DEFAULT_TEMPLATE: &str = r#"You are grading an AI assistant's answer against a rubric.

Rubric:
{{ rubric }}
{% if input %}
The conversation the answer replies to:
{{ input }}
{% endif %}{% if expected %}
A reference answer:
{{ expected }}
{% endif %}
The answer to grade:
{{ output }}{% if tool_calls %}
Tool calls in the answer:{% for c in tool_calls %}
- {{ c.function.name }}({{ c.function.arguments }}){% endfor %}{% endif %}

Reply with a JSON object only, no other text:
{"score": <a number from 0 to 1: 1 when the answer fully meets the rubric, 0 when it does not at all>, "reason": "<one or two sentences>"}"#;

pub(crate) const DEFAULT_THRESHOLD: f64 = 0.5;

#[derive(Debug, Clone)]
pub(crate) struct Judge {
    rubric: String,
    template: String,
    pub template_sha256: String,
    threshold: f64,
    pub route: Option<String>,
}

impl Judge {
    pub fn parse(o: &Obj<'_>) -> Result<Judge, FieldError> {
        if o.has("provider") {
            return Err(o.err("provider", "name a Seam route with `route` instead"));
        }
        o.only(
            &keys(&["value", "template", "rubricPrompt", "threshold", "route"]),
            "judge",
        )?;
        let rubric = o.req_str("value")?;
        if rubric.trim().is_empty() {
            return Err(o.err("value", "must not be empty: the rubric"));
        }
        literal(o, "value", rubric)?;
        let template = match (o.str("template")?, o.str("rubricPrompt")?) {
            (Some(_), Some(_)) => {
                return Err(o.err("rubricPrompt", "given with `template`: keep one"));
            }
            (Some(t), None) => (t, "template"),
            (None, Some(t)) => (t, "rubricPrompt"),
            (None, None) => (DEFAULT_TEMPLATE, "template"),
        };
        template::check(template.0).map_err(|e| o.err(template.1, e))?;
        let threshold = o
            .num_in("threshold", 0.0, 1.0)?
            .unwrap_or(DEFAULT_THRESHOLD);
        Ok(Judge {
            rubric: rubric.to_string(),
            template_sha256: template::sha256(template.0),
            template: template.0.to_string(),
            threshold,
            route: super::route_key(o)?,
        })
    }

    pub async fn check(
        &self,
        s: &Subject<'_>,
        backend: &dyn Backend,
        route: &str,
    ) -> Result<Checked, String> {
        let mut ctx = context(s);
        if let Some(m) = ctx.as_object_mut() {
            m.insert("rubric".into(), self.rubric.clone().into());
        }
        let prompt = template::render(&self.template, &ctx)?;
        let request = JudgeRequest {
            route: route.to_string(),
            messages: messages_of(&prompt),
            params: Map::new(),
        };
        let answer = backend
            .judge(&request)
            .await
            .map_err(|e| format!("the judge call through route `{route}` failed: {e}"))?;
        let (score, reason) = verdict(&answer, "score")?;
        let pass = score >= self.threshold;
        Ok(Checked {
            pass,
            score,
            reason: format!(
                "judge score {score} {} threshold {}: {reason}",
                if pass { ">=" } else { "<" },
                self.threshold
            ),
        })
    }
}

/// What a judge's template sees.
fn context(s: &Subject<'_>) -> Value {
    let messages: &[Value] = s.case.input.as_ref().map_or(&[], |i| &i.messages);
    let expected = match (expected_text(s.case.expected.as_ref()), &s.case.expected) {
        (Some(t), _) => t.to_string(),
        (None, Some(v)) => v.to_string(),
        (None, None) => String::new(),
    };
    json!({
        "output": s.output.text_or_empty(),
        "input": conversation(messages),
        "messages": messages,
        "expected": expected,
        "variables": s.case.variables.clone().unwrap_or_else(|| json!({})),
        "tool_calls": s.output.tools_json(),
        "refusal": s.output.refusal.clone().unwrap_or_default(),
    })
}

/// Chat messages as text, one `role: content` block each; parts other than text are named.
fn conversation(messages: &[Value]) -> String {
    let mut out = String::new();
    for m in messages {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("?");
        let content = match m.get("content") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(parts)) => parts
                .iter()
                .map(
                    |p| match (p.get("type").and_then(Value::as_str), p.get("text")) {
                        (_, Some(Value::String(t))) => t.clone(),
                        (Some("omitted"), _) => format!(
                            "[{} omitted]",
                            p.get("part").and_then(Value::as_str).unwrap_or("part")
                        ),
                        (Some(t), _) => format!("[{t}]"),
                        (None, _) => "[part]".to_string(),
                    },
                )
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        };
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(role);
        out.push_str(": ");
        out.push_str(&content);
    }
    out
}

/// A rendered prompt as messages: a JSON array of `{"role", "content"}` (promptfoo's
/// `rubricPrompt` form), else one user message.
pub(crate) fn messages_of(prompt: &str) -> Vec<JudgeMessage> {
    let trimmed = prompt.trim();
    if trimmed.starts_with('[')
        && let Ok(Value::Array(items)) = serde_json::from_str::<Value>(trimmed)
    {
        let parsed: Option<Vec<JudgeMessage>> = items
            .iter()
            .map(|m| {
                Some(JudgeMessage::new(
                    m.get("role")?.as_str()?,
                    m.get("content")?.as_str()?,
                ))
            })
            .collect();
        if let Some(ms) = parsed.filter(|ms| !ms.is_empty()) {
            return ms;
        }
    }
    vec![JudgeMessage::new("user", prompt)]
}

/// The JSON object a judge answered: the answer as is, or inside one ``` fence.
pub(crate) fn answer_object(answer: &str) -> Result<Map<String, Value>, String> {
    let t = answer.trim();
    let inner = t
        .strip_prefix("```json")
        .or_else(|| t.strip_prefix("```"))
        .and_then(|r| r.trim_end().strip_suffix("```"))
        .unwrap_or(t)
        .trim();
    match serde_json::from_str::<Value>(inner) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err("the judge answered JSON that is not an object".into()),
        Err(e) => Err(format!(
            "the judge's answer is not JSON ({} characters): {e}",
            answer.chars().count()
        )),
    }
}

/// The judge's `score_key` (a number in 0..1) and `reason` (a string).
pub(crate) fn verdict(answer: &str, score_key: &str) -> Result<(f64, String), String> {
    let o = answer_object(answer)?;
    let score = match o.get(score_key) {
        Some(Value::Number(n)) => n.as_f64().filter(|f| f.is_finite()),
        _ => None,
    }
    .ok_or_else(|| format!("the judge's answer has no number `{score_key}`"))?;
    if !(0.0..=1.0).contains(&score) {
        return Err(format!("the judge's score {score} is outside 0..1"));
    }
    let reason = match o.get("reason") {
        Some(Value::String(r)) => r.clone(),
        _ => return Err("the judge's answer has no string `reason`".into()),
    };
    Ok((score, reason))
}
