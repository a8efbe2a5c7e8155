//! Control-plane operations, shared by the `seam` CLI and the gateway's `/api/` endpoints so
//! that both enforce the same rules: a release is immutable and content-addressed; only an
//! owner who is not its author approves it, owners being those of the release on production
//! (`owners.rs`); only an approved release is deployed, and a protected channel only by an
//! owner or an admin; keys, sessions and records by role (`roles.rs`; one call read back in
//! full, `calls.rs`); every action is appended to the audit chain under its actor (and most
//! to the change timeline).

use change::Change;
use seam_prompts::{Prompt, Severity};
use seam_store::{
    ApprovalRecord, Audit, DeployRecord, Evals, EventRecord, Events, ReleaseRecord, Releases,
    Sessions, StoreError, UserRecord, Users,
};
use seam_vocab::DeployKind;
pub use seam_vocab::DeployMode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("{0}")]
    NotFound(String),
    /// The actor may not do this.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type Result<T> = std::result::Result<T, ControlError>;

pub(crate) use seam_store::now_ms;

/// The SHA-256 of a token, as stored. A token is looked up by this digest and never
/// compared as text: the time a lookup takes can show at most how much of a stored digest a
/// guess matched, which tells nothing about the token itself.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The user a token belongs to.
pub async fn user_by_token(
    store: &(impl Users + ?Sized),
    token: &str,
) -> Result<Option<UserRecord>> {
    Ok(store.user_by_token_hash(&token_hash(token)).await?)
}

pub mod calls;
pub mod case_of_call;
mod change;
pub mod contaminated;
pub mod contamination;
pub mod evals;
pub mod failures;
pub mod forecast;
pub mod gates;
pub mod keys;
pub mod owners;
pub mod roles;
pub mod sessions;
pub mod users;
pub mod value;

pub use roles::{Actor, Role, actor_by_token};

/// Appends a control-plane action to the audit chain; every action goes through here.
pub async fn audit(
    store: &(impl Audit + ?Sized),
    actor: &str,
    action: &str,
    subject: &str,
    before: Option<Value>,
    after: Value,
) -> Result<()> {
    store
        .append_audit(
            actor,
            action,
            subject,
            before.as_ref().map(Value::to_string),
            Some(after.to_string()),
            now_ms(),
        )
        .await?;
    Ok(())
}

/// Appends to the audit chain and the change timeline.
async fn record(
    store: &(impl Audit + Events + ?Sized),
    actor: &str,
    change: Change,
    subject: &str,
    after: Value,
    prompt: &str,
) -> Result<()> {
    record_change(store, actor, change, subject, None, after, prompt).await
}

/// `record`, with what the subject was before.
pub(crate) async fn record_change(
    store: &(impl Audit + Events + ?Sized),
    actor: &str,
    change: Change,
    subject: &str,
    before: Option<Value>,
    after: Value,
    prompt: &str,
) -> Result<()> {
    record_change_noting(store, actor, change, subject, before, after, prompt, None).await
}

/// `record_change`, with `note` (a key and a value) added to the event's details only: what
/// the timeline keeps about the moment (a deploy's drain at the time), which the audit record,
/// the action as asked, does not.
#[allow(clippy::too_many_arguments)]
async fn record_change_noting(
    store: &(impl Audit + Events + ?Sized),
    actor: &str,
    change: Change,
    subject: &str,
    before: Option<Value>,
    after: Value,
    prompt: &str,
    note: Option<(&str, Value)>,
) -> Result<()> {
    let action = change.action;
    audit(store, actor, action, subject, before.clone(), after.clone()).await?;
    let mut details = json!({"actor": actor, "prompt": prompt, "subject": subject, "before": before, "after": after});
    if let Some((key, value)) = note {
        details[key] = value;
    }
    store
        .insert_event(&EventRecord::new(
            change.kind,
            match prompt {
                "" => format!("{actor}: {action} {subject}"),
                p => format!("{actor}: {action} {subject} ({p})"),
            },
            details,
        ))
        .await?;
    Ok(())
}

