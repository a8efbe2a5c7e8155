//! Sessions on the control plane: listing them (a tenant's, to whoever reads its records),
//! moving one on purpose (an operator of its tenant; audited), and how far each deploy has
//! drained.

use crate::{Actor, ControlError, Result, now_ms, record_change};
use seam_store::{
    Audit, EventRecord, Events, Releases, SessionCount, SessionQuery, SessionRecord, Sessions,
};
use seam_vocab::EventKind;
use serde_json::{Value, json};

/// Which session to migrate: its id, narrowed by tenant or channel when the id is in use
/// more than once for the release's prompt.
pub struct MigrateTarget<'a> {
    pub session_id: &'a str,
    pub tenant: Option<&'a str>,
    pub channel: Option<&'a str>,
}

/// The live sessions `q` names, of the tenants the actor reads.
pub async fn list(
    store: &(impl Sessions + ?Sized),
    actor: &Actor,
    q: &SessionQuery,
) -> Result<Vec<SessionRecord>> {
    let scope = actor.read_scope("reading sessions")?;
    Ok(store
        .list_sessions(q)
        .await?
        .into_iter()
        .filter(|s| scope.allows(&s.tenant))
        .collect())
}

/// Moves one live session to `release_id` (an approved release of the same prompt), as an
/// operator of the session's tenant; returns the session as it was before.
pub async fn migrate(
    store: &(impl Releases + Sessions + Audit + Events + ?Sized),
    actor: &Actor,
    target: &MigrateTarget<'_>,
    release_id: &str,
) -> Result<SessionRecord> {
    let release = store
        .get_release(release_id)
        .await?
        .ok_or_else(|| ControlError::NotFound(format!("no release `{release_id}`")))?;
    if store.list_approvals(release_id).await?.is_empty() {
        return Err(ControlError::Forbidden(format!(
            "{release_id} is not approved: sessions move only to approved releases"
        )));
    }
    let now = now_ms();
    let found: Vec<SessionRecord> = store
        .list_sessions(&SessionQuery {
            live_at_ms: now,
            prompt: Some(release.prompt.clone()),
            release_id: None,
            session_id: Some(target.session_id.to_string()),
        })
        .await?
        .into_iter()
        .filter(|s| target.tenant.is_none_or(|t| t == s.tenant))
        .filter(|s| target.channel.is_none_or(|c| c == s.channel))
        .collect();
    let found_any = found.first().cloned();
    let found: Vec<SessionRecord> = found
        .into_iter()
        .filter(|s| actor.can_operate(&s.tenant))
        .collect();
    let session = match (found.as_slice(), found_any) {
        ([], None) => {
            return Err(ControlError::NotFound(format!(
                "no live session `{}` of `{}`",
                target.session_id, release.prompt
            )));
        }
        ([], Some(theirs)) => {
            return Err(actor.operator_refusal(&theirs.tenant, "migrating sessions"));
        }
        ([one], _) => one.clone(),
        (many, _) => {
            let names: Vec<String> = many
                .iter()
                .map(|s| format!("tenant {} on {}", s.tenant, s.channel))
                .collect();
            return Err(ControlError::Invalid(format!(
                "session `{}` is in use more than once ({}); name one with --tenant and --channel",
                target.session_id,
                names.join(", ")
            )));
        }
    };
    if session.release_id == release_id {
        return Err(ControlError::Invalid(format!(
            "session `{}` is on {release_id} already",
            session.session_id
        )));
    }
    if !store
        .move_session(&session.key(), &session.release_id, release_id, now)
        .await?
    {
        return Err(ControlError::Invalid(format!(
            "session `{}` changed release while being migrated; look again with `seam sessions`",
            session.session_id
        )));
    }
    record_change(
        store,
        &actor.name,
        crate::change::SESSION_MIGRATE,
        &format!(
            "{} ({}@{}, tenant {})",
            session.session_id, session.prompt, session.channel, session.tenant
        ),
        Some(json!({"release": session.release_id})),
        json!({"release": release_id, "session": session.session_id, "tenant": session.tenant, "channel": session.channel}),
        &session.prompt,
    )
    .await?;
    Ok(session)
}

