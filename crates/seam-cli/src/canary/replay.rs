//! One replay of a golden, turn by turn, through the gateway as canary traffic: each turn
//! sends its recorded messages with the earlier turns' answers replaced by what the model
//! answers now, and the tool results the golden recorded fed back to the tool calls made now.
//! When the model no longer makes a call whose result the golden recorded, the conversation
//! cannot go on: the rest of the turns are not replayed, and that is a failure.

use super::golden::{Golden, Turn};
use crate::eval::client::Gateway;
use seam_evals::graders::Grader;
use seam_evals::{Outcome, Output};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// The seed sent with every replay, where the provider accepts one.
pub const SEED: u64 = 20_260_304;

/// One turn of one replay.
#[derive(Debug, Clone, Serialize)]
pub struct TurnReplay {
    pub case_id: String,
    pub outcome: Outcome,
    /// Why it failed or errored: the failing assertions' reasons, or the call's error.
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Output>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub served_model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
}

/// One replay of the whole golden.
#[derive(Debug, Clone, Serialize)]
pub struct Replay {
    pub outcome: Outcome,
    pub turns: Vec<TurnReplay>,
    /// Why turns after a divergence were not replayed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

pub struct Replayer<'a> {
    pub gateway: &'a Gateway,
    pub grader: Grader<'a>,
    pub config: &'a seam_config::Config,
}

impl Replayer<'_> {
    pub async fn replay(&self, golden: &Golden) -> Replay {
        let mut turns: Vec<TurnReplay> = Vec::new();
        // What the previous turn sent, and what it was answered now.
        let mut sent: Option<(Vec<Value>, Vec<Value>, Output)> = None;
        let mut stopped = None;
        for turn in &golden.turns {
            let recorded = recorded_messages(turn);
            let messages = match &sent {
                Some((prev_recorded, prev_sent, answer)) => {
                    match chain(prev_recorded, prev_sent, answer, &recorded) {
                        Ok(m) => m,
                        Err(why) => {
                            stopped = Some(format!("turn {}: {why}", turn.case.id));
                            break;
                        }
                    }
                }
                None => recorded.clone(),
            };
            let body = body(turn, &messages);
            let answer = self.gateway.chat(&body).await;
            let cost = answer
                .served_model
                .as_deref()
                .and_then(|m| self.config.price(m))
                .map(|p| p.cost(answer.input_tokens, answer.output_tokens));
            let mut t = TurnReplay {
                case_id: turn.case.id.clone(),
                outcome: Outcome::Error,
                reason: String::new(),
                output: None,
                call_id: answer.call_id,
                served_model: answer.served_model,
                release: answer.release,
            };
            match answer.output {
                Err(e) => {
                    t.reason = e;
                    turns.push(t);
                    stopped = Some(format!(
                        "turn {}: the call failed, so the conversation cannot go on",
                        turn.case.id
                    ));
                    break;
                }
                Ok(mut output) => {
                    output.latency_ms = Some(answer.latency_ms);
                    output.cost_usd = cost;
                    let g = self.grader.grade_case(&turn.case, &output).await;
                    // A check that fails is a failure even when another could not be measured
                    // (an unpriced model's cost): the case's own rule would call it an error.
                    t.outcome = if g
                        .grades
                        .iter()
                        .any(|x| x.outcome == Outcome::Fail && x.weight > 0.0)
                    {
                        Outcome::Fail
                    } else {
                        g.outcome
                    };
                    t.reason = if g.outcome == Outcome::Pass {
                        String::new()
                    } else {
                        let failing: Vec<String> = g
                            .grades
                            .iter()
                            .filter(|x| x.outcome != Outcome::Pass)
                            .map(|x| format!("{}: {}", x.assertion, x.reason))
                            .collect();
                        if failing.is_empty() {
                            g.reason
                        } else {
                            failing.join("; ")
                        }
                    };
                    sent = Some((recorded, messages, output.clone()));
                    t.output = Some(output);
                    turns.push(t);
                }
            }
        }
        let outcome = if turns.iter().any(|t| t.outcome == Outcome::Error) {
            Outcome::Error
        } else if stopped.is_some() || turns.iter().any(|t| t.outcome == Outcome::Fail) {
            Outcome::Fail
        } else {
            Outcome::Pass
        };
        Replay {
            outcome,
            turns,
            stopped,
        }
    }
}

fn recorded_messages(turn: &Turn) -> Vec<Value> {
    turn.case
        .input
        .as_ref()
        .map(|i| i.messages.clone())
        .unwrap_or_default()
}

/// The turn's chat body: its messages and tools to what it calls, at temperature 0 with a
/// fixed seed (a release's own params win over them on a `prompt:` call).
pub fn body(turn: &Turn, messages: &[Value]) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), turn.model.clone().into());
    body.insert("messages".into(), messages.to_vec().into());
    if let Some(input) = &turn.case.input
        && !input.tools.is_empty()
    {
        body.insert("tools".into(), input.tools.clone().into());
    }
    if turn.model.starts_with("prompt:")
        && let Some(v) = &turn.case.variables
    {
        body.insert("seam_variables".into(), v.clone());
    }
    body.insert("temperature".into(), 0.into());
    body.insert("seed".into(), SEED.into());
    Value::Object(body)
}