/// `NAME@CHANNEL` -> (NAME, CHANNEL), each a valid name (see [`seam_prompts::check_name`]).
pub fn split_target(target: &str) -> Result<(&str, &str)> {
    let (name, channel) = target
        .split_once('@')
        .filter(|(n, c)| !n.is_empty() && !c.is_empty())
        .ok_or_else(|| {
            ControlError::Invalid(format!(
                "`{target}`: write NAME@CHANNEL, e.g. support-bot@production"
            ))
        })?;
    for (what, part) in [("prompt", name), ("channel", channel)] {
        seam_prompts::check_name(part).map_err(|e| ControlError::Invalid(format!("{what} {e}")))?;
    }
    Ok((name, channel))
}

/// Makes a release of a prompt (it must lint clean). Returns it and whether it is new: the
/// same content is the same release.
pub async fn create_release(
    store: &(impl Releases + Audit + Events + ?Sized),
    actor: &str,
    prompt: &Prompt,
) -> Result<(ReleaseRecord, bool)> {
    let errors: Vec<String> = seam_prompts::lint(prompt)
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| format!("{}: {}", f.key, f.message))
        .collect();
    if !errors.is_empty() {
        return Err(ControlError::Invalid(format!(
            "prompt `{}` does not lint clean, no release:\n  {}",
            prompt.name,
            errors.join("\n  ")
        )));
    }
    let content =
        serde_json::to_string(prompt).map_err(|e| ControlError::Invalid(e.to_string()))?;
    let id = ReleaseRecord::id_of(&content);
    let release = ReleaseRecord {
        id: id.clone(),
        prompt: prompt.name.clone(),
        content,
        author: actor.to_string(),
        created_ms: now_ms(),
    };
    let new = store.insert_release(&release).await?;
    if new {
        record(
            store,
            actor,
            change::RELEASE_CREATE,
            &id,
            json!({"model": prompt.model}),
            &prompt.name,
        )
        .await?;
    }
    let stored = store.get_release(&id).await?.unwrap_or(release);
    Ok((stored, new))
}

/// Approves a release as `actor`: not its author, and an owner of the prompt as the release
/// on production names them (an admin while there is none). A release's own `owners` count
/// only once it is on production, so a release that changes them needs a current owner.
pub async fn approve(
    store: &(impl Releases + Audit + Events + ?Sized),
    actor: &Actor,
    id: &str,
) -> Result<ReleaseRecord> {
    let release = store
        .get_release(id)
        .await?
        .ok_or_else(|| ControlError::NotFound(format!("no release `{id}`")))?;
    let who = actor.name.as_str();
    if release.author == who {
        return Err(ControlError::Forbidden(format!(
            "`{who}` authored {id} and cannot approve it: an owner other than the author must"
        )));
    }
    let trust = owners::Trust::of(store, &release.prompt).await?;
    if !trust.may_approve(actor) {
        let mut why = format!(
            "`{who}` is not an owner of `{}`: its releases need {}; the owners a release lists count once it is on {}",
            release.prompt,
            trust.approvers(),
            owners::PRODUCTION
        );
        let changed = trust
            .production
            .as_ref()
            .map(|p| owners::changes(p, &release)["owners"].clone())
            .filter(|o| !o.is_null());
        if let Some(o) = changed {
            why.push_str(&format!(
                "; {id} changes the owners ({}), which a current owner must approve",
                owners::signed(&o)
            ));
        }
        return Err(ControlError::Forbidden(why));
    }
    store
        .insert_approval(&ApprovalRecord {
            release_id: id.to_string(),
            approver: who.to_string(),
            created_ms: now_ms(),
        })
        .await
        .map_err(|_| ControlError::Invalid(format!("`{who}` has approved {id} already")))?;
    record(
        store,
        who,
        change::RELEASE_APPROVE,
        id,
        json!({"approver": who}),
        &release.prompt,
    )
    .await?;
    Ok(release)
}

/// The deploy mode a client named (`drain` or `immediate`).
pub fn parse_deploy_mode(s: &str) -> Result<DeployMode> {
    s.parse().map_err(|_| {
        ControlError::Invalid(format!(
            "deploy mode `{s}`: use drain (sessions keep their release) or immediate (sessions move at their next call)"
        ))
    })
}