/// Live sessions of `prompt@channel` on `release` at `now`.
pub(crate) async fn live_on(
    store: &(impl Sessions + ?Sized),
    prompt: &str,
    channel: &str,
    release: &str,
    now: i64,
) -> Result<i64> {
    Ok(on(
        &store.session_counts(now).await?,
        prompt,
        channel,
        release,
    ))
}

fn on(counts: &[SessionCount], prompt: &str, channel: &str, release: &str) -> i64 {
    counts
        .iter()
        .filter(|c| c.prompt == prompt && c.channel == channel && c.release_id == release)
        .map(|c| c.sessions)
        .sum()
}

/// The change timeline as `who` may read it: an event about one tenant (a session moved, say)
/// only for a reader of that tenant. Each deploy and rollback says how its drain goes (see
/// [`drain`]).
pub async fn changes(
    store: &(impl Sessions + Events + ?Sized),
    who: &crate::Actor,
    since_ms: i64,
    limit: i64,
) -> Result<Vec<Value>> {
    let events = store.list_events(since_ms, limit).await?;
    let counts = store.session_counts(now_ms()).await?;
    let moves: Vec<Move> = events.iter().filter_map(Move::of).collect();
    Ok(events
        .iter()
        .filter(|e| {
            let details: Value = serde_json::from_str(&e.details).unwrap_or(Value::Null);
            details["tenant"].as_str().is_none_or(|t| who.can_read(t))
        })
        .map(|e| {
            let mut v = e.to_json();
            if let Some(drain) = drain(e, &moves, &counts) {
                v["drain"] = drain;
            }
            v
        })
        .collect())
}

/// A deploy or rollback as the timeline says it: which channel moved, from and to what.
struct Move<'a> {
    id: &'a str,
    created_ms: i64,
    prompt: String,
    channel: String,
    from: String,
    to: String,
    /// Sessions on `from` when it happened, as written then (absent on older events).
    at_move: Option<i64>,
}

impl<'a> Move<'a> {
    fn of(e: &'a EventRecord) -> Option<Move<'a>> {
        if !matches!(
            e.kind,
            EventKind::ReleaseDeploy | EventKind::ReleaseRollback
        ) {
            return None;
        }
        let details: Value = serde_json::from_str(&e.details).ok()?;
        let (prompt, channel) = details.get("subject")?.as_str()?.split_once('@')?;
        Some(Move {
            id: &e.id,
            created_ms: e.created_ms,
            prompt: prompt.to_string(),
            channel: channel.to_string(),
            from: details.pointer("/before/release")?.as_str()?.to_string(),
            to: details.pointer("/after/release")?.as_str()?.to_string(),
            at_move: details.pointer("/drain/sessions").and_then(Value::as_i64),
        })
    }
}

/// A deploy's drain: the sessions still on the release it replaced, counted only while that
/// release is not served again on the channel. Once a later move (a rollback, a redeploy) puts
/// it back, its sessions are the channel's current ones, not this deploy's drain: the drain
/// is over (`ended`), and only the count at the deploy remains (`at_deploy`).
fn drain(e: &EventRecord, moves: &[Move<'_>], counts: &[SessionCount]) -> Option<Value> {
    let i = moves.iter().position(|m| m.id == e.id)?;
    let m = &moves[i];
    if m.from == m.to {
        // The channel stayed where it was: nothing drains.
        return None;
    }
    let mut v = json!({"release": m.from});
    if let Some(n) = m.at_move {
        v["at_deploy"] = n.into();
    }
    let back = moves[i + 1..]
        .iter()
        .find(|later| later.prompt == m.prompt && later.channel == m.channel && later.to == m.from);
    match back {
        Some(later) => v["ended"] = json!({"at_ms": later.created_ms}),
        None => v["sessions"] = on(counts, &m.prompt, &m.channel, &m.from).into(),
    }
    Some(v)
}
