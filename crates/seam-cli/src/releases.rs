//! `seam release create|list|approve`, `seam deploy`, `seam rollback`: the rules
//! live in `seam-control`, shared with the `/api/` endpoints.

use crate::cli::StoreArgs;
use crate::format::{table, timestamp};
use serde_json::{Value, json};
use std::path::PathBuf;

/// The prompts directory: `--dir`, else the config's `[prompts] dir`, else ./prompts.
fn prompts_dir(dir: Option<PathBuf>, store: &StoreArgs) -> PathBuf {
    dir.or_else(|| {
        seam_config::load_lenient(&store.config)
            .ok()
            .map(|c| c.prompts_dir)
    })
    .unwrap_or_else(|| PathBuf::from("prompts"))
}

pub async fn create(
    store_args: &StoreArgs,
    name: &str,
    dir: Option<PathBuf>,
    allow_contamination: Option<String>,
    json_out: bool,
) -> anyhow::Result<()> {
    use seam_control::contamination::{Guard, Refusal, create_release};
    let path = seam_prompts::file_of(&prompts_dir(dir, store_args), name)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let prompt = seam_prompts::load_file(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
    // The datasets the release is checked against: the config's `[evals]`, when there is one.
    let guard = if store_args.config.exists() {
        Guard::of(
            &seam_config::load_lenient(&store_args.config)?.evals,
            allow_contamination.clone(),
        )
    } else {
        Guard {
            allow: allow_contamination.clone(),
            ..Guard::default()
        }
    };
    let (store, who) = crate::actor::open_to_act(store_args).await?;
    let (release, new, report) = match create_release(&store, &who, &prompt, &guard).await {
        Ok(made) => made,
        Err(Refusal::Contaminated { message, .. }) => anyhow::bail!("{message}"),
        Err(Refusal::Control(e)) => return Err(e.into()),
    };
    print_guard_notes(&report);
    let allowed = (!report.findings.is_empty()).then_some(allow_contamination);
    if json_out {
        println!(
            "{}",
            json!({"id": release.id, "prompt": release.prompt, "new": new, "model": prompt.model,
                   "contamination": report.findings, "contamination_allowed": allowed.flatten()})
        );
        return Ok(());
    }
    if !report.findings.is_empty() {
        eprintln!(
            "{} contains eval cases, made with --allow-contamination (audited):\n  {}",
            release.id,
            report
                .findings
                .iter()
                .map(|f| f.describe())
                .collect::<Vec<_>>()
                .join("\n  ")
        );
    }
    println!("{}", release.id);
    if new {
        eprintln!(
            "release {} of `{}` (model {}), authored by {}; it needs an owner's approval",
            release.id, release.prompt, prompt.model, who.name
        );
    } else {
        eprintln!(
            "this content is already release {}; nothing new",
            release.id
        );
    }
    Ok(())
}

/// What the contamination guard skipped or checked only in part: the unread files, and a
/// few of the notes (all of them are in `seam eval contamination`).
fn print_guard_notes(report: &seam_control::contamination::Report) {
    for u in &report.unread {
        eprintln!("contamination guard: {u}");
    }
    for n in report.notes.iter().take(3) {
        eprintln!("contamination guard: {n}");
    }
    if report.notes.len() > 3 {
        eprintln!(
            "contamination guard: and {} more such notes",
            report.notes.len() - 3
        );
    }
}

/// Shows what the release changes (its model, tools and owners against the release on
/// production) and, on a terminal without `--yes`, asks before approving.
pub async fn approve(
    store_args: &StoreArgs,
    id: &str,
    yes: bool,
    json_out: bool,
) -> anyhow::Result<()> {
    use std::io::{BufRead, IsTerminal, Write};
    let (store, who) = crate::actor::open_to_act(store_args).await?;
    let release = seam_store::Releases::get_release(&store, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no release `{id}` (see `seam release list NAME`)"))?;
    let changes = seam_control::owners::changes_of(&store, &release).await?;
    let against = changes["against"].as_str().unwrap_or("");
    let text = seam_control::owners::changes_text(&changes);
    eprintln!(
        "{id}: a release of `{}` by {}, model {}",
        release.prompt,
        release.author,
        model_of(&release)
    );
    match (changes.is_null(), text.is_empty()) {
        (true, _) => eprintln!("  the first release of `{}`", release.prompt),
        (false, true) => eprintln!("  against {against}: same model, tools and owners"),
        (false, false) => eprintln!("  against {against}, it CHANGES: {text}"),
    }
    if !yes && !json_out && std::io::stdin().is_terminal() {
        eprint!("approve {id}? [y/N] ");
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            anyhow::bail!("not approved");
        }
    }
    seam_control::approve(&store, &who, id).await?;
    if json_out {
        println!(
            "{}",
            serde_json::json!({"release": id, "prompt": release.prompt, "approved_by": who.name, "changes": changes})
        );
    } else {
        println!("{} approved {id}", who.name);
    }
    Ok(())
}

fn model_of(release: &seam_store::ReleaseRecord) -> String {
    serde_json::from_str::<Value>(&release.content)
        .ok()
        .and_then(|c| c["model"].as_str().map(str::to_string))
        .unwrap_or_else(|| "-".into())
}

/// `[prompts] protected_channels` of the config file, when there is one.
fn protected_channels(store_args: &StoreArgs) -> anyhow::Result<Vec<String>> {
    if !store_args.config.exists() {
        return Ok(vec![seam_control::owners::PRODUCTION.to_string()]);
    }
    Ok(seam_config::load_lenient(&store_args.config)?.protected_channels)
}

/// `[evals] dir` of the config file, when there is one: where a gated deploy's dataset is.
fn evals_dir(store_args: &StoreArgs) -> anyhow::Result<Option<std::path::PathBuf>> {
    if !store_args.config.exists() {
        return Ok(None);
    }
    Ok(Some(
        seam_config::load_lenient(&store_args.config)?.evals.dir,
    ))
}

pub async fn deploy(
    store_args: &StoreArgs,
    target: &str,
    id: &str,
    mode: &str,
    override_gate: Option<String>,
    json_out: bool,
) -> anyhow::Result<()> {
    let mode = seam_control::parse_deploy_mode(mode)?;
    let protected = protected_channels(store_args)?;
    let gate = seam_control::gates::GateCheck {
        evals_dir: evals_dir(store_args)?,
        override_reason: override_gate.clone(),
    };
    let (store, who) = crate::actor::open_to_act(store_args).await?;
    let approvers =
        seam_control::deploy_with(&store, &who, target, id, mode, &protected, &gate).await?;
    if json_out {
        println!(
            "{}",
            serde_json::json!({"target": target, "release": id, "approved_by": approvers, "mode": mode.as_str(), "by": who.name, "gate_overridden": override_gate})
        );
    } else {
        println!(
            "{target} -> {id} (approved by {}; mode {})",
            approvers.join(", "),
            mode.as_str()
        );
    }
    Ok(())
}

pub async fn rollback(
    store_args: &StoreArgs,
    target: &str,
    mode: &str,
    json_out: bool,
) -> anyhow::Result<()> {
    let mode = seam_control::parse_deploy_mode(mode)?;
    let protected = protected_channels(store_args)?;
    let (store, who) = crate::actor::open_to_act(store_args).await?;
    let (from, to) = seam_control::rollback(&store, &who, target, mode, &protected).await?;
    if json_out {
        println!(
            "{}",
            serde_json::json!({"target": target, "release": to, "from": from, "mode": mode.as_str(), "by": who.name})
        );
    } else {
        println!(
            "{target} -> {to} (rolled back from {from}; mode {})",
            mode.as_str()
        );
    }
    Ok(())
}

pub async fn list(store_args: &StoreArgs, name: &str, json_out: bool) -> anyhow::Result<()> {
    let (store, _who) = crate::actor::open_as(store_args).await?;
    let listing = seam_control::releases(&store, name).await?;
    if json_out {
        println!("{}", serde_json::to_string_pretty(&listing)?);
        return Ok(());
    }
    let releases = listing["releases"].as_array().cloned().unwrap_or_default();
    if releases.is_empty() {
        println!("no releases of `{name}` yet: `seam release create {name}`");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = releases
        .iter()
        .map(|r| {
            let list = |k: &str| {
                r[k].as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default()
            };
            vec![
                r["id"].as_str().unwrap_or("").to_string(),
                timestamp(r["created_ms"].as_i64().unwrap_or(0)),
                r["author"].as_str().unwrap_or("").to_string(),
                r["model"].as_str().unwrap_or("").to_string(),
                list("approved_by"),
                list("channels"),
                match seam_control::owners::changes_text(&r["changes"]) {
                    t if t.is_empty() => "-".into(),
                    t => format!(
                        "{t} (vs {})",
                        r["changes"]["against"].as_str().unwrap_or("?")
                    ),
                },
            ]
        })
        .collect();
    println!(
        "{}",
        table(
            &[
                "RELEASE",
                "CREATED (UTC)",
                "AUTHOR",
                "MODEL",
                "APPROVED BY",
                "CHANNELS",
                "CHANGES"
            ],
            &rows
        )
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn release_create_reads_only_files_in_the_prompts_directory() {
        let root = tempfile::tempdir().unwrap();
        let prompts = root.path().join("a/b/prompts");
        std::fs::create_dir_all(&prompts).unwrap();
        std::fs::write(
            root.path().join("x.toml"),
            "name = \"x\"\nowners = [\"ana\"]\nroute = \"chat\"\nmodel = \"m-2026-01\"\n\n[[messages]]\nrole = \"system\"\ncontent = \"hi\"\n",
        )
        .unwrap();
        let args = StoreArgs {
            config: root.path().join("seam.toml"),
            store: Some(format!(
                "sqlite://{}",
                root.path().join("seam.db").display()
            )),
        };
        let err = create(&args, "../../../x", Some(prompts), None, false)
            .await
            .expect_err("a path is not a prompt name");
        assert!(
            err.to_string()
                .contains("prompt `../../../x` is not a valid name"),
            "{err}"
        );
        // The same file, named from its own directory, is a release.
        create(&args, "x", Some(root.path().to_path_buf()), None, true)
            .await
            .expect("a release of x");
    }
}
