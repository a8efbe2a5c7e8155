//! `seam dataset add FILE.jsonl --from-call ID [--trace ID]`: turns captured calls into cases
//! of an eval dataset (docs/datasets.md), appended to a JSON-lines file. Every check (the
//! reader's role, each call's content) is made before the file is opened, and the file is
//! refused rather than appended to when it already holds a case of the same id or a line
//! that is not a case: a refused command leaves the file as it was. `list`, `show` and `diff`
//! read datasets (`read.rs`); `diff DATASET` alone compares one with its newest eval run
//! (`since.rs`).

pub(crate) mod lint;
mod read;
mod since;

pub use read::{diff, list, show};
pub use since::diff_since;

use crate::cli::StoreArgs;
use crate::format::clean;
use anyhow::Context;
use seam_control::Actor;
use seam_control::calls::Content;
use seam_store::{CallRecord, Records};
use serde_json::{Value, json};
use std::io::{BufRead, Write};
use std::path::Path;

/// `seam dataset add`'s arguments.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// The dataset, one case per line (created if missing; its directory must exist).
    pub file: std::path::PathBuf,
    /// A call to add (repeatable).
    #[arg(long = "from-call", value_name = "CALL_ID")]
    pub from_call: Vec<String>,
    /// Every captured call of this trace (calls not captured are skipped and listed).
    #[arg(long, value_name = "TRACE_ID")]
    pub trace: Option<String>,
    /// A tag for the added cases (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Add a call whose content capture cut at `max_bytes` (tagged `truncated`).
    #[arg(long)]
    pub allow_truncated: bool,
    /// Output as JSON: the cases added and the calls skipped.
    #[arg(long)]
    pub json: bool,
}

pub async fn add(store_args: &StoreArgs, args: AddArgs) -> anyhow::Result<()> {
    if args.from_call.is_empty() && args.trace.is_none() {
        anyhow::bail!("name the calls to add: --from-call CALL_ID, --trace TRACE_ID, or both");
    }
    if let Some(t) = args.tags.iter().find(|t| t.trim().is_empty()) {
        anyhow::bail!("--tag `{}`: a tag cannot be empty", clean(t));
    }
    let (store, who) = crate::actor::open_as(store_args).await?;
    let mut calls: Vec<CallRecord> = Vec::new();
    for id in &args.from_call {
        let Some((call, _)) = store.get_call(id).await? else {
            anyhow::bail!(
                "no call `{}` in the store (see `seam calls`); nothing added",
                clean(id)
            );
        };
        who.require_read(
            &call.tenant,
            &format!("adding call {} to a dataset", clean(id)),
        )?;
        push_once(&mut calls, call);
    }
    let mut skipped: Vec<Value> = Vec::new();
    let mut cases: Vec<Value> = Vec::new();
    let mut trace_calls: Vec<String> = Vec::new();
    if let Some(trace) = &args.trace {
        for call in readable_trace(&store, &who, trace).await? {
            trace_calls.push(call.id.clone());
            push_once(&mut calls, call);
        }
    }
    for call in &calls {
        let content = seam_control::calls::content(&store, &call.id).await?;
        match content {
            // A trace's calls are those its policy captured; one named alone must have been.
            None if trace_calls.contains(&call.id) && !args.from_call.contains(&call.id) => {
                skipped.push(json!({"call_id": call.id, "reason": "not captured"}));
            }
            None => anyhow::bail!(
                "call `{}` has no captured content (its route's or tenant's capture policy did not keep it, its trace was not sampled, or it is past retention); nothing added",
                clean(&call.id)
            ),
            Some(content) => cases.push(case_of(call, &content, &args)?),
        }
    }
    if cases.is_empty() {
        anyhow::bail!(
            "trace `{}` has no call with captured content; nothing added",
            clean(args.trace.as_deref().unwrap_or_default())
        );
    }
    append(&args.file, &cases)?;
    if args.json {
        let out = json!({"file": args.file, "added": cases, "skipped": skipped});
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "added {} case(s) to {} (each `expected` is the recorded answer, review pending):",
        cases.len(),
        clean(&args.file.display().to_string())
    );
    for c in &cases {
        println!(
            "  {}  tags: {}",
            clean(c["id"].as_str().unwrap_or_default()),
            clean(&tags_text(&c["tags"]))
        );
    }
    for s in &skipped {
        println!(
            "skipped {}: {}",
            clean(s["call_id"].as_str().unwrap_or_default()),
            s["reason"].as_str().unwrap_or_default()
        );
    }
    Ok(())
}

fn push_once(calls: &mut Vec<CallRecord>, call: CallRecord) {
    if !calls.iter().any(|c| c.id == call.id) {
        calls.push(call);
    }
}

/// The trace's calls the reader may see, oldest first; refused as `seam traces show` is,
/// with the same answer whether the trace does not exist or is another tenant's.
pub(crate) async fn readable_trace(
    store: &(impl Records + ?Sized),
    who: &Actor,
    trace: &str,
) -> anyhow::Result<Vec<CallRecord>> {
    who.read_scope("adding a trace's calls to a dataset")?;
    let (calls, _) = crate::traces::readable(store, who, trace, "; nothing added").await?;
    Ok(calls)
}