/// An answer as the assistant turn a client sends back.
pub fn assistant_message(o: &Output, turn_index: usize) -> Value {
    let mut m = Map::new();
    m.insert("role".into(), "assistant".into());
    m.insert(
        "content".into(),
        o.text.clone().map(Value::from).unwrap_or(Value::Null),
    );
    if !o.tool_calls.is_empty() {
        let calls: Vec<Value> = o
            .tool_calls
            .iter()
            .enumerate()
            .map(|(j, c)| {
                json!({"id": c.id.clone().unwrap_or_else(|| format!("call_replay_{turn_index}_{j}")),
                       "type": "function",
                       "function": {"name": c.name, "arguments": c.arguments}})
            })
            .collect();
        m.insert("tool_calls".into(), calls.into());
    }
    Value::Object(m)
}

/// The messages of the next turn: its recorded messages, where they continue the previous
/// turn's (its messages, then its answer), with the previous turn as sent now and answered
/// now, and each recorded tool result given to the call made now of the same tool (in
/// order). A turn that does not continue the previous one is sent as recorded.
pub fn chain(
    prev_recorded: &[Value],
    prev_sent: &[Value],
    answer: &Output,
    next_recorded: &[Value],
) -> Result<Vec<Value>, String> {
    let n = prev_recorded.len();
    let continues = next_recorded.len() > n
        && next_recorded[..n] == *prev_recorded
        && next_recorded[n]["role"] == "assistant";
    if !continues {
        return Ok(next_recorded.to_vec());
    }
    let recorded_answer = &next_recorded[n];
    let now = assistant_message(answer, n);
    // Recorded tool call id -> the id of the call made now of the same tool.
    let recorded_calls = calls_of(recorded_answer);
    let now_calls = calls_of(&now);
    let mut used = vec![false; now_calls.len()];
    let mut out: Vec<Value> = prev_sent.to_vec();
    out.push(now);
    for m in &next_recorded[n + 1..] {
        let mut m = m.clone();
        if m["role"] == "tool" {
            let id = m["tool_call_id"].as_str().unwrap_or_default().to_string();
            let name = recorded_calls
                .iter()
                .find(|(rid, _)| *rid == id)
                .map(|(_, name)| name.clone())
                .unwrap_or_default();
            let Some(j) = now_calls
                .iter()
                .enumerate()
                .position(|(j, (_, n))| !used[j] && *n == name)
            else {
                let made: Vec<&str> = now_calls.iter().map(|(_, n)| n.as_str()).collect();
                return Err(format!(
                    "the golden feeds back a result of `{name}`, and the model did not call it now (it called: {}); the turns after it are not replayed",
                    if made.is_empty() {
                        "no tool".to_string()
                    } else {
                        made.join(", ")
                    }
                ));
            };
            used[j] = true;
            m["tool_call_id"] = now_calls[j].0.clone().into();
        }
        out.push(m);
    }
    Ok(out)
}

/// An assistant message's tool calls as (id, name).
fn calls_of(message: &Value) -> Vec<(String, String)> {
    message["tool_calls"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["id"].as_str().unwrap_or_default().to_string(),
                c["function"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use seam_evals::ToolCall;

    fn call(id: &str, name: &str) -> Value {
        json!({"id": id, "type": "function", "function": {"name": name, "arguments": "{}"}})
    }

    #[test]
    fn a_tool_result_goes_to_the_call_made_now() {
        let user = json!({"role": "user", "content": "find invoice 42"});
        let first = vec![user.clone()];
        let second = vec![
            user.clone(),
            json!({"role": "assistant", "content": null, "tool_calls": [call("call_rec", "lookup_invoice")]}),
            json!({"role": "tool", "tool_call_id": "call_rec", "content": "{\"total\": 10}"}),
        ];
        let now = Output {
            tool_calls: vec![ToolCall {
                id: Some("call_now".into()),
                name: "lookup_invoice".into(),
                arguments: "{\"id\":\"42\"}".into(),
            }],
            ..Output::default()
        };
        let sent = chain(&first, &first, &now, &second).unwrap();
        assert_eq!(sent.len(), 3);
        assert_eq!(sent[1]["tool_calls"][0]["id"], "call_now");
        assert_eq!(
            sent[1]["tool_calls"][0]["function"]["arguments"],
            "{\"id\":\"42\"}"
        );
        assert_eq!(sent[2]["tool_call_id"], "call_now");
        assert_eq!(sent[2]["content"], "{\"total\": 10}");

        // The tool was renamed under the golden: its result has no call to go to.
        let renamed = Output {
            tool_calls: vec![ToolCall {
                id: Some("call_now".into()),
                name: "find_invoice".into(),
                arguments: "{}".into(),
            }],
            ..Output::default()
        };
        let err = chain(&first, &first, &renamed, &second).unwrap_err();
        assert!(
            err.contains("`lookup_invoice`") && err.contains("find_invoice"),
            "{err}"
        );
    }

    #[test]
    fn a_turn_that_does_not_continue_the_last_is_sent_as_recorded() {
        let a = vec![json!({"role": "user", "content": "a"})];
        let b = vec![json!({"role": "user", "content": "b"})];
        assert_eq!(chain(&a, &a, &Output::default(), &b).unwrap(), b);
    }
}
