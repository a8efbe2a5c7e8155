//! What a deploy is and what it does to pinned sessions.

use crate::vocabulary;

vocabulary! {
    /// What a deploy does to sessions pinned to the release it replaces.
    #[derive(Default)]
    pub enum DeployMode as "deploy mode" {
        /// New sessions get the new release; pinned sessions keep theirs until they end.
        #[default]
        Drain => "drain",
        /// Every session moves to the new release at its next call.
        Immediate => "immediate",
    }
}

vocabulary! {
    /// How a channel came to point at a release.
    pub enum DeployKind as "deploy kind" {
        Deploy => "deploy",
        /// Back to a release the channel had before.
        Rollback => "rollback",
        /// A prompt file put on `[prompts] live_channel`, without an approval.
        Live => "live",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{refuses, round_trips};

    #[test]
    fn deploy_modes_keep_their_strings() {
        let pinned = [
            (DeployMode::Drain, "drain"),
            (DeployMode::Immediate, "immediate"),
        ];
        assert_eq!(DeployMode::ALL.len(), pinned.len());
        for (v, s) in pinned {
            round_trips(v, s);
        }
        assert_eq!(DeployMode::default(), DeployMode::Drain);
        refuses::<DeployMode>("Drain", "deploy mode");
    }

    #[test]
    fn deploy_kinds_keep_their_strings() {
        let pinned = [
            (DeployKind::Deploy, "deploy"),
            (DeployKind::Rollback, "rollback"),
            (DeployKind::Live, "live"),
        ];
        assert_eq!(DeployKind::ALL.len(), pinned.len());
        for (v, s) in pinned {
            round_trips(v, s);
        }
        refuses::<DeployKind>("undo", "deploy kind");
    }
}
