//! `seam canary record (CALL_ID | TRACE_ID) --name NAME`: a captured call, or every chat call
//! of a trace in order, as a golden file: each turn the dataset case `seam dataset add` makes
//! of the call, its default assertions derived from the recorded answer, and the recording
//! (answer, latency, cost, release, served model) under `metadata.canary`.

use super::golden::{Recorded, TurnMeta, check_name, path_of, with_canary_meta};
use crate::cli::StoreArgs;
use crate::format::clean;
use seam_control::calls::Content;
use seam_evals::canary::{DeriveOptions, default_assertions};
use seam_evals::{Output, ToolCall};
use seam_store::{CallRecord, Records};
use serde_json::{Value, json};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// A call id (`call_...`), or a trace id: every chat call of the trace, oldest first.
    pub id: String,
    /// The golden's name: its file is `[canaries] dir/NAME.jsonl`.
    #[arg(long)]
    pub name: String,
    /// Replace a golden of that name.
    #[arg(long)]
    pub force: bool,
    /// Output as JSON: the file and its turns.
    #[arg(long)]
    pub json: bool,
}

pub async fn record(store_args: &StoreArgs, args: RecordArgs) -> anyhow::Result<()> {
    check_name(&args.name)?;
    let config = super::config(store_args)?;
    let dir = config.canaries.dir.clone();
    let path = path_of(&dir, &args.name);
    if path.exists() && !args.force {
        anyhow::bail!(
            "golden `{}` exists ({}): pass --force to record it again",
            args.name,
            path.display()
        );
    }
    let (store, who) = crate::actor::open_as(store_args).await?;
    let calls: Vec<CallRecord> = match store.get_call(&args.id).await? {
        Some((call, _)) => {
            who.require_read(
                &call.tenant,
                &format!("recording call {} as a golden", clean(&call.id)),
            )?;
            vec![call]
        }
        None => crate::dataset::readable_trace(&store, &who, &args.id)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "`{}` is neither a call nor a readable trace: {e}",
                    clean(&args.id)
                )
            })?,
    };
    let calls: Vec<CallRecord> = calls
        .into_iter()
        .filter(|c| c.endpoint == "chat.completions" || c.endpoint == "messages")
        .collect();
    anyhow::ensure!(
        !calls.is_empty(),
        "`{}` has no chat call to record; nothing written",
        clean(&args.id)
    );
    let options = DeriveOptions {
        embedding_route: config.canaries.embedding_route.clone(),
        ..DeriveOptions::default()
    };
    let mut lines = Vec::with_capacity(calls.len());
    for (i, call) in calls.iter().enumerate() {
        let Some(content) = seam_control::calls::content(&store, &call.id).await? else {
            anyhow::bail!(
                "call `{}` (turn {} of {}) has no captured content: capture was off for route `{}` when it was made (or its trace was not sampled, or the content is past retention), so there is nothing to replay; set `capture = {{ mode = \"full\" }}` on the route and record a new call; nothing written",
                clean(&call.id),
                i + 1,
                calls.len(),
                clean(&call.route)
            );
        };
        lines.push(turn_line(&args.name, i, call, &content, &options)?);
    }
    std::fs::create_dir_all(&dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    std::fs::write(&tmp, &text)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    // It must read back as a golden: what `canary run` will load.
    super::golden::load(&path)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({"golden": args.name, "file": path, "turns": lines})
            )?
        );
        return Ok(());
    }
    println!(
        "recorded golden `{}` ({} turn(s)) in {}",
        args.name,
        lines.len(),
        path.display()
    );
    for l in &lines {
        let kinds: Vec<&str> = l["assert"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["type"].as_str())
            .collect();
        println!(
            "  {}  asserts: {}",
            clean(l["id"].as_str().unwrap_or_default()),
            kinds.join(", ")
        );
    }
    println!("review it, commit it, then: seam canary run {}", args.name);
    Ok(())
}

/// One turn's line: the dataset case of the call, its id and default assertions, and the
/// recording.
fn turn_line(
    name: &str,
    i: usize,
    call: &CallRecord,
    content: &Content,
    options: &DeriveOptions,
) -> anyhow::Result<Value> {
    let mut case = crate::dataset::case_of_call(call, content, false, &["canary".to_string()])?;
    let body = content
        .body
        .as_ref()
        .map_err(|e| anyhow::anyhow!("call `{}`: {e}", clean(&call.id)))?;
    let answer = body.answer.as_ref().ok_or_else(|| {
        anyhow::anyhow!(
            "call `{}` has no answer captured (it failed or its client left): a golden records a working call; nothing written",
            clean(&call.id)
        )
    })?;
    let output = Output {
        text: answer.text.clone(),
        tool_calls: answer
            .tool_calls
            .iter()
            .map(|t| ToolCall {
                id: t.id.clone(),
                name: t.name.clone(),
                arguments: t.arguments.clone(),
            })
            .collect(),
        refusal: answer.refusal.clone(),
        finish_reason: answer.finish_reason.clone(),
        latency_ms: Some(call.latency_ms),
        cost_usd: (!call.unpriced).then_some(call.cost_usd),
    };
    if let Some(o) = case.as_object_mut() {
        o.insert("id".into(), format!("{name}#{}", i + 1).into());
        o.insert("assert".into(), default_assertions(&output, options).into());
    }
    let meta = TurnMeta {
        model: Some(call.requested_model.clone()),
        route: Some(call.route.clone()),
        recorded: Some(Recorded {
            call_id: call.id.clone(),
            recorded_ms: call.created_ms,
            output,
            served_model: call.served_model.clone(),
            release_id: call.release_id.clone(),
        }),
    };
    Ok(with_canary_meta(case, &meta))
}
