//! The control plane's changes: each an action on the audit chain and an event kind on the
//! change timeline, the kind being the action with `_` for `.`.

use seam_vocab::EventKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Change {
    pub action: &'static str,
    pub kind: EventKind,
}

const fn change(action: &'static str, kind: EventKind) -> Change {
    Change { action, kind }
}

pub(crate) const RELEASE_CREATE: Change = change("release.create", EventKind::ReleaseCreate);
pub(crate) const RELEASE_APPROVE: Change = change("release.approve", EventKind::ReleaseApprove);
pub(crate) const RELEASE_DEPLOY: Change = change("release.deploy", EventKind::ReleaseDeploy);
pub(crate) const RELEASE_ROLLBACK: Change = change("release.rollback", EventKind::ReleaseRollback);
pub(crate) const CONFIG_CHANGE: Change = change("config.change", EventKind::ConfigChange);
pub(crate) const CONFIG_RELOAD: Change = change("config.reload", EventKind::ConfigReload);
pub(crate) const SESSION_MIGRATE: Change = change("session.migrate", EventKind::SessionMigrate);
pub(crate) const GATE_OVERRIDDEN: Change =
    change("eval_gate.overridden", EventKind::EvalGateOverridden);
pub(crate) const CONTAMINATION_ALLOWED: Change = change(
    "release.contamination_allowed",
    EventKind::ReleaseContaminationAllowed,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_its_action_with_underscores() {
        for c in [
            RELEASE_CREATE,
            RELEASE_APPROVE,
            RELEASE_DEPLOY,
            RELEASE_ROLLBACK,
            CONFIG_CHANGE,
            CONFIG_RELOAD,
            SESSION_MIGRATE,
            GATE_OVERRIDDEN,
            CONTAMINATION_ALLOWED,
        ] {
            assert_eq!(c.kind.as_str(), c.action.replace('.', "_"));
        }
    }
}
