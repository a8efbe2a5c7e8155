//! What the dashboard needs from the gateway that serves it, for the deploy and rollback
//! forms: the config's rules as they are now (a reload may change them) and a way to make
//! the running gateway serve a deploy at once; and for the coverage page, `[evals] dir` and
//! `[failures]`. `seam-gateway` gives one to [`Ui::with_gateway`];
//! without one (a `Ui` on a bare store, as in tests) the CLI's defaults without a config
//! file hold: `production` is protected, no `[evals] dir` is known, nothing to refresh.

use crate::Ui;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

/// The running gateway, as the dashboard's forms see it.
pub trait Gateway: Send + Sync {
    /// `[prompts] protected_channels` of the config in force.
    fn protected_channels(&self) -> Vec<String>;
    /// `[evals] dir` of the config in force: where a gated release's dataset is read.
    fn evals_dir(&self) -> Option<PathBuf>;
    /// `[failures]` of the config in force: the coverage page's thresholds (the defaults
    /// without a gateway).
    fn failures(&self) -> seam_config::Failures {
        seam_config::Failures::default()
    }
    /// Called once a deploy or rollback is stored: this gateway serves it from now on
    /// (other gateways on the store pick it up at their next refresh, as after `/api/`).
    fn deployed(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

impl Ui {
    /// The dashboard as part of a running gateway (see [`Gateway`]).
    pub fn with_gateway(mut self, gateway: Arc<dyn Gateway>) -> Ui {
        self.gateway = Some(gateway);
        self
    }

    pub(crate) fn protected_channels(&self) -> Vec<String> {
        match &self.gateway {
            Some(g) => g.protected_channels(),
            None => vec![seam_control::owners::PRODUCTION.to_string()],
        }
    }

    pub(crate) fn evals_dir(&self) -> Option<PathBuf> {
        self.gateway.as_ref().and_then(|g| g.evals_dir())
    }

    pub(crate) fn failures(&self) -> seam_config::Failures {
        self.gateway
            .as_ref()
            .map_or_else(seam_config::Failures::default, |g| g.failures())
    }

    pub(crate) async fn deployed(&self) {
        if let Some(g) = &self.gateway {
            g.deployed().await;
        }
    }
}
