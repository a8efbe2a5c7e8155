//! Who owns a prompt. Owners come from what is already trusted, the release on the prompt's
//! production channel, never from the release being approved, whose author wrote its owners;
//! while no release is on production, admins stand in. Also what a release changes.

use crate::roles::{Actor, is_admin};
use crate::{ControlError, Result};
use seam_store::{ApprovalRecord, ReleaseRecord, Releases, Users};
use serde_json::{Value, json};

/// The channel whose release's owners are a prompt's owners.
pub const PRODUCTION: &str = "production";

/// The owners a release lists (what its author wrote: trusted only once it is on production).
pub fn listed_owners(release: &ReleaseRecord) -> Vec<String> {
    field(release, "owners")
        .and_then(|o| serde_json::from_value(o).ok())
        .unwrap_or_default()
}

fn field(release: &ReleaseRecord, key: &str) -> Option<Value> {
    serde_json::from_str::<Value>(&release.content)
        .ok()
        .and_then(|c| c.get(key).cloned())
}

/// Who is trusted with a prompt now.
pub struct Trust {
    pub prompt: String,
    /// The release on production.
    pub production: Option<ReleaseRecord>,
    /// Its owners; empty while nothing is on production (then admins stand in).
    pub owners: Vec<String>,
}

impl Trust {
    pub async fn of(store: &(impl Releases + ?Sized), prompt: &str) -> Result<Trust> {
        let on = store
            .list_deploys(prompt)
            .await?
            .into_iter()
            .rev()
            .find(|d| d.channel == PRODUCTION);
        let production = match on {
            Some(d) => store.get_release(&d.release_id).await?,
            None => None,
        };
        let owners = production.as_ref().map(listed_owners).unwrap_or_default();
        Ok(Trust {
            prompt: prompt.to_string(),
            production,
            owners,
        })
    }

    /// An owner of the prompt, or an admin.
    pub fn owns_or_admin(&self, actor: &Actor) -> bool {
        actor.admin || self.owners.contains(&actor.name)
    }

    /// Approves releases: an owner; while the prompt has none, an admin.
    pub fn may_approve(&self, actor: &Actor) -> bool {
        if self.owners.is_empty() {
            actor.admin
        } else {
            self.owners.contains(&actor.name)
        }
    }

    /// The approvals that count now, by the same rule as [`Trust::may_approve`].
    pub async fn valid_approvals(
        &self,
        store: &(impl Users + ?Sized),
        approvals: Vec<ApprovalRecord>,
    ) -> Result<Vec<ApprovalRecord>> {
        let mut valid = Vec::new();
        for a in approvals {
            let counts = if self.owners.is_empty() {
                is_admin(store, &a.approver).await?
            } else {
                self.owners.contains(&a.approver)
            };
            if counts {
                valid.push(a);
            }
        }
        Ok(valid)
    }

    /// Whose approval a release needs, in words.
    pub fn approvers(&self) -> String {
        match &self.production {
            Some(p) if !self.owners.is_empty() => format!(
                "approval by an owner of the release on {PRODUCTION} ({}: {})",
                p.id,
                self.owners.join(", ")
            ),
            _ => format!(
                "approval by role admin (`{}` has no release with owners on {PRODUCTION} yet)",
                self.prompt
            ),
        }
    }

    /// Refuses a deploy or rollback of a protected channel by someone who neither owns the
    /// prompt nor is an admin.
    pub fn require_owner(&self, actor: &Actor, what: &str) -> Result<()> {
        if self.owns_or_admin(actor) {
            return Ok(());
        }
        let owners = match self.owners.as_slice() {
            [] => format!("none until a release is on {PRODUCTION}"),
            o => o.join(", "),
        };
        Err(ControlError::Forbidden(format!(
            "{what} needs an owner of `{}` (owners: {owners}) or role admin; `{}` is neither",
            self.prompt, actor.name
        )))
    }
}

