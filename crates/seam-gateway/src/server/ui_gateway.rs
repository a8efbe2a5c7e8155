//! The running gateway as the dashboard's prompt forms need it (`seam_ui::Gateway`): the
//! config in force (a reload may change its protected channels and `[evals] dir`, as it does
//! for `/api/`), and after a deploy or rollback made on the dashboard, the release snapshot
//! refreshed at once, so this gateway serves it from its next call rather than within the
//! periodic refresh (other gateways on the store pick it up at theirs, as after `/api/`).

use crate::App;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

pub(super) struct UiGateway(pub Arc<App>);

impl seam_ui::Gateway for UiGateway {
    fn protected_channels(&self) -> Vec<String> {
        self.0.live().config.protected_channels.clone()
    }

    fn evals_dir(&self) -> Option<PathBuf> {
        Some(self.0.live().config.evals.dir.clone())
    }

    fn failures(&self) -> seam_config::Failures {
        self.0.live().config.failures.clone()
    }

    fn deployed(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            if let Err(e) = self.0.releases.refresh(self.0.store.as_ref()).await {
                tracing::warn!(error = %e, "deployed from the dashboard, but the release snapshot is not refreshed yet");
            }
        })
    }
}
