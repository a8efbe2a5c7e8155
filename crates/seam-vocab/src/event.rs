//! What the change timeline records.

use crate::vocabulary;

vocabulary! {
    /// What an entry of the change timeline is about. The gateway's detectors and record
    /// writer write the first nine; the control plane writes the eval and release ones after
    /// them, each its audit action with `_` for `.` (`release.deploy` is `release_deploy`);
    /// the canary runner writes the canary ones, which are no audit action.
    pub enum EventKind as "event kind" {
        /// A provider answered a requested model with another served model.
        ServedModelChanged => "served_model_changed",
        /// The same served model came with another system fingerprint.
        FingerprintChanged => "fingerprint_changed",
        /// First attempts fail while retries keep calls succeeding.
        ProviderDegradedHiddenByRetries => "provider_degraded_hidden_by_retries",
        /// A provider's chunking changed shape.
        StreamShapeChanged => "stream_shape_changed",
        /// An `immediate` deploy moved a pinned session.
        SessionMoved => "session_moved",
        ConfigReloadRefused => "config_reload_refused",
        /// The provider served another model than a release pins.
        ReleaseModelMismatch => "release_model_mismatch",
        /// A store outage ended and records were lost in it.
        RecordsDropped => "records_dropped",
        /// A store outage ended with every record kept.
        StoreOutage => "store_outage",
        /// The record writer fell behind and kept calls without their captured content.
        ContentDropped => "content_dropped",
        /// A retention round deleted expired records or content.
        RetentionDeleted => "retention_deleted",
        ReleaseCreate => "release_create",
        ReleaseApprove => "release_approve",
        ReleaseDeploy => "release_deploy",
        ReleaseRollback => "release_rollback",
        ConfigChange => "config_change",
        ConfigReload => "config_reload",
        SessionMigrate => "session_migrate",
        /// `seam eval gate` passed a candidate run against its baseline.
        EvalGatePassed => "eval_gate_passed",
        /// `seam eval gate` failed a candidate run.
        EvalGateFailed => "eval_gate_failed",
        /// `seam eval gate` could not tell: the runs are too small to see the margin.
        EvalGateInconclusive => "eval_gate_inconclusive",
        /// An admin deployed a gated release without the passing gate it needed, with a reason.
        EvalGateOverridden => "eval_gate_overridden",
        /// An owner made a release that contains eval cases, with a reason
        /// (`--allow-contamination`); the event names the cases.
        ReleaseContaminationAllowed => "release_contamination_allowed",
        /// A canary's replay failed (after its retry) where its previous run had not: the
        /// event names the golden and what changed since it was recorded.
        CanaryFailed => "canary_failed",
        /// A failing canary passed again.
        CanaryRecovered => "canary_recovered",
        /// A budget's projection at its window's reset reaches its limit with at least 80%
        /// confidence (`seam forecast`; once per limit and window).
        BudgetExceedProjected => "budget_exceed_projected",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{refuses, round_trips};

    #[test]
    fn event_kinds_keep_their_strings() {
        let pinned = [
            (EventKind::ServedModelChanged, "served_model_changed"),
            (EventKind::FingerprintChanged, "fingerprint_changed"),
            (
                EventKind::ProviderDegradedHiddenByRetries,
                "provider_degraded_hidden_by_retries",
            ),
            (EventKind::StreamShapeChanged, "stream_shape_changed"),
            (EventKind::SessionMoved, "session_moved"),
            (EventKind::ConfigReloadRefused, "config_reload_refused"),
            (EventKind::ReleaseModelMismatch, "release_model_mismatch"),
            (EventKind::RecordsDropped, "records_dropped"),
            (EventKind::StoreOutage, "store_outage"),
            (EventKind::ContentDropped, "content_dropped"),
            (EventKind::RetentionDeleted, "retention_deleted"),
            (EventKind::ReleaseCreate, "release_create"),
            (EventKind::ReleaseApprove, "release_approve"),
            (EventKind::ReleaseDeploy, "release_deploy"),
            (EventKind::ReleaseRollback, "release_rollback"),
            (EventKind::ConfigChange, "config_change"),
            (EventKind::ConfigReload, "config_reload"),
            (EventKind::SessionMigrate, "session_migrate"),
            (EventKind::EvalGatePassed, "eval_gate_passed"),
            (EventKind::EvalGateFailed, "eval_gate_failed"),
            (EventKind::EvalGateInconclusive, "eval_gate_inconclusive"),
            (EventKind::EvalGateOverridden, "eval_gate_overridden"),
            (
                EventKind::ReleaseContaminationAllowed,
                "release_contamination_allowed",
            ),
            (EventKind::CanaryFailed, "canary_failed"),
            (EventKind::CanaryRecovered, "canary_recovered"),
            (EventKind::BudgetExceedProjected, "budget_exceed_projected"),
        ];
        assert_eq!(EventKind::ALL.len(), pinned.len());
        for (v, s) in pinned {
            round_trips(v, s);
        }
        refuses::<EventKind>("release.deploy", "event kind");
    }
}
