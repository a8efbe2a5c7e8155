//! The tables the control-plane rules act on, checked against the audit records that made
//! them: every release, approval and deploy must have been recorded, as it is stored, and
//! every record's row must still be there. The records are those `seam-control` appends
//! (`release.create`, `release.approve`, `release.deploy`, `release.rollback`); a row that
//! some other writer added, changed or deleted does not match them. As strong as the chain:
//! on an unkeyed chain, whoever changes a row can rewrite the records to match.

use super::Problem;
use crate::{ApprovalRecord, AuditRecord, DeployRecord, ReleaseRecord};
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};

/// Every release, approval and deploy, oldest first.
#[derive(Debug, Clone, Default)]
pub struct ControlRows {
    pub releases: Vec<ReleaseRecord>,
    pub approvals: Vec<ApprovalRecord>,
    pub deploys: Vec<DeployRecord>,
}

pub(super) fn check(chain: &[AuditRecord], rows: &ControlRows, problems: &mut Vec<Problem>) {
    releases(chain, &rows.releases, problems);
    approvals(chain, &rows.approvals, problems);
    deploys(chain, &rows.deploys, problems);
}

/// The records of one action, by subject, oldest first.
fn by_subject<'a>(
    chain: &'a [AuditRecord],
    actions: &[&str],
) -> BTreeMap<&'a str, VecDeque<&'a AuditRecord>> {
    let mut out: BTreeMap<&str, VecDeque<&AuditRecord>> = BTreeMap::new();
    for r in chain
        .iter()
        .filter(|r| actions.contains(&r.action.as_str()))
    {
        out.entry(r.subject.as_str()).or_default().push_back(r);
    }
    out
}

fn row(at: String, reason: String) -> Problem {
    Problem {
        at,
        record: None,
        reason,
    }
}

fn unmatched(
    records: BTreeMap<&str, VecDeque<&AuditRecord>>,
    what: impl Fn(&AuditRecord) -> String,
    problems: &mut Vec<Problem>,
) {
    for r in records.into_values().flatten() {
        problems.push(Problem::record(r.seq, what(r)));
    }
}

/// A release's id is the hash of its content, and its author is who recorded creating it.
fn releases(chain: &[AuditRecord], rows: &[ReleaseRecord], problems: &mut Vec<Problem>) {
    let mut created = by_subject(chain, &["release.create"]);
    for r in rows {
        let at = format!("release {}", r.id);
        if ReleaseRecord::id_of(&r.content) != r.id {
            problems.push(row(
                at.clone(),
                "its content does not hash to its id: the content was changed".into(),
            ));
        }
        match created.get_mut(r.id.as_str()).and_then(VecDeque::pop_front) {
            None => problems.push(row(
                at,
                "no audit record created it: it was inserted outside Seam".into(),
            )),
            Some(a) if a.actor != r.author => problems.push(row(
                at,
                format!(
                    "its author is `{}`, but audit record {} has `{}` creating it",
                    r.author, a.seq, a.actor
                ),
            )),
            Some(_) => {}
        }
    }
    unmatched(
        created,
        |a| {
            format!(
                "it creates release {}, which the releases table does not have (deleted)",
                a.subject
            )
        },
        problems,
    );
}

fn approvals(chain: &[AuditRecord], rows: &[ApprovalRecord], problems: &mut Vec<Problem>) {
    let mut approved = by_subject(chain, &["release.approve"]);
    for a in rows {
        let records = approved.get_mut(a.release_id.as_str());
        let found = records.and_then(|rs| {
            let i = rs.iter().position(|r| r.actor == a.approver)?;
            rs.remove(i)
        });
        if found.is_none() {
            problems.push(row(
                format!("approval of {} by {}", a.release_id, a.approver),
                "no audit record approved it: it was inserted outside Seam".into(),
            ));
        }
    }
    unmatched(
        approved,
        |r| {
            format!(
                "`{}` approves {}, but the approvals table has no such approval (deleted)",
                r.actor, r.subject
            )
        },
        problems,
    );
}

/// One deploy as the rules see it: which release, by whom, how, and whether a rollback.
#[derive(PartialEq)]
struct Put<'a> {
    release: &'a str,
    actor: &'a str,
    mode: &'a str,
    rollback: bool,
}

impl std::fmt::Display for Put<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.rollback { "rollback" } else { "deploy" };
        write!(
            f,
            "{what} of {} by {} ({})",
            self.release, self.actor, self.mode
        )
    }
}

fn put_of_row(d: &DeployRecord) -> Put<'_> {
    Put {
        release: &d.release_id,
        actor: &d.actor,
        mode: d.mode.as_str(),
        rollback: d.kind == seam_vocab::DeployKind::Rollback,
    }
}

fn put_of_record<'a>(r: &'a AuditRecord, after: &'a Value) -> Put<'a> {
    Put {
        release: after.get("release").and_then(Value::as_str).unwrap_or(""),
        actor: &r.actor,
        // Deploys recorded before modes existed were drains.
        mode: after.get("mode").and_then(Value::as_str).unwrap_or("drain"),
        rollback: r.action == "release.rollback",
    }
}

/// The first difference on a channel: what follows it is shifted and says no more.
fn first_difference(target: &str, rows: &[&DeployRecord], puts: &[(i64, Put)]) -> Option<Problem> {
    (0..rows.len().max(puts.len())).find_map(|i| match (rows.get(i), puts.get(i)) {
        (Some(d), Some((seq, put))) if put_of_row(d) != *put => Some(row(
            format!("deploy {}", d.id),
            format!(
                "deploy {} of {target} is a {}, but audit record {seq} has a {put}",
                i + 1,
                put_of_row(d),
            ),
        )),
        (Some(d), None) => Some(row(
            format!("deploy {}", d.id),
            format!(
                "no audit record made this {} on {target}: it was inserted outside Seam",
                put_of_row(d)
            ),
        )),
        (None, Some((seq, put))) => Some(Problem::record(
            *seq,
            format!(
                "it records a {put} on {target}, which the deploys table does not have (deleted)"
            ),
        )),
        _ => None,
    })
}

/// Each channel's deploys, in order, are the deploys its records say, in theirs: the last one
/// is what the channel serves, and a rollback goes back along them.
fn deploys(chain: &[AuditRecord], rows: &[DeployRecord], problems: &mut Vec<Problem>) {
    let mut recorded = by_subject(chain, &["release.deploy", "release.rollback"]);
    let mut targets: BTreeMap<String, Vec<&DeployRecord>> = BTreeMap::new();
    for d in rows {
        targets
            .entry(format!("{}@{}", d.prompt, d.channel))
            .or_default()
            .push(d);
    }
    for (target, rows) in &targets {
        let records: Vec<&AuditRecord> = recorded
            .remove(target.as_str())
            .map(Vec::from)
            .unwrap_or_default();
        let afters: Vec<Value> = records
            .iter()
            .map(|r| {
                r.after
                    .as_deref()
                    .and_then(|a| serde_json::from_str(a).ok())
                    .unwrap_or(Value::Null)
            })
            .collect();
        let puts: Vec<(i64, Put)> = records
            .iter()
            .zip(&afters)
            .map(|(r, a)| (r.seq, put_of_record(r, a)))
            .collect();
        if let Some(p) = first_difference(target, rows, &puts) {
            problems.push(p);
        }
    }
    // Channels with records and no rows at all: their first record says it.
    for r in recorded.into_values().filter_map(|mut rs| rs.pop_front()) {
        problems.push(Problem::record(
            r.seq,
            format!(
                "it records a deploy on {}, which the deploys table does not have (deleted)",
                r.subject
            ),
        ));
    }
}
