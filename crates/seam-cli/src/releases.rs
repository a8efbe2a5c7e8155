//! `seam release create|approve`, `seam deploy`, `seam rollback`, `seam releases`: a prompt
//! reaches a channel only as an immutable release approved by an owner who did not author it.

use crate::cli::StoreArgs;
use crate::format::{table, timestamp};
use seam_store::{ApprovalRecord, DeployRecord, EventRecord, ReleaseRecord, SqlStore, Store};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
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

async fn record(
    store: &SqlStore,
    actor: &str,
    action: &str,
    subject: &str,
    after: Value,
    prompt: &str,
) -> anyhow::Result<()> {
    let now = seam_gateway::now_ms();
    store
        .append_audit(actor, action, subject, None, Some(after.to_string()), now)
        .await?;
    store
        .insert_event(&EventRecord {
            id: format!(
                "evt_{}_{}",
                now,
                &subject[subject.len().saturating_sub(8)..]
            ),
            created_ms: now,
            kind: action.replace('.', "_"),
            route: None,
            provider: None,
            message: format!("{actor}: {action} {subject} ({prompt})"),
            details: json!({"actor": actor, "prompt": prompt, "subject": subject, "after": after})
                .to_string(),
        })
        .await?;
    Ok(())
}

fn owners(release: &ReleaseRecord) -> Vec<String> {
    serde_json::from_str::<Value>(&release.content)
        .ok()
        .and_then(|c| c.get("owners").cloned())
        .and_then(|o| serde_json::from_value(o).ok())
        .unwrap_or_default()
}

