//! CSV transcripts: one row per turn with the columns `conversation_id`, `role`, `text` and
//! (optional) `timestamp`, a conversation's rows together. Each conversation becomes an
//! example (its rows ordered by timestamp when every row has one), numbered by its first
//! row's line; `seam dataset convert` writes them as chat-format JSONL.

use crate::example::{self, Example, Message, Problem, Role};
use serde_json::json;
use std::io::{Read, Write};
use std::path::Path;

/// The roles a transcript may use, as chat roles.
fn role(s: &str) -> Option<Role> {
    Some(match s.trim().to_ascii_lowercase().as_str() {
        "user" | "customer" | "client" => Role::User,
        "assistant" | "agent" | "bot" | "support" => Role::Assistant,
        "system" => Role::System,
        "tool" => Role::Tool,
        _ => return None,
    })
}

struct Row {
    line: usize,
    role: String,
    text: String,
    timestamp: String,
}

/// Reads `input`, calling `each` with every conversation as an example and its problems.
/// An error names the line: a missing column, a malformed row, a conversation whose rows
/// are not together.
pub fn read(
    input: impl Read,
    each: &mut dyn FnMut(Example, Vec<Problem>) -> Result<(), String>,
) -> Result<u64, String> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| format!("line 1: the header: {e}"))?
        .clone();
    let col = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.contains(&h.trim().trim_start_matches('\u{feff}')))
    };
    let (Some(id_col), Some(role_col), Some(text_col)) = (
        col(&["conversation_id", "conversation"]),
        col(&["role"]),
        col(&["text", "content"]),
    ) else {
        return Err(format!(
            "line 1: the header needs conversation_id, role and text (and may have timestamp); it has {}",
            headers.iter().collect::<Vec<_>>().join(", ")
        ));
    };
    let ts_col = col(&["timestamp", "time"]);
    let mut seen = std::collections::HashSet::new();
    let mut current: Option<String> = None;
    let mut rows: Vec<Row> = Vec::new();
    let mut count = 0u64;
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            format!("line {line}: {e}")
        })?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let field = |i: usize| record.get(i).unwrap_or("").to_string();
        let id = field(id_col);
        if current.as_deref() != Some(id.as_str()) {
            if let Some(done) = current.take() {
                each_conversation(std::mem::take(&mut rows), each)?;
                seen.insert(done);
            }
            if seen.contains(&id) {
                return Err(format!(
                    "line {line}: conversation `{id}` continues after other conversations: keep a conversation's rows together"
                ));
            }
            current = Some(id);
        }
        rows.push(Row {
            line,
            role: field(role_col),
            text: field(text_col),
            timestamp: ts_col.map(field).unwrap_or_default(),
        });
        count += 1;
    }
    if !rows.is_empty() {
        each_conversation(rows, each)?;
    }
    Ok(count)
}

fn each_conversation(
    mut rows: Vec<Row>,
    each: &mut dyn FnMut(Example, Vec<Problem>) -> Result<(), String>,
) -> Result<(), String> {
    if rows.iter().all(|r| !r.timestamp.is_empty()) {
        // RFC 3339 times of one format sort as text; a stable sort keeps ties in file order.
        rows.sort_by(|a, b| a.timestamp.cmp(&b.timestamp));
    }
    let line = rows.iter().map(|r| r.line).min().unwrap_or(0);
    let mut problems = Vec::new();
    let mut ex = Example {
        line,
        messages: Vec::with_capacity(rows.len()),
    };
    for r in rows {
        let i = ex.messages.len();
        let Some(role) = role(&r.role) else {
            problems.push(Problem {
                rule: example::UNKNOWN_ROLE,
                turn: Some(i),
                detail: format!("line {}: unknown role `{}`", r.line, r.role),
            });
            continue;
        };
        if r.text.trim().is_empty() {
            problems.push(Problem {
                rule: example::MISSING_CONTENT,
                turn: Some(i),
                detail: format!("line {}: no text", r.line),
            });
        }
        ex.messages.push(Message {
            role,
            text: r.text,
            calls: Vec::new(),
            tool_call_id: None,
        });
    }
    if !ex.messages.iter().any(|m| m.role == Role::Assistant) {
        problems.push(Problem {
            rule: example::NO_ASSISTANT,
            turn: None,
            detail: "no assistant turn: nothing to train on".into(),
        });
    }
    each(ex, problems)
}

/// One example as a chat-format JSON line.
pub fn to_jsonl(ex: &Example) -> String {
    let messages: Vec<_> = ex
        .messages
        .iter()
        .map(|m| json!({"role": m.role.as_str(), "content": m.text}))
        .collect();
    let mut line = json!({ "messages": messages }).to_string();
    line.push('\n');
    line
}

/// What `convert` wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Converted {
    pub rows: u64,
    pub examples: u64,
    /// Conversations left out (no assistant turn, an unknown role): line and why.
    pub skipped: Vec<String>,
}

/// `seam dataset convert`: `input` (CSV) to `out` (JSONL), through a temporary file renamed
/// into place when done.
pub fn convert(input: &Path, out: &Path) -> Result<Converted, String> {
    let file =
        std::fs::File::open(input).map_err(|e| format!("cannot read {}: {e}", input.display()))?;
    let dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| format!("cannot create a file in {}: {e}", dir.display()))?;
    let mut w = std::io::BufWriter::new(tmp);
    let mut examples = 0u64;
    let mut skipped = Vec::new();
    let rows = read(std::io::BufReader::new(file), &mut |ex, problems| {
        if let Some(p) = problems.first() {
            skipped.push(format!("line {}: {}", ex.line, p.detail));
            return Ok(());
        }
        examples += 1;
        w.write_all(to_jsonl(&ex).as_bytes())
            .map_err(|e| format!("writing {}: {e}", out.display()))
    })
    .map_err(|e| format!("{}: {e}", input.display()))?;
    let tmp = w
        .into_inner()
        .map_err(|e| format!("writing {}: {}", out.display(), e.error()))?;
    tmp.persist(out)
        .map_err(|e| format!("cannot write {}: {}", out.display(), e.error))?;
    Ok(Converted {
        rows,
        examples,
        skipped,
    })
}