/// What `to` changes against `from`: its pinned model, its tools (by name, and those whose
/// definition changed) and its owners; each `null` when unchanged.
pub fn changes(from: &ReleaseRecord, to: &ReleaseRecord) -> Value {
    let model = |r: &ReleaseRecord| field(r, "model").unwrap_or(Value::Null);
    let (m0, m1) = (model(from), model(to));
    let tools = |r: &ReleaseRecord| -> Vec<(String, Value)> {
        field(r, "tools")
            .and_then(|t| t.as_array().cloned())
            .unwrap_or_default()
            .into_iter()
            .map(|t| (t["name"].as_str().unwrap_or("").to_string(), t))
            .collect()
    };
    let (t0, t1) = (tools(from), tools(to));
    let named = |list: &[(String, Value)], n: &str| list.iter().find(|(k, _)| k == n).cloned();
    let added: Vec<&str> = t1
        .iter()
        .filter(|(n, _)| named(&t0, n).is_none())
        .map(|(n, _)| n.as_str())
        .collect();
    let removed: Vec<&str> = t0
        .iter()
        .filter(|(n, _)| named(&t1, n).is_none())
        .map(|(n, _)| n.as_str())
        .collect();
    let changed: Vec<&str> = t1
        .iter()
        .filter(|(n, v)| named(&t0, n).is_some_and(|(_, old)| old != *v))
        .map(|(n, _)| n.as_str())
        .collect();
    let (o0, o1) = (listed_owners(from), listed_owners(to));
    let owners_added: Vec<&String> = o1.iter().filter(|o| !o0.contains(o)).collect();
    let owners_removed: Vec<&String> = o0.iter().filter(|o| !o1.contains(o)).collect();
    json!({
        "against": from.id,
        "model": (m0 != m1).then(|| json!({"from": m0, "to": m1})),
        "tools": (!(added.is_empty() && removed.is_empty() && changed.is_empty()))
            .then(|| json!({"added": added, "removed": removed, "changed": changed})),
        "owners": (!(owners_added.is_empty() && owners_removed.is_empty()))
            .then(|| json!({"added": owners_added, "removed": owners_removed})),
    })
}

/// What a release changes against the release on production (against the release made
/// before it when it is itself on production, or nothing is); `null` for a prompt's first.
pub async fn changes_of(
    store: &(impl Releases + ?Sized),
    release: &ReleaseRecord,
) -> Result<Value> {
    let trust = Trust::of(store, &release.prompt).await?;
    let base = match trust.production {
        Some(p) if p.id != release.id => Some(p),
        _ => store
            .list_releases(&release.prompt)
            .await?
            .into_iter()
            .take_while(|r| r.id != release.id)
            .last(),
    };
    Ok(base.map(|b| changes(&b, release)).unwrap_or(Value::Null))
}

/// [`changes`] in words: "model a -> b; tools +x -y ~z; owners +eve", or "" when none of
/// them changed.
pub fn changes_text(changes: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(m) = changes.get("model").filter(|m| !m.is_null()) {
        parts.push(format!(
            "model {} -> {}",
            m["from"].as_str().unwrap_or("-"),
            m["to"].as_str().unwrap_or("-")
        ));
    }
    if let Some(t) = changes.get("tools").filter(|t| !t.is_null()) {
        parts.push(format!("tools {}", signed(t)));
    }
    if let Some(o) = changes.get("owners").filter(|o| !o.is_null()) {
        parts.push(format!("owners {}", signed(o)));
    }
    parts.join("; ")
}

/// `{added, removed, changed}` lists as "+a -b ~c".
pub fn signed(lists: &Value) -> String {
    let mut out = Vec::new();
    for (key, sign) in [("added", "+"), ("removed", "-"), ("changed", "~")] {
        for name in lists[key].as_array().into_iter().flatten() {
            out.push(format!("{sign}{}", name.as_str().unwrap_or("")));
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(id: &str, content: Value) -> ReleaseRecord {
        ReleaseRecord {
            id: id.into(),
            prompt: "support-bot".into(),
            content: content.to_string(),
            author: "ana".into(),
            created_ms: 1,
        }
    }

    #[test]
    fn a_new_model_tools_and_owners_are_named() {
        let tool = |name: &str, d: &str| json!({"name": name, "description": d});
        let a = release(
            "rel_a",
            json!({"model": "m-1", "owners": ["ana", "ben"], "tools": [tool("lookup", "x"), tool("refund", "y")]}),
        );
        let b = release(
            "rel_b",
            json!({"model": "m-2", "owners": ["ana", "eve"], "tools": [tool("find", "x"), tool("refund", "z")]}),
        );
        let c = changes(&a, &b);
        assert_eq!(c["against"], "rel_a");
        assert_eq!(
            changes_text(&c),
            "model m-1 -> m-2; tools +find -lookup ~refund; owners +eve -ben"
        );
        assert_eq!(changes_text(&changes(&a, &a)), "");
        assert!(changes(&a, &a)["model"].is_null());
    }
}
