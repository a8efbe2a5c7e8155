//! Who may run evals and gate them (docs/evals.md "Who may run what"). A run and a gate
//! decision change the store (a run's results; a decision on the audit chain that a gated
//! deploy reads), so they are limited by what the run calls:
//!
//! - a prompt's channel (`prompt`, `NAME@CHANNEL`) or a release (`release`, its id): an owner
//!   of that prompt (`owners.rs`: the owners of its release on production; admins while it
//!   has none) or an admin, as for deploying it to a protected channel, since a gate decision
//!   on such runs feeds that prompt's deploys;
//! - a route (`route`): an operator of some tenant, or an admin, as for the traffic an
//!   operator's keys send.
//!
//! Reading runs needs any user (bootstrap mode, with no users, stays open): see
//! `seam-cli/src/actor.rs`.

use crate::owners::Trust;
use crate::{Actor, ControlError, Result};
use seam_store::Releases;

/// Refuses `what` (e.g. "running evals against route `chat`") on a run whose target is
/// `kind` (`route`, `prompt`, `release`) and `target` unless `actor` may, naming the actor,
/// the action and the role that would allow it.
pub async fn require_eval(
    store: &(impl Releases + ?Sized),
    actor: &Actor,
    kind: &str,
    target: &str,
    what: &str,
) -> Result<()> {
    match kind {
        "route" => actor.require_some_operator(what),
        "prompt" => {
            let name = target.split_once('@').map_or(target, |(n, _)| n);
            Trust::of(store, name).await?.require_owner(actor, what)
        }
        "release" => {
            let release = store.get_release(target).await?.ok_or_else(|| {
                ControlError::NotFound(format!(
                    "no release `{target}` in the store (see `seam release list`)"
                ))
            })?;
            Trust::of(store, &release.prompt)
                .await?
                .require_owner(actor, what)
        }
        other => Err(ControlError::Invalid(format!(
            "an eval run's target kind is route, prompt or release, not `{other}`"
        ))),
    }
}
