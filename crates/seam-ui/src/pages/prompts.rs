//! Prompts: the list, and one prompt with its releases, approvals, channels, deploys,
//! sessions and gates, with the approve, deploy and rollback forms for those the rules let
//! act (`prompt_forms.rs` takes the forms; the diff is `prompt_diff.rs`).

use super::*;
use seam_control::Actor;
use seam_control::owners::{Trust, changes_text};
use seam_store::{DeployRecord, SessionCount, SessionQuery};
use std::collections::{BTreeMap, BTreeSet};

/// How far back the list looks for prompts with a release but no channel.
const RECENT_MS: i64 = 30 * DAY_MS;

/// A prompt name from a URL, or the 404 page: only valid names are looked up.
pub(crate) fn prompt_name<'a>(
    ui: &Ui,
    who: &Signed,
    name: &'a str,
) -> Result<&'a str, Box<Response>> {
    match seam_prompts::check_name(name) {
        Ok(()) => Ok(name),
        Err(e) => Err(Box::new(ui.message(StatusCode::NOT_FOUND, &e, Some(who)))),
    }
}

/// A prompt's page, for a redirect after a form.
pub(crate) fn prompt_url(name: &str) -> String {
    format!("/ui/prompts/{}", segment(name))
}

fn store_failed(ui: &Ui, who: &Signed, e: seam_store::StoreError) -> Response {
    control_error(ui, who, e.into())
}