/// The case of one captured call, or why it makes none.
fn case_of(call: &CallRecord, content: &Content, args: &AddArgs) -> anyhow::Result<Value> {
    case_of_call(call, content, args.allow_truncated, &args.tags)
}

/// The case of one captured call (also a golden's turn, `seam canary record`), or why it
/// makes none.
pub(crate) fn case_of_call(
    call: &CallRecord,
    content: &Content,
    allow_truncated: bool,
    tags: &[String],
) -> anyhow::Result<Value> {
    let id = clean(&call.id);
    let c = match &content.body {
        Ok(c) => c,
        Err(e) => anyhow::bail!(
            "call `{id}`: its captured content cannot be read ({}); nothing added",
            clean(e)
        ),
    };
    if content.truncated && !allow_truncated {
        anyhow::bail!(
            "call `{id}`: its content was truncated when captured (the policy's max_bytes), so a case would not be the call as made; --allow-truncated adds it anyway, tagged `truncated`; nothing added"
        );
    }
    if c.unparsed.is_some() {
        anyhow::bail!(
            "call `{id}`: its request was not JSON (kept as text), so it has no messages to make a case of; nothing added"
        );
    }
    Ok(seam_control::case_of_call::build(
        call,
        c,
        content.captured_ms,
        content.truncated,
        tags,
    ))
}

fn tags_text(tags: &Value) -> String {
    let tags: Vec<&str> = tags
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if tags.is_empty() {
        "-".into()
    } else {
        tags.join(", ")
    }
}

/// Appends the cases, one line each, in one write to the file locked against other `seam
/// dataset add`s. Refused, with the file untouched, when a case's id is already in it or a
/// line is not a case (a torn last line would glue itself to the first new one). A last
/// line without its line break gets one first. A write that fails is undone.
fn append(path: &Path, cases: &[Value]) -> anyhow::Result<()> {
    let shown = clean(&path.display().to_string()).into_owned();
    let existed = path.exists();
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .with_context(|| format!("cannot open {shown}"))?;
    file.lock()
        .with_context(|| format!("cannot lock {shown}"))?;
    let (ids, ends_open) = existing_ids(&file, &shown)?;
    for c in cases {
        let id = c["id"].as_str().unwrap_or_default();
        if ids.iter().any(|i| i == id) {
            anyhow::bail!("{shown} already has a case `{}`; nothing added", clean(id));
        }
    }
    let mut text = String::new();
    if ends_open {
        text.push('\n');
    }
    for c in cases {
        text.push_str(&serde_json::to_string(c)?);
        text.push('\n');
    }
    let before = file.metadata()?.len();
    if let Err(e) = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
    {
        // Leave no part of a line behind (a file this command created, not at all).
        let undone = file.set_len(before);
        if !existed && before == 0 {
            let _ = std::fs::remove_file(path);
        }
        return Err(e).with_context(|| {
            format!(
                "cannot append to {shown}{}",
                if undone.is_ok() {
                    " (nothing added)"
                } else {
                    " (and cutting it back failed: check its last line)"
                }
            )
        });
    }
    Ok(())
}

/// The ids of the cases in the file, and whether its last line lacks its line break.
fn existing_ids(file: &std::fs::File, shown: &str) -> anyhow::Result<(Vec<String>, bool)> {
    let mut reader = std::io::BufReader::new(file);
    let mut ids = Vec::new();
    let mut line = Vec::new();
    let mut n = 0usize;
    let mut ends_open = false;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("cannot read {shown}"))?;
        if read == 0 {
            break;
        }
        n += 1;
        ends_open = line.last() != Some(&b'\n');
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let id = serde_json::from_slice::<Value>(&line)
            .ok()
            .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_string));
        match id {
            Some(id) => ids.push(id),
            None => anyhow::bail!(
                "{shown} line {n} is not a dataset case (a JSON object with a string `id`){}; fix or remove it; nothing added",
                if ends_open {
                    ", and is the last line: a write cut short?"
                } else {
                    ""
                }
            ),
        }
    }
    Ok((ids, ends_open))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_after_a_last_line_without_its_break_and_refuses_a_torn_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cases.jsonl");
        std::fs::write(&path, "{\"id\": \"a\"}").unwrap();
        append(&path, &[json!({"id": "b"})]).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"id\": \"a\"}\n{\"id\":\"b\"}\n"
        );
        let err = append(&path, &[json!({"id": "a"})]).unwrap_err();
        assert!(err.to_string().contains("already has a case `a`"), "{err}");

        std::fs::write(&path, "{\"id\": \"a\"}\n{\"id\": \"b\", \"inp").unwrap();
        let err = append(&path, &[json!({"id": "c"})]).unwrap_err();
        assert!(
            err.to_string().contains("line 2 is not a dataset case"),
            "{err}"
        );
        assert!(err.to_string().contains("cut short"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"id\": \"a\"}\n{\"id\": \"b\", \"inp"
        );
    }
}
