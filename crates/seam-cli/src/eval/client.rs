//! The gateway as an eval run calls it: each case's chat call, and the judge and embedding
//! calls of the model graders ([`seam_evals::Backend`]), all marked as eval traffic.

use seam_evals::{Backend, BackendError, JudgeRequest, Output, ToolCall};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The header that marks a call as eval traffic: the gateway records it as the call's
/// `purpose`, reports it apart (`seam report usage`), keeps it outside cost limits unless
/// `[evals] count_in_budgets`, and only with it serves `model: "release:ID"`.
pub const PURPOSE_HEADER: &str = "x-seam-purpose";
pub const PURPOSE: &str = "eval";

/// How long one call may take before its case is an `error`.
const CALL_TIMEOUT: Duration = Duration::from_secs(300);
/// How much of an error body a reason keeps.
const MAX_ERROR: usize = 300;

pub struct Gateway {
    pub client: reqwest::Client,
    /// What the calls are for (`x-seam-purpose`): `eval`, or `canary` for a canary's replay.
    pub purpose: &'static str,
    /// The base URL, without a trailing slash.
    pub base: String,
    pub key: Option<String>,
}

/// What a case's call gave: the answer (or why there is none), and what the gateway said of it.
pub struct Answer {
    pub output: Result<Output, String>,
    pub call_id: Option<String>,
    pub served_model: Option<String>,
    /// The release a `prompt:` call was served from (`x-seam-release`).
    pub release: Option<String>,
    pub latency_ms: f64,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl Gateway {
    pub fn new(base: &str, key: Option<String>) -> anyhow::Result<Gateway> {
        let client = seam_gateway::outbound::http_client(Duration::from_secs(5))
            .map_err(anyhow::Error::msg)?;
        Ok(Gateway {
            client,
            purpose: PURPOSE,
            base: base.trim_end_matches('/').to_string(),
            key,
        })
    }

    async fn post(&self, path: &str, body: &Value) -> Result<reqwest::Response, String> {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header(PURPOSE_HEADER, self.purpose)
            .timeout(CALL_TIMEOUT)
            .json(body);
        if let Some(k) = &self.key {
            req = req.bearer_auth(k);
        }
        req.send()
            .await
            .map_err(|e| format!("the gateway did not answer: {e}"))
    }

    /// One chat call; a failed call is an answer whose output is the reason.
    pub async fn chat(&self, body: &Value) -> Answer {
        let started = Instant::now();
        let resp = self.post("/v1/chat/completions", body).await;
        let mut answer = Answer {
            output: Err(String::new()),
            call_id: None,
            served_model: None,
            release: None,
            latency_ms: 0.0,
            input_tokens: 0,
            output_tokens: 0,
        };
        let resp = match resp {
            Ok(r) => r,
            Err(e) => {
                answer.output = Err(e);
                answer.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
                return answer;
            }
        };
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        answer.call_id = header("x-seam-call-id");
        answer.served_model = header("x-seam-served-model");
        answer.release = header("x-seam-release");
        let status = resp.status();
        let text = resp.text().await;
        answer.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        answer.output = match text {
            Err(e) => Err(format!("reading the gateway's answer: {e}")),
            Ok(t) if !status.is_success() => Err(format!(
                "the gateway answered {status}: {}",
                error_message(&t)
            )),
            Ok(t) => match serde_json::from_str::<Value>(&t) {
                Ok(v) => {
                    answer.input_tokens = v["usage"]["prompt_tokens"].as_u64().unwrap_or(0);
                    answer.output_tokens = v["usage"]["completion_tokens"].as_u64().unwrap_or(0);
                    Ok(output_of(&v))
                }
                Err(e) => Err(format!("the gateway's answer is not JSON: {e}")),
            },
        };
        answer
    }
}

/// An OpenAI error body's message, else the start of the body.
fn error_message(body: &str) -> String {
    let msg = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| body.to_string());
    let mut end = msg.len().min(MAX_ERROR);
    while !msg.is_char_boundary(end) {
        end -= 1;
    }
    msg[..end].to_string()
}

/// The first choice of a chat completion as a grader reads it.
fn output_of(v: &Value) -> Output {
    let choice = &v["choices"][0];
    let message = &choice["message"];
    let tool_calls = message["tool_calls"]
        .as_array()
        .map(|calls| {
            calls
                .iter()
                .filter_map(|c| {
                    Some(ToolCall {
                        id: c["id"].as_str().map(str::to_string),
                        name: c["function"]["name"].as_str()?.to_string(),
                        arguments: c["function"]["arguments"]
                            .as_str()
                            .unwrap_or("{}")
                            .to_string(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Output {
        text: message["content"].as_str().map(str::to_string),
        tool_calls,
        refusal: message["refusal"].as_str().map(str::to_string),
        finish_reason: choice["finish_reason"].as_str().map(str::to_string),
        latency_ms: None,
        cost_usd: None,
    }
}

#[async_trait::async_trait]
impl Backend for Gateway {
    async fn embed(&self, route: &str, texts: &[String]) -> Result<Vec<Vec<f32>>, BackendError> {
        let resp = self
            .post("/v1/embeddings", &json!({"model": route, "input": texts}))
            .await
            .map_err(BackendError)?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| BackendError(format!("reading the embeddings: {e}")))?;
        if !status.is_success() {
            return Err(BackendError(format!(
                "embedding route `{route}` answered {status}: {}",
                error_message(&text)
            )));
        }
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| BackendError(format!("the embeddings are not JSON: {e}")))?;
        let data = v["data"]
            .as_array()
            .ok_or_else(|| BackendError("the embeddings answer has no `data`".into()))?;
        let vectors: Vec<Vec<f32>> = data
            .iter()
            .map(|d| {
                d["embedding"]
                    .as_array()
                    .map(|e| {
                        e.iter()
                            .filter_map(Value::as_f64)
                            .map(|x| x as f32)
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .collect();
        if vectors.len() != texts.len() || vectors.iter().any(Vec::is_empty) {
            return Err(BackendError(format!(
                "embedding route `{route}` gave {} embeddings for {} texts",
                vectors.len(),
                texts.len()
            )));
        }
        Ok(vectors)
    }

    async fn judge(&self, request: &JudgeRequest) -> Result<String, BackendError> {
        let mut body = json!({"model": request.route, "messages": request.messages});
        if let Some(obj) = body.as_object_mut() {
            for (k, v) in &request.params {
                obj.insert(k.clone(), v.clone());
            }
        }
        let answer = self.chat(&body).await;
        match answer.output {
            Ok(o) => o.text.ok_or_else(|| {
                BackendError(format!("judge route `{}` answered no text", request.route))
            }),
            Err(e) => Err(BackendError(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chat_completion_reads_as_an_output() {
        let v = json!({"choices": [{"finish_reason": "tool_calls", "message": {
            "content": null,
            "tool_calls": [{"id": "c1", "type": "function",
                "function": {"name": "refund", "arguments": "{\"id\":1}"}}]}}]});
        let o = output_of(&v);
        assert_eq!(o.text, None);
        assert_eq!(o.tool_calls[0].name, "refund");
        assert_eq!(o.finish_reason.as_deref(), Some("tool_calls"));
    }

    #[test]
    fn error_messages_are_cut_on_a_char_boundary() {
        let body = json!({"error": {"message": "é".repeat(400)}}).to_string();
        let m = error_message(&body);
        assert!(m.len() <= MAX_ERROR && m.chars().all(|c| c == 'é'));
    }
}
