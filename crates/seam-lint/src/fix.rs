//! `--fix`: the cleaned file (lines nothing hit copied byte for byte, hit examples dropped or
//! cut before the hit turn) and a review file saying what was removed and why. Both are
//! written to temporary files beside their targets and renamed into place only when the
//! whole input was read: a failed run leaves no partial file.

use crate::example::Role;
use crate::read::Line;
use crate::rules::{Hit, Rule, Scope, Severity};
use serde_json::{Value, json};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixMode {
    /// Drop every example a rule hit.
    DropExample,
    /// Cut the conversation before the first turn a rule hit (what follows answered it);
    /// drop the example when no assistant turn is left, or when the hit is the example's.
    DropTurn,
}

/// What `--fix` did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct FixSummary {
    pub out: PathBuf,
    pub review: PathBuf,
    pub kept: u64,
    pub cut: u64,
    pub dropped: u64,
}

pub struct Fixer {
    mode: FixMode,
    out: BufWriter<NamedTempFile>,
    review: BufWriter<NamedTempFile>,
    summary: FixSummary,
}

/// `NAME.clean.jsonl` beside `input`.
pub fn default_out(input: &Path) -> PathBuf {
    let stem = input
        .file_stem()
        .map_or_else(|| "dataset".into(), |s| s.to_string_lossy().into_owned());
    input.with_file_name(format!("{stem}.clean.jsonl"))
}

/// The review file beside `out`: `X.clean.jsonl` -> `X.clean.review.jsonl`.
pub fn review_path(out: &Path) -> PathBuf {
    let name = out.file_name().map_or_else(
        || "clean.jsonl".into(),
        |s| s.to_string_lossy().into_owned(),
    );
    let stem = name.strip_suffix(".jsonl").unwrap_or(&name);
    out.with_file_name(format!("{stem}.review.jsonl"))
}

fn temp_beside(path: &Path) -> Result<NamedTempFile, String> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    NamedTempFile::new_in(dir)
        .map_err(|e| format!("cannot create a temporary file in {}: {e}", dir.display()))
}

impl Fixer {
    pub fn new(mode: FixMode, out: &Path) -> Result<Fixer, String> {
        let review = review_path(out);
        Ok(Fixer {
            mode,
            out: BufWriter::new(temp_beside(out)?),
            review: BufWriter::new(temp_beside(&review)?),
            summary: FixSummary {
                out: out.to_path_buf(),
                review,
                ..FixSummary::default()
            },
        })
    }

    /// Writes `line` (with its `hits`) to the cleaned file as it should be.
    pub fn line(&mut self, line: &Line, hits: &[Hit], rules: &[Rule]) -> Result<(), String> {
        let fixable: Vec<&Hit> = hits
            .iter()
            .filter(|h| {
                let r = &rules[h.rule];
                r.severity != Severity::Info && r.scope != Scope::Dataset
            })
            .collect();
        if fixable.is_empty() {
            self.summary.kept += u64::from(!line.is_blank());
            return self.write_out(&line.raw);
        }
        let whole = fixable
            .iter()
            .any(|h| h.turn.is_none() || rules[h.rule].scope == Scope::Example);
        let cut_at = fixable.iter().filter_map(|h| h.turn).min().unwrap_or(0);
        let reasons: Vec<Value> = fixable
            .iter()
            .map(|h| json!({"rule": rules[h.rule].id, "turn": h.turn, "span": h.span}))
            .collect();
        let value: Option<Value> = serde_json::from_slice(line.content()).ok();
        if self.mode == FixMode::DropTurn
            && !whole
            && let Some(mut value) = value.clone()
            && let Some(removed) = cut(&mut value, cut_at)
        {
            let mut text = serde_json::to_vec(&value).map_err(|e| e.to_string())?;
            text.extend_from_slice(line_end(line));
            self.write_out(&text)?;
            self.summary.cut += 1;
            return self.write_review(json!({
                "line": line.number, "action": "drop-turn", "from_message": cut_at,
                "reasons": reasons, "removed": removed,
            }));
        }
        self.summary.dropped += 1;
        let removed = value
            .unwrap_or_else(|| Value::String(String::from_utf8_lossy(line.content()).into_owned()));
        self.write_review(json!({
            "line": line.number, "action": "drop-example", "reasons": reasons, "removed": removed,
        }))
    }

    fn write_out(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.out
            .write_all(bytes)
            .map_err(|e| format!("writing {}: {e}", self.summary.out.display()))
    }

    fn write_review(&mut self, record: Value) -> Result<(), String> {
        let mut text = record.to_string();
        text.push('\n');
        self.review
            .write_all(text.as_bytes())
            .map_err(|e| format!("writing {}: {e}", self.summary.review.display()))
    }

    /// Renames both files into place.
    pub fn finish(self) -> Result<FixSummary, String> {
        let summary = self.summary;
        for (w, path) in [(self.review, &summary.review), (self.out, &summary.out)] {
            let file = w
                .into_inner()
                .map_err(|e| format!("writing {}: {}", path.display(), e.error()))?;
            file.persist(path)
                .map_err(|e| format!("cannot write {}: {}", path.display(), e.error))?;
        }
        Ok(summary)
    }
}

/// The line end the line had (none for a last line without one).
fn line_end(line: &Line) -> &'static [u8] {
    match (line.terminated, line.raw.ends_with(b"\r\n")) {
        (false, _) => b"",
        (true, true) => b"\r\n",
        (true, false) => b"\n",
    }
}

/// Cuts `messages` before `at`, then drops what trails the last assistant turn without a
/// tool call; the messages removed, or `None` when no assistant turn would be left.
fn cut(value: &mut Value, at: usize) -> Option<Value> {
    let messages = value.get_mut("messages")?.as_array_mut()?;
    let mut keep = at.min(messages.len());
    while keep > 0 {
        let m = &messages[keep - 1];
        let assistant = m.get("role").and_then(Value::as_str) == Some(Role::Assistant.as_str());
        let calls = m.get("tool_calls").is_some_and(|c| !c.is_null())
            || m.get("function_call").is_some_and(|c| !c.is_null());
        if assistant && !calls {
            break;
        }
        keep -= 1;
    }
    if keep == 0 {
        return None;
    }
    Some(Value::Array(messages.split_off(keep)))
}