pub async fn create(
    store_args: &StoreArgs,
    name: &str,
    dir: Option<PathBuf>,
    json_out: bool,
) -> anyhow::Result<()> {
    let dir = prompts_dir(dir, store_args);
    let path = dir.join(format!("{name}.toml"));
    let prompt = seam_prompts::load_file(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let errors: Vec<String> = seam_prompts::lint(&prompt)
        .into_iter()
        .filter(|f| f.severity == seam_prompts::Severity::Error)
        .map(|f| format!("{}: {}", f.key, f.message))
        .collect();
    if !errors.is_empty() {
        anyhow::bail!(
            "{} does not lint clean, no release:\n  {}",
            path.display(),
            errors.join("\n  ")
        );
    }
    let store = store_args.open().await?;
    let who = crate::users::actor(&store).await?;
    // The content is everything that shapes model behaviour; the same content is the same release.
    let content = serde_json::to_string(&prompt)?;
    let id = format!(
        "rel_{}",
        &hex::encode(Sha256::digest(content.as_bytes()))[..16]
    );
    let release = ReleaseRecord {
        id: id.clone(),
        prompt: prompt.name.clone(),
        content,
        author: who.name.clone(),
        created_ms: seam_gateway::now_ms(),
    };
    let new = store.insert_release(&release).await?;
    if new {
        record(
            &store,
            &who.name,
            "release.create",
            &id,
            json!({"model": prompt.model}),
            &prompt.name,
        )
        .await?;
    }
    if json_out {
        println!(
            "{}",
            json!({"id": id, "prompt": prompt.name, "new": new, "model": prompt.model})
        );
    } else if new {
        println!("{id}");
        eprintln!(
            "release {id} of `{}` (model {}), authored by {}; it needs an owner's approval",
            prompt.name, prompt.model, who.name
        );
    } else {
        println!("{id}");
        eprintln!("this content is already release {id}; nothing new");
    }
    Ok(())
}

pub async fn approve(store_args: &StoreArgs, id: &str) -> anyhow::Result<()> {
    let store = store_args.open().await?;
    let who = crate::users::actor(&store).await?;
    let release = store
        .get_release(id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no release `{id}`"))?;
    if release.author == who.name {
        anyhow::bail!(
            "`{}` authored {id} and cannot approve it: an owner other than the author must",
            who.name
        );
    }
    let owners = owners(&release);
    if !owners.contains(&who.name) {
        anyhow::bail!(
            "`{}` is not an owner of `{}` (owners: {})",
            who.name,
            release.prompt,
            owners.join(", ")
        );
    }
    store
        .insert_approval(&ApprovalRecord {
            release_id: id.to_string(),
            approver: who.name.clone(),
            created_ms: seam_gateway::now_ms(),
        })
        .await
        .map_err(|_| anyhow::anyhow!("`{}` has approved {id} already", who.name))?;
    record(
        &store,
        &who.name,
        "release.approve",
        id,
        json!({"approver": who.name}),
        &release.prompt,
    )
    .await?;
    println!("{} approved {id}", who.name);
    Ok(())
}

fn split_target(target: &str) -> anyhow::Result<(&str, &str)> {
    target
        .split_once('@')
        .filter(|(n, c)| !n.is_empty() && !c.is_empty())
        .ok_or_else(|| {
            anyhow::anyhow!("`{target}`: write NAME@CHANNEL, e.g. support-bot@production")
        })
}

pub async fn deploy(store_args: &StoreArgs, target: &str, id: &str) -> anyhow::Result<()> {
    let (name, channel) = split_target(target)?;
    let store = store_args.open().await?;
    let who = crate::users::actor(&store).await?;
    let release = store
        .get_release(id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no release `{id}`"))?;
    if release.prompt != name {
        anyhow::bail!("{id} is a release of `{}`, not `{name}`", release.prompt);
    }
    let approvals = store.list_approvals(id).await?;
    if approvals.is_empty() {
        anyhow::bail!(
            "{id} is not approved: an owner of `{name}` other than its author must run `seam release approve {id}`"
        );
    }
    put(&store, &who.name, name, channel, id, "deploy").await?;
    println!(
        "{name}@{channel} -> {id} (approved by {})",
        approvals
            .iter()
            .map(|a| a.approver.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

async fn put(
    store: &SqlStore,
    actor: &str,
    name: &str,
    channel: &str,
    id: &str,
    kind: &str,
) -> anyhow::Result<()> {
    let now = seam_gateway::now_ms();
    store
        .insert_deploy(&DeployRecord {
            id: format!("dep_{now}_{}", &id[id.len().saturating_sub(6)..]),
            prompt: name.to_string(),
            channel: channel.to_string(),
            release_id: id.to_string(),
            actor: actor.to_string(),
            kind: kind.to_string(),
            created_ms: now,
        })
        .await?;
    let action = if kind == "deploy" {
        "release.deploy"
    } else {
        "release.rollback"
    };
    record(
        store,
        actor,
        action,
        &format!("{name}@{channel}"),
        json!({"release": id}),
        name,
    )
    .await
}

pub async fn rollback(store_args: &StoreArgs, target: &str) -> anyhow::Result<()> {
    let (name, channel) = split_target(target)?;
    let store = store_args.open().await?;
    let who = crate::users::actor(&store).await?;
    let history: Vec<String> = store
        .list_deploys(name)
        .await?
        .into_iter()
        .filter(|d| d.channel == channel)
        .map(|d| d.release_id)
        .collect();
    let current = history
        .last()
        .ok_or_else(|| anyhow::anyhow!("{name}@{channel} has never been deployed"))?;
    let previous = history
        .iter()
        .rev()
        .find(|r| *r != current)
        .ok_or_else(|| {
            anyhow::anyhow!("{name}@{channel} has had only {current}; nothing to roll back to")
        })?
        .clone();
    put(&store, &who.name, name, channel, &previous, "rollback").await?;
    println!("{name}@{channel} -> {previous} (rolled back from {current})");
    Ok(())
}

pub async fn list(store_args: &StoreArgs, name: &str, json_out: bool) -> anyhow::Result<()> {
    let store = store_args.open().await?;
    let releases = store.list_releases(name).await?;
    let deploys = store.list_deploys(name).await?;
    let mut current: std::collections::BTreeMap<String, String> = Default::default();
    for d in &deploys {
        current.insert(d.channel.clone(), d.release_id.clone());
    }
    let mut out = Vec::new();
    for r in &releases {
        let approvals: Vec<String> = store
            .list_approvals(&r.id)
            .await?
            .into_iter()
            .map(|a| a.approver)
            .collect();
        let channels: Vec<String> = current
            .iter()
            .filter(|(_, id)| **id == r.id)
            .map(|(c, _)| c.clone())
            .collect();
        let model = serde_json::from_str::<Value>(&r.content)
            .ok()
            .and_then(|c| c.get("model").cloned())
            .unwrap_or(Value::Null);
        out.push(json!({"id": r.id, "created_ms": r.created_ms, "author": r.author, "model": model, "approved_by": approvals, "channels": channels}));
    }
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({"prompt": name, "releases": out, "deploys": deploys})
            )?
        );
        return Ok(());
    }
    if out.is_empty() {
        println!("no releases of `{name}` yet: `seam release create {name}`");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = out
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
                "CHANNELS"
            ],
            &rows
        )
    );
    Ok(())
}