/// GET /ui/prompts: every prompt with a channel, and those with a release made in the last
/// 30 days; what each channel serves, the latest release and whether it awaits approval.
/// `?name=` (the "Open" form) goes to that prompt's page.
pub(crate) async fn prompts(
    State(ui): State<Arc<Ui>>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let who = match signed(&ui, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    if let Some(name) = param(&q, "name") {
        return match prompt_name(&ui, &who, name) {
            Ok(n) => crate::redirect(&prompt_url(n)),
            Err(r) => *r,
        };
    }
    let store = ui.store.as_ref();
    let now = seam_store::now_ms();
    let (deploys, events, counts) = match (
        store.current_deploys().await,
        store.list_events(now - RECENT_MS, 10_000).await,
        store.session_counts(now).await,
    ) {
        (Ok(d), Ok(e), Ok(c)) => (d, e, c),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return store_failed(&ui, &who, e),
    };
    let mut names: BTreeSet<String> = deploys.iter().map(|d| d.prompt.clone()).collect();
    for e in events
        .iter()
        .filter(|e| e.kind == seam_vocab::EventKind::ReleaseCreate)
    {
        let details: Value = serde_json::from_str(&e.details).unwrap_or(Value::Null);
        if let Some(p) = details["prompt"].as_str() {
            names.insert(p.to_string());
        }
    }
    let mut rows = Vec::new();
    for name in &names {
        let releases = match store.list_releases(name).await {
            Ok(r) => r,
            Err(e) => return store_failed(&ui, &who, e),
        };
        let latest = match releases.last() {
            Some(r) => {
                let approvals = match store.list_approvals(&r.id).await {
                    Ok(a) => a,
                    Err(e) => return store_failed(&ui, &who, e),
                };
                json!({
                    "id": r.id,
                    "time": timestamp(r.created_ms),
                    "author": r.author,
                    "approved_by": approvals.iter().map(|a| a.approver.as_str()).collect::<Vec<_>>().join(", "),
                })
            }
            None => Value::Null,
        };
        let mine: Vec<&DeployRecord> = deploys.iter().filter(|d| d.prompt == *name).collect();
        let channels: Vec<Value> = mine
            .iter()
            .map(|d| {
                json!({
                    "channel": d.channel,
                    "release": d.release_id,
                    "sessions": on(&counts, name, &d.channel, Some(&d.release_id)),
                    "draining": on(&counts, name, &d.channel, None) - on(&counts, name, &d.channel, Some(&d.release_id)),
                })
            })
            .collect();
        rows.push(json!({
            "name": name,
            "seg": segment(name),
            "releases": releases.len(),
            "latest": latest,
            "channels": channels,
        }));
    }
    ui.page(
        StatusCode::OK,
        "Prompts",
        "prompts.html",
        json!({"prompts": rows, "recent_days": RECENT_MS / DAY_MS}),
        Some(&who),
    )
}

/// Live sessions of `prompt@channel`, on `release` or on any.
fn on(counts: &[SessionCount], prompt: &str, channel: &str, release: Option<&str>) -> i64 {
    counts
        .iter()
        .filter(|c| c.prompt == prompt && c.channel == channel)
        .filter(|c| release.is_none_or(|r| c.release_id == r))
        .map(|c| c.sessions)
        .sum()
}

/// The `gate` a release's content carries, as shown: dataset, channel, alpha, margin.
fn gate(content: &Value) -> Option<Value> {
    let g = content.get("gate").filter(|g| g.is_object())?;
    Some(json!({
        "dataset": g["dataset"].as_str().unwrap_or("-"),
        "channel": g["channel"].as_str().unwrap_or("-"),
        "alpha": g["alpha"].as_f64().unwrap_or(0.05),
        "margin": g["margin"].as_f64().unwrap_or(0.02),
    }))
}

/// Why `who` sees no working approve button on a release, or None when they do.
fn approve_refusal(
    trust: &Trust,
    who: &Actor,
    author: &str,
    approved_by: &[String],
) -> Option<String> {
    if approved_by.contains(&who.name) {
        Some("you have approved it".into())
    } else if author == who.name {
        Some("you authored it: an owner other than the author approves".into())
    } else if !trust.may_approve(who) {
        Some(format!("it needs {}", trust.approvers()))
    } else {
        None
    }
}

/// GET /ui/prompts/{name}: its channels (what each serves, sessions on it and draining from
/// the release before, rollback), its releases newest first (approvals, what each changes,
/// its gate, approve and deploy), its deploys, and its live sessions for a reader of them.
pub(crate) async fn prompt(
    State(ui): State<Arc<Ui>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let who = match signed(&ui, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let name = match prompt_name(&ui, &who, &name) {
        Ok(n) => n,
        Err(r) => return *r,
    };
    let store = ui.store.as_ref();
    let listing = match seam_control::releases(store, name).await {
        Ok(l) => l,
        Err(e) => return control_error(&ui, &who, e),
    };
    let (records, deploys) = match (
        store.list_releases(name).await,
        store.list_deploys(name).await,
    ) {
        (Ok(r), Ok(d)) => (r, d),
        (Err(e), _) | (_, Err(e)) => return store_failed(&ui, &who, e),
    };
    if records.is_empty() && deploys.is_empty() {
        return ui.message(
            StatusCode::NOT_FOUND,
            &format!("`{name}` has no release yet (`seam release create {name}` makes one)."),
            Some(&who),
        );
    }
    let trust = match Trust::of(store, name).await {
        Ok(t) => t,
        Err(e) => return control_error(&ui, &who, e),
    };
    let now = seam_store::now_ms();
    let counts = match store.session_counts(now).await {
        Ok(c) => c,
        Err(e) => return store_failed(&ui, &who, e),
    };
    let protected = ui.protected_channels();
    let owner = trust.owns_or_admin(&who.actor);
    let mut current: BTreeMap<&str, &DeployRecord> = BTreeMap::new();
    for d in &deploys {
        current.insert(&d.channel, d);
    }
    let channels: Vec<Value> = current
        .values()
        .map(|d| {
            let is_protected = protected.contains(&d.channel);
            // What a rollback would go back to: the release the channel had before this one.
            let previous = deploys
                .iter()
                .rev()
                .filter(|x| x.channel == d.channel)
                .map(|x| x.release_id.as_str())
                .find(|r| *r != d.release_id);
            let draining: Vec<Value> = counts
                .iter()
                .filter(|c| {
                    c.prompt == name && c.channel == d.channel && c.release_id != d.release_id
                })
                .map(|c| json!({"release": c.release_id, "sessions": c.sessions}))
                .collect();
            json!({
                "channel": d.channel,
                "release": d.release_id,
                "since": timestamp(d.created_ms),
                "by": d.actor,
                "kind": d.kind.as_str(),
                "mode": d.mode.as_str(),
                "protected": is_protected,
                "sessions": on(&counts, name, &d.channel, Some(&d.release_id)),
                "draining": draining,
                "previous": previous,
                "may_roll_back": previous.is_some() && (!is_protected || owner),
            })
        })
        .collect();
    // Releases an owner made although they contain eval cases (`--allow-contamination`): the
    // timeline's events since the oldest release, by release.
    let oldest = records.iter().map(|r| r.created_ms).min().unwrap_or(now);
    let allowed = match store.list_events(oldest, 100_000).await {
        Ok(events) => contamination_allowed(&events),
        Err(e) => return store_failed(&ui, &who, e),
    };
    let mut releases = Vec::new();
    let listed = listing["releases"].as_array().cloned().unwrap_or_default();
    let by_id: HashMap<&str, &seam_store::ReleaseRecord> =
        records.iter().map(|r| (r.id.as_str(), r)).collect();
    for (r, l) in listed
        .iter()
        .rev()
        .filter_map(|l| Some((*by_id.get(l["id"].as_str()?)?, l)))
    {
        let content: Value = serde_json::from_str(&r.content).unwrap_or(Value::Null);
        let approved_by: Vec<String> = l["approved_by"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect();
        let approvals = match store.list_approvals(&r.id).await {
            Ok(a) => a,
            Err(e) => return store_failed(&ui, &who, e),
        };
        let counted = match trust.valid_approvals(store, approvals).await {
            Ok(v) => v,
            Err(e) => return control_error(&ui, &who, e),
        };
        let gate = gate(&content);
        let gate_status = match &gate {
            Some(g) => gate_status(&ui, r, g, &current).await,
            None => None,
        };
        let changes = &l["changes"];
        releases.push(json!({
            "id": r.id,
            "time": timestamp(r.created_ms),
            "author": r.author,
            "model": content["model"].as_str().unwrap_or("-"),
            "owners": l["owners"].as_array().map(|o| o.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).unwrap_or_default(),
            "approved_by": approved_by.join(", "),
            "counted": counted.iter().map(|a| a.approver.as_str()).collect::<Vec<_>>().join(", "),
            "channels": l["channels"].as_array().map(|c| c.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).unwrap_or_default(),
            "changes": match changes_text(changes) {
                t if t.is_empty() && changes.is_null() => "the first release".to_string(),
                t if t.is_empty() => format!("same model, tools and owners as {}", changes["against"].as_str().unwrap_or("-")),
                t => format!("{t} (against {})", changes["against"].as_str().unwrap_or("-")),
            },
            "against": changes["against"].as_str(),
            "no_approve": approve_refusal(&trust, &who.actor, &r.author, &approved_by),
            "deployable": !counted.is_empty(),
            "gate": gate,
            "gate_status": gate_status,
            "contamination": allowed.get(r.id.as_str()),
        }));
    }
    let deploy_rows: Vec<Value> = deploys
        .iter()
        .rev()
        .map(|d| {
            json!({
                "time": timestamp(d.created_ms),
                "channel": d.channel,
                "release": d.release_id,
                "kind": d.kind.as_str(),
                "mode": d.mode.as_str(),
                "by": d.actor,
            })
        })
        .collect();
    let q = SessionQuery {
        live_at_ms: now,
        prompt: Some(name.to_string()),
        release_id: None,
        session_id: None,
    };
    let (sessions, sessions_refused) =
        match seam_control::sessions::list(store, &who.actor, &q).await {
            Ok(list) => (
                list.iter()
                    .take(200)
                    .map(|s| {
                        json!({
                            "tenant": s.tenant,
                            "session": s.session_id,
                            "channel": s.channel,
                            "release": s.release_id,
                            "current": current.get(s.channel.as_str()).is_some_and(|d| d.release_id == s.release_id),
                            "started": timestamp(s.started_ms),
                            "last": timestamp(s.last_ms),
                            "expires": timestamp(s.expires_ms),
                        })
                    })
                    .collect::<Vec<_>>(),
                None,
            ),
            Err(ControlError::Forbidden(why)) => (Vec::new(), Some(why)),
            Err(e) => return control_error(&ui, &who, e),
        };
    // The channels the deploy form suggests: those in use and the protected ones.
    let known: BTreeSet<&str> = current
        .keys()
        .copied()
        .chain(protected.iter().map(String::as_str))
        .collect();
    ui.page(
        StatusCode::OK,
        &format!("Prompt {name}"),
        "prompt.html",
        json!({
            "name": name,
            "seg": segment(name),
            "owners": if trust.owners.is_empty() { "none yet: admins approve until a release with owners is on production".to_string() } else { trust.owners.join(", ") },
            "production": trust.production.as_ref().map(|p| p.id.clone()),
            "approvers": trust.approvers(),
            "channels": channels,
            "releases": releases,
            "deploys": deploy_rows,
            "sessions": sessions,
            "sessions_refused": sessions_refused,
            "protected": protected.join(", "),
            "owner": owner,
            "admin": who.actor.admin,
            "known_channels": known,
            "csrf": who.csrf,
        }),
        Some(&who),
    )
}

/// A gated release's standing on its gate's channel: what the channel serves now and the
/// newest decision of this release against it. Whether that decision is on the dataset's
/// current version is for the deploy to check (it reads the dataset).
async fn gate_status(
    ui: &Ui,
    r: &seam_store::ReleaseRecord,
    gate: &Value,
    current: &BTreeMap<&str, &DeployRecord>,
) -> Option<String> {
    let channel = gate["channel"].as_str()?;
    let Some(serving) = current.get(channel).map(|d| d.release_id.as_str()) else {
        return Some(format!(
            "nothing is on {channel} yet: its first deploy needs no gate"
        ));
    };
    if serving == r.id {
        return Some(format!("on {channel} now"));
    }
    Some(match ui.store.eval_gates_between(&r.id, serving).await {
        Ok(d) => match d.first() {
            Some(d) => format!(
                "newest decision against {serving}: {} (alpha {}, margin {}, dataset version {}, {} UTC)",
                d.decision,
                d.alpha,
                d.margin,
                &d.dataset_version[..d.dataset_version.len().min(12)],
                timestamp(d.created_ms)
            ),
            None => format!("no gate decision against {serving} (on {channel} now) yet"),
        },
        Err(e) => {
            tracing::error!(error = %e, "the dashboard could not read gate decisions");
            "its gate decisions could not be read".into()
        }
    })
}

/// Per release, what `--allow-contamination` let in: who allowed it and why (the event's
/// message) and each case found (`dataset/case: part in place, metric`).
fn contamination_allowed(events: &[seam_store::EventRecord]) -> HashMap<String, Value> {
    let mut out = HashMap::new();
    for e in events
        .iter()
        .filter(|e| e.kind == seam_vocab::EventKind::ReleaseContaminationAllowed)
    {
        let Ok(d) = serde_json::from_str::<Value>(&e.details) else {
            continue;
        };
        let Some(release) = d["release"].as_str() else {
            continue;
        };
        let cases: Vec<String> = d["cases"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                let text = |k: &str| c[k].as_str().unwrap_or("-").to_string();
                format!(
                    "{}/{} ({} in {}, {})",
                    text("dataset"),
                    text("case"),
                    text("part"),
                    text("place"),
                    text("metric")
                )
            })
            .collect();
        out.insert(
            release.to_string(),
            json!({"what": e.message, "reason": d["reason"], "cases": cases}),
        );
    }
    out
}