async fn put(
    store: &(impl Releases + Sessions + Audit + Events + ?Sized),
    actor: &str,
    name: &str,
    channel: &str,
    id: &str,
    kind: DeployKind,
    mode: DeployMode,
) -> Result<()> {
    let now = now_ms();
    let old = store
        .list_deploys(name)
        .await?
        .into_iter()
        .rev()
        .find(|d| d.channel == channel)
        .map(|d| d.release_id);
    let before = old.as_ref().map(|r| json!({"release": r}));
    // The drain as it starts, kept on the timeline: later the live count describes the
    // present, and once the channel is back on the old release, there is no drain to count.
    let drain = match &old {
        Some(r) if r != id => Some((
            "drain",
            json!({"release": r, "sessions": sessions::live_on(store, name, channel, r, now).await?}),
        )),
        _ => None,
    };
    store
        .insert_deploy(&DeployRecord {
            id: format!("dep_{}", uuid::Uuid::now_v7().simple()),
            prompt: name.to_string(),
            channel: channel.to_string(),
            release_id: id.to_string(),
            actor: actor.to_string(),
            kind,
            mode,
            created_ms: now,
        })
        .await?;
    let change = match kind {
        DeployKind::Rollback => change::RELEASE_ROLLBACK,
        DeployKind::Deploy | DeployKind::Live => change::RELEASE_DEPLOY,
    };
    record_change_noting(
        store,
        actor,
        change,
        &format!("{name}@{channel}"),
        before,
        json!({"release": id, "mode": mode.as_str()}),
        name,
        drain,
    )
    .await
}

/// Points NAME@CHANNEL at a release approved by someone trusted now (see [`approve`]);
/// a channel in `protected` only as an owner of the prompt or an admin. Returns the approvals
/// that counted. A gated release (see [`gates`]) is refused here: with no `[evals] dir` its
/// dataset's version cannot be read; use [`deploy_with`].
pub async fn deploy(
    store: &(impl Releases + Sessions + Users + Audit + Events + Evals + ?Sized),
    actor: &Actor,
    target: &str,
    id: &str,
    mode: DeployMode,
    protected: &[String],
) -> Result<Vec<String>> {
    deploy_with(
        store,
        actor,
        target,
        id,
        mode,
        protected,
        &gates::GateCheck::default(),
    )
    .await
}

/// [`deploy`], and a release with a `gate` for the channel only with a passing gate decision
/// against the release the channel serves now, or an admin's override (see [`gates`]).
#[allow(clippy::too_many_arguments)]
pub async fn deploy_with(
    store: &(impl Releases + Sessions + Users + Audit + Events + Evals + ?Sized),
    actor: &Actor,
    target: &str,
    id: &str,
    mode: DeployMode,
    protected: &[String],
    gate: &gates::GateCheck,
) -> Result<Vec<String>> {
    let (name, channel) = split_target(target)?;
    let release = store
        .get_release(id)
        .await?
        .ok_or_else(|| ControlError::NotFound(format!("no release `{id}`")))?;
    if release.prompt != name {
        return Err(ControlError::Invalid(format!(
            "{id} is a release of `{}`, not `{name}`",
            release.prompt
        )));
    }
    let approvals = store.list_approvals(id).await?;
    if approvals.is_empty() {
        return Err(ControlError::Forbidden(format!(
            "{id} is not approved: an owner of `{name}` other than its author must approve it first"
        )));
    }
    let trust = owners::Trust::of(store, name).await?;
    let given: Vec<String> = approvals.iter().map(|a| a.approver.clone()).collect();
    let valid = trust.valid_approvals(store, approvals).await?;
    if valid.is_empty() {
        return Err(ControlError::Forbidden(format!(
            "{id} is not approved by anyone who approves `{name}` now (approved by {}): it needs {}",
            given.join(", "),
            trust.approvers()
        )));
    }
    if protected.iter().any(|c| c == channel) {
        trust.require_owner(
            actor,
            &format!("deploying to {target} (a protected channel)"),
        )?;
    }
    let serving = store
        .list_deploys(name)
        .await?
        .into_iter()
        .rev()
        .find(|d| d.channel == channel)
        .map(|d| d.release_id);
    gates::check(store, actor, target, &release, serving.as_deref(), gate).await?;
    put(
        store,
        &actor.name,
        name,
        channel,
        id,
        DeployKind::Deploy,
        mode,
    )
    .await?;
    Ok(valid.into_iter().map(|a| a.approver).collect())
}

