//! Captured content as text, for `seam calls show` and `seam traces show --content`: the
//! messages by role, the tools offered, the answer and how it ended, and what capture did to
//! it (truncated, redactions per kind). Every line of it was written by a client or a model:
//! each is cleaned for the terminal, and a text's own line breaks become indented lines.

use crate::format::{clean, timestamp};
use seam_capture::{Answer, Message, Part, ToolCall};
use seam_control::calls::Content;
use std::fmt::Write;

/// The content section, starting with a blank line; "content: not captured" without one.
pub fn section(content: Option<&Content>) -> String {
    let Some(content) = content else {
        return "\ncontent: not captured\n".into();
    };
    let c = match &content.body {
        Ok(c) => c,
        Err(e) => {
            return format!(
                "\ncontent: unreadable ({}; captured {} UTC, {} bytes)\n",
                clean(e),
                timestamp(content.captured_ms),
                content.bytes
            );
        }
    };
    let mut out = String::from("\ncontent:\n");
    let field = |out: &mut String, k: &str, v: &str| {
        let _ = writeln!(out, "{k:<20}{}", clean(v));
    };
    field(
        &mut out,
        "captured",
        &format!(
            "{} UTC, {} bytes",
            timestamp(content.captured_ms),
            content.bytes
        ),
    );
    field(
        &mut out,
        "truncated",
        if content.truncated {
            "yes (text cut at the policy's max_bytes)"
        } else {
            "no"
        },
    );
    let redactions: Vec<String> = c
        .redactions
        .iter()
        .map(|(kind, n)| format!("{} {n}", kind.as_str()))
        .collect();
    field(
        &mut out,
        "redactions",
        &if redactions.is_empty() {
            "none".to_string()
        } else {
            redactions.join(", ")
        },
    );
    if let Some(r) = &c.release {
        field(&mut out, "release", r);
    }
    if let Some(v) = &c.variables {
        field(&mut out, "variables", v);
    }
    if !c.tools.is_empty() {
        out.push_str("tools offered:\n");
        for t in &c.tools {
            let _ = writeln!(
                out,
                "  {}{}",
                clean(&t.name),
                t.description
                    .as_deref()
                    .map(|d| format!(": {}", clean(d)))
                    .unwrap_or_default()
            );
            if let Some(p) = &t.parameters {
                let _ = writeln!(out, "    parameters {}", clean(p));
            }
        }
    }
    if let Some(body) = &c.unparsed {
        out.push_str("request (not JSON, kept as text):\n");
        lines(&mut out, body, "    ");
    }
    if !c.messages.is_empty() {
        out.push_str("messages:\n");
        for m in &c.messages {
            message(&mut out, m);
        }
    }
    match &c.answer {
        Some(a) => answer(&mut out, a),
        None => out.push_str("answer              none (the call ended without one)\n"),
    }
    out
}

fn message(out: &mut String, m: &Message) {
    let mut head = format!("  {}", clean(&m.role));
    if let Some(n) = &m.name {
        let _ = write!(head, " ({})", clean(n));
    }
    if let Some(id) = &m.tool_call_id {
        let _ = write!(head, " for tool call {}", clean(id));
    }
    let _ = writeln!(out, "{head}:");
    if m.parts.is_empty() && m.tool_calls.is_empty() {
        out.push_str("    (no content)\n");
    }
    for p in &m.parts {
        match p {
            Part::Text { text } => lines(out, text, "    "),
            Part::Blob(b) => {
                let _ = writeln!(
                    out,
                    "    [{}{}, {} bytes, sha256 {}: not kept]",
                    clean(&b.kind),
                    b.media
                        .as_deref()
                        .map(|m| format!(" {}", clean(m)))
                        .unwrap_or_default(),
                    b.bytes,
                    clean(&b.sha256)
                );
            }
        }
    }
    tool_calls(out, &m.tool_calls);
}

fn answer(out: &mut String, a: &Answer) {
    out.push_str("answer:\n");
    if let Some(t) = &a.text {
        lines(out, t, "    ");
    }
    if let Some(r) = &a.refusal {
        out.push_str("    refusal:\n");
        lines(out, r, "      ");
    }
    tool_calls(out, &a.tool_calls);
    if a.text.is_none() && a.refusal.is_none() && a.tool_calls.is_empty() {
        out.push_str("    (empty)\n");
    }
    let _ = writeln!(
        out,
        "{:<20}{}",
        "finish reason",
        clean(a.finish_reason.as_deref().unwrap_or("-"))
    );
    let _ = writeln!(
        out,
        "{:<20}{}",
        "client closed",
        if a.client_closed {
            "yes (the answer is the part the client was sent)"
        } else {
            "no"
        }
    );
}

fn tool_calls(out: &mut String, calls: &[ToolCall]) {
    for c in calls {
        let _ = writeln!(
            out,
            "    tool call {}{}: {}",
            clean(&c.name),
            c.id.as_deref()
                .map(|id| format!(" ({})", clean(id)))
                .unwrap_or_default(),
            clean(&c.arguments)
        );
    }
}

/// `text`'s lines, each cleaned and indented; an empty text as `(empty)`.
fn lines(out: &mut String, text: &str, indent: &str) {
    if text.is_empty() {
        let _ = writeln!(out, "{indent}(empty)");
        return;
    }
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let _ = writeln!(out, "{indent}{}", clean(line));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A client's text that would forge a line and recolour the terminal.
    const EVIL: &str = "hi\r\n2026-01-01 00:00:00  INFO forged\u{1b}[31m\u{1b}[2J";

    #[test]
    fn what_clients_and_models_wrote_is_escaped_line_by_line() {
        let mut c = seam_capture::Content::from_request(&json!({
            "messages": [{"role": EVIL, "name": EVIL, "content": EVIL}],
            "tools": [{"type": "function", "function": {"name": EVIL, "description": EVIL}}],
        }));
        c.answer = Some(seam_capture::Answer::from_response(&json!({"choices": [{
            "finish_reason": EVIL,
            "message": {"content": EVIL, "refusal": EVIL, "tool_calls": [
                {"id": EVIL, "function": {"name": EVIL, "arguments": EVIL}}]}}]})));
        let out = section(Some(&Content {
            captured_ms: 0,
            bytes: 1,
            truncated: false,
            body: Ok(c),
        }));
        assert!(!out.contains('\u{1b}'), "{out:?}");
        assert!(!out.contains('\r'), "{out:?}");
        // A text's own line break starts an indented line, never one of its choosing.
        assert!(!out.lines().any(|l| l.starts_with("2026")), "{out}");
        assert!(
            out.lines()
                .any(|l| l == "    2026-01-01 00:00:00  INFO forged\\u{1b}[31m\\u{1b}[2J"),
            "{out}"
        );
        let unreadable = section(Some(&Content {
            captured_ms: 0,
            bytes: 1,
            truncated: false,
            body: Err(EVIL.into()),
        }));
        assert_eq!(unreadable.lines().count(), 2, "{unreadable}");
    }
}
