//! A recorded call as the signals read it: its record's metadata, and from its captured
//! content (when there is any) the last user turn, the tool results it sent and its answer.

use seam_capture::{Content, Message, Part};
use seam_signals::Turn;
use seam_store::CallRecord;
use seam_vocab::Outcome;

/// The [`Turn`] of `call`; `content` is its captured content, `None` when it was not captured
/// or does not decode (the metadata signals still apply).
pub fn turn(call: &CallRecord, content: Option<&Content>) -> Turn {
    let mut t = Turn {
        call_id: call.id.clone(),
        session: call.session_id.clone(),
        trace: call.trace_id.clone(),
        at_ms: call.created_ms,
        request_hash: call.request_hash.clone(),
        outcome: call.outcome.as_str().to_string(),
        client_closed: call.outcome == Outcome::ClientClosed,
        ..Turn::default()
    };
    let Some(c) = content else {
        return t;
    };
    // Only what follows the last user message is this call's own step: a chat's history
    // holds the tool results of earlier questions too.
    let last_user = c.messages.iter().rposition(is_user_text);
    t.user_text = Some(last_user.map(|i| text(&c.messages[i])).unwrap_or_default());
    let after = last_user.map_or(0, |i| i + 1);
    t.tool_results = c.messages[after..]
        .iter()
        .filter(|m| m.role == "tool" || m.role == "function")
        .map(text)
        .collect();
    if let Some(a) = &c.answer {
        t.finish_reason = a.finish_reason.clone();
        t.client_closed |= a.client_closed;
        t.refusal = Some(a.refusal.as_deref().is_some_and(|r| !r.trim().is_empty()));
        t.answer_empty =
            Some(a.text.as_deref().is_none_or(|s| s.trim().is_empty()) && a.tool_calls.is_empty());
        t.tool_calls = a
            .tool_calls
            .iter()
            .map(|tc| (tc.name.clone(), tc.arguments.clone()))
            .collect();
    }
    t
}

/// A user message that carries text; an Anthropic `tool_result` block arrives as a user
/// message without text parts and is a tool step, not a question.
fn is_user_text(m: &Message) -> bool {
    m.role == "user"
        && (m.parts.is_empty() || m.parts.iter().any(|p| matches!(p, Part::Text { .. })))
}

/// A message's text parts, one per line.
pub fn text(m: &Message) -> String {
    let mut out = String::new();
    for p in &m.parts {
        if let Part::Text { text } = p {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(text);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use seam_capture::{Answer, ToolCall};

    fn msg(role: &str, text: &str) -> Message {
        Message {
            role: role.into(),
            parts: vec![Part::Text { text: text.into() }],
            ..Message::default()
        }
    }

    fn call() -> CallRecord {
        serde_json::from_value(serde_json::json!({
            "id": "call_1", "created_ms": 5, "tenant": "t", "key_id": null,
            "trace_id": "tr", "session_id": "s", "endpoint": "chat.completions", "route": "r",
            "stream": false, "requested_model": "r", "provider": null, "served_model": null,
            "system_fingerprint": null, "status": 200, "outcome": "ok", "error_class": null,
            "error_message": null, "attempts": 1, "latency_ms": 1.0, "ttfb_ms": null,
            "input_tokens": 1, "output_tokens": 1, "cost_usd": 0.0, "tokens_estimated": false,
            "budget_exhausted": false, "request_hash": "abc"
        }))
        .expect("a call record")
    }

    #[test]
    fn metadata_only_without_content() {
        let t = turn(&call(), None);
        assert_eq!(t.user_text, None);
        assert_eq!(t.request_hash.as_deref(), Some("abc"));
        assert_eq!(
            (t.session.as_deref(), t.trace.as_deref()),
            (Some("s"), Some("tr"))
        );
        assert_eq!(t.outcome, "ok");
        assert_eq!((t.refusal, t.answer_empty), (None, None));
    }

    #[test]
    fn the_last_user_turn_and_only_the_tool_results_after_it() {
        let c = Content {
            messages: vec![
                msg("system", "be kind"),
                msg("user", "first question"),
                msg("tool", "old result"),
                msg("assistant", "answer"),
                msg("user", "second question"),
                msg("tool", "Error: timeout"),
            ],
            answer: Some(Answer {
                text: Some("  ".into()),
                refusal: Some("I can't help with that".into()),
                tool_calls: vec![ToolCall {
                    id: None,
                    name: "lookup".into(),
                    arguments: "{\"q\":1}".into(),
                }],
                finish_reason: Some("length".into()),
                client_closed: true,
            }),
            ..Content::default()
        };
        let t = turn(&call(), Some(&c));
        assert_eq!(t.user_text.as_deref(), Some("second question"));
        assert_eq!(t.tool_results, vec!["Error: timeout".to_string()]);
        assert_eq!(t.finish_reason.as_deref(), Some("length"));
        assert_eq!(t.refusal, Some(true));
        assert_eq!(t.answer_empty, Some(false), "a tool call is an answer");
        assert!(t.client_closed);
        assert_eq!(
            t.tool_calls,
            vec![("lookup".to_string(), "{\"q\":1}".to_string())]
        );
    }

    #[test]
    fn captured_without_a_user_turn_is_empty_text() {
        let c = Content {
            messages: vec![msg("system", "only a system prompt")],
            answer: Some(Answer::default()),
            ..Content::default()
        };
        let t = turn(&call(), Some(&c));
        assert_eq!(t.user_text.as_deref(), Some(""));
        assert_eq!(t.answer_empty, Some(true));
        assert_eq!(t.refusal, Some(false));
    }
}