/// `[prompts] live_channel`: every prompt file becomes a release (the same content is the
/// same release) and is put on `channel` without an approval, in drain mode, so sessions in
/// flight keep what they started on. Returns the prompts whose release changed.
pub async fn put_live(
    store: &(impl Releases + Sessions + Audit + Events + ?Sized),
    actor: &str,
    channel: &str,
    prompts: &[Prompt],
) -> Result<Vec<(String, String)>> {
    let current = store.current_deploys().await?;
    let mut changed = Vec::new();
    for p in prompts {
        let (release, _) = create_release(store, actor, p).await?;
        let on = current
            .iter()
            .find(|d| d.prompt == p.name && d.channel == channel)
            .map(|d| d.release_id.as_str());
        if on != Some(release.id.as_str()) {
            put(
                store,
                actor,
                &p.name,
                channel,
                &release.id,
                DeployKind::Live,
                DeployMode::Drain,
            )
            .await?;
            changed.push((p.name.clone(), release.id));
        }
    }
    Ok(changed)
}

/// Points NAME@CHANNEL back at the release it had before (a channel in `protected` only as
/// an owner of the prompt or an admin); returns (from, to).
pub async fn rollback(
    store: &(impl Releases + Sessions + Audit + Events + ?Sized),
    actor: &Actor,
    target: &str,
    mode: DeployMode,
    protected: &[String],
) -> Result<(String, String)> {
    let (name, channel) = split_target(target)?;
    if protected.iter().any(|c| c == channel) {
        owners::Trust::of(store, name).await?.require_owner(
            actor,
            &format!("rolling back {target} (a protected channel)"),
        )?;
    }
    let history: Vec<String> = store
        .list_deploys(name)
        .await?
        .into_iter()
        .filter(|d| d.channel == channel)
        .map(|d| d.release_id)
        .collect();
    let current = history
        .last()
        .ok_or_else(|| ControlError::NotFound(format!("{name}@{channel} has never been deployed")))?
        .clone();
    let previous = history
        .iter()
        .rev()
        .find(|r| **r != current)
        .ok_or_else(|| {
            ControlError::Invalid(format!(
                "{name}@{channel} has had only {current}; nothing to roll back to"
            ))
        })?
        .clone();
    put(
        store,
        &actor.name,
        name,
        channel,
        &previous,
        DeployKind::Rollback,
        mode,
    )
    .await?;
    Ok((current, previous))
}

/// A prompt's releases with their approvals, owners, the channels on them and what each
/// changes (model, tools, owners) against the release on production; and its deploys.
pub async fn releases(store: &(impl Releases + ?Sized), name: &str) -> Result<Value> {
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
        let changes = owners::changes_of(store, r).await?;
        out.push(
            json!({"id": r.id, "created_ms": r.created_ms, "author": r.author, "model": model,
            "owners": owners::listed_owners(r), "approved_by": approvals, "channels": channels,
            "changes": changes}),
        );
    }
    Ok(json!({"prompt": name, "releases": out, "deploys": deploys}))
}

/// A gateway starts with a config file whose SHA-256 is `sha256`. When it differs from the
/// last config the store saw, that is a control-plane change (`config.change` on the audit
/// chain, `config_change` on the timeline); returns whether it was one. The file holds no
/// secrets, only the names of the variables that do.
pub async fn config_loaded(
    store: &(impl Audit + Events + ?Sized),
    actor: &str,
    file: &str,
    sha256: &str,
) -> Result<bool> {
    let last = store
        .list_audit()
        .await?
        .into_iter()
        .rev()
        .find(|r| r.action == change::CONFIG_CHANGE.action)
        .and_then(|r| r.after)
        .and_then(|a| serde_json::from_str::<Value>(&a).ok())
        .and_then(|a| a.get("sha256").and_then(Value::as_str).map(str::to_string));
    if last.as_deref() == Some(sha256) {
        return Ok(false);
    }
    let before = last.map(|h| json!({"sha256": h}));
    let after = json!({"sha256": sha256, "file": file});
    record_change(store, actor, change::CONFIG_CHANGE, file, before, after, "").await?;
    Ok(true)
}

/// A reload that applied and changed nothing still happened, and someone asked for it:
/// `config.reload` on the audit chain and `config_reload` on the timeline.
pub async fn config_reloaded(
    store: &(impl Audit + Events + ?Sized),
    actor: &str,
    file: &str,
    sha256: &str,
    trigger: &str,
) -> Result<()> {
    record(
        store,
        actor,
        change::CONFIG_RELOAD,
        file,
        json!({"sha256": sha256, "trigger": trigger, "changed": false}),
        "",
    )
    .await
}
