//! `seam eval contamination`: stored releases (`--release ID`, `--all`) and JSON-lines files
//! (`--against FILE`, e.g. fine-tuning data) checked against the datasets of `[evals] dir`,
//! by the same guard as `seam release create` (docs/evals.md "Contamination guard").

use crate::cli::StoreArgs;
use seam_control::contamination::{Guard, Report, check_places, places};
use seam_evals::contamination::Place;
use seam_store::{Audit, Releases};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub(crate) struct ContaminationArgs {
    /// A stored release to check (repeatable).
    #[arg(long = "release", value_name = "ID")]
    releases: Vec<String>,
    /// Every stored release (each made through `seam release create` or the API).
    #[arg(long)]
    all: bool,
    /// A JSON-lines file to check, each line's strings as one text (fine-tuning data).
    #[arg(long, value_name = "FILE.jsonl")]
    against: Vec<PathBuf>,
    /// The datasets directory; by default the config's `[evals] dir`.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Output as JSON (one document).
    #[arg(long)]
    json: bool,
}

/// One thing checked: a release or a file, and what was found in it.
struct Checked {
    what: String,
    report: Report,
    allowed: Vec<String>,
}

pub(crate) async fn contamination(
    store_args: &StoreArgs,
    a: ContaminationArgs,
) -> anyhow::Result<()> {
    if a.releases.is_empty() && !a.all && a.against.is_empty() {
        anyhow::bail!(
            "name what to check: --release ID, --all (every stored release) or --against FILE.jsonl"
        );
    }
    let config = if store_args.config.exists() {
        Some(seam_config::load_lenient(&store_args.config)?)
    } else {
        None
    };
    let mut guard = config
        .as_ref()
        .map(|c| Guard::of(&c.evals, None))
        .unwrap_or_default();
    if let Some(d) = a.dir {
        guard.evals_dir = Some(d);
    }
    let dir = guard.evals_dir.clone().ok_or_else(|| {
        anyhow::anyhow!(
            "no datasets to check against: name --dir, or a config (--config) with [evals] dir"
        )
    })?;
    if !dir.is_dir() {
        anyhow::bail!("no datasets directory {}", dir.display());
    }
    let mut checked = Vec::new();
    if a.all || !a.releases.is_empty() {
        let (store, _who) = crate::actor::open_as(store_args).await?;
        let audit = store.list_audit().await?;
        let mut ids = a.releases.clone();
        if a.all {
            ids.extend(
                audit
                    .iter()
                    .filter(|e| e.action == "release.create")
                    .map(|e| e.subject.clone()),
            );
            ids.extend(
                store
                    .current_deploys()
                    .await?
                    .into_iter()
                    .map(|d| d.release_id),
            );
        }
        let mut seen = std::collections::HashSet::new();
        ids.retain(|id| seen.insert(id.clone()));
        for id in ids {
            let release = store.get_release(&id).await?.ok_or_else(|| {
                anyhow::anyhow!("no release `{id}` (see `seam release list NAME`)")
            })?;
            let prompt: seam_prompts::Prompt = serde_json::from_str(&release.content)
                .map_err(|e| anyhow::anyhow!("release {id} has unreadable content: {e}"))?;
            let report = check_places(&places(&prompt), &guard)?;
            let allowed = audit
                .iter()
                .filter(|e| e.action == "release.contamination_allowed" && e.subject == id)
                .map(|e| {
                    let reason = e
                        .after
                        .as_deref()
                        .and_then(|t| serde_json::from_str::<Value>(t).ok())
                        .and_then(|v| v["reason"].as_str().map(str::to_string))
                        .unwrap_or_default();
                    format!("{}: {reason}", e.actor)
                })
                .collect();
            checked.push(Checked {
                what: format!("release {id} of `{}`", release.prompt),
                report,
                allowed,
            });
        }
    }
    for file in &a.against {
        let (lines, mut unread) = file_places(file)?;
        let mut report = check_places(&lines, &guard)?;
        unread.append(&mut report.unread);
        report.unread = unread;
        checked.push(Checked {
            what: format!("file {}", file.display()),
            report,
            allowed: Vec::new(),
        });
    }
    let found: usize = checked.iter().map(|c| c.report.findings.len()).sum();
    let notes = checked
        .first()
        .map(|c| c.report.notes.clone())
        .unwrap_or_default();
    if a.json {
        let items: Vec<Value> = checked
            .iter()
            .map(|c| json!({"checked": c.what, "findings": c.report.findings, "unread": c.report.unread, "allowed": c.allowed}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({"datasets": dir.display().to_string(), "thresholds": {
                "ngram": guard.thresholds.ngram, "share_ngram": guard.thresholds.share_ngram,
                "share": guard.thresholds.share, "jaccard": guard.thresholds.jaccard,
                "min_words": guard.thresholds.min_words},
                "results": items, "notes": notes})
            )?
        );
    } else {
        for c in &checked {
            match c.report.findings.len() {
                0 => println!("{}: clean", c.what),
                n => println!("{}: {n} finding(s)", c.what),
            }
            for a in &c.allowed {
                println!("  made with --allow-contamination by {a}");
            }
            for f in &c.report.findings {
                println!("  {}", f.describe());
            }
            for u in &c.report.unread {
                println!("  not checked against: {u}");
            }
        }
        for n in &notes {
            eprintln!("note: {n}");
        }
    }
    if found > 0 {
        anyhow::bail!(
            "{found} eval case finding(s): the texts above contain cases of {}",
            dir.display()
        );
    }
    Ok(())
}

/// Each line of a JSON-lines file as a place (`FILE:LINE`), its strings joined; a line that
/// is not JSON is checked as text, one not UTF-8 is skipped (said).
fn file_places(file: &Path) -> anyhow::Result<(Vec<Place>, Vec<String>)> {
    let bytes =
        std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let label = format!("{}:{}", file.display(), i + 1);
        let Ok(line) = std::str::from_utf8(raw) else {
            skipped.push(format!("{label}: not UTF-8 text, skipped"));
            continue;
        };
        if line.trim().is_empty() {
            continue;
        }
        let text = match serde_json::from_str::<Value>(line) {
            Ok(v) => {
                let mut parts = Vec::new();
                strings(&v, &mut parts);
                parts.join("\n")
            }
            Err(_) => line.to_string(),
        };
        out.push(Place { label, text });
    }
    Ok((out, skipped))
}

fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Object(o) => o.values().for_each(|i| strings(i, out)),
        _ => {}
    }
}
