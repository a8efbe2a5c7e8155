//! `seam sim`.

use anyhow::Context;
use seam_sim::{Scenario, Sim};
use std::net::SocketAddr;
use std::path::Path;

pub async fn run(listen: SocketAddr, scenario: Option<&Path>) -> anyhow::Result<()> {
    crate::init_logging("info");
    let scenario = match scenario {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read the scenario {}", p.display()))?;
            Scenario::from_toml(&text)
                .map_err(|e| anyhow::anyhow!("scenario {}: {e}", p.display()))?
        }
        None => Scenario::default(),
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    tracing::info!(addr = %listener.local_addr()?, "seam sim is serving (OpenAI at /v1/chat/completions, Anthropic at /v1/messages, control at /_sim/scenario)");
    seam_sim::server::serve(listener, Sim::new(scenario), crate::shutdown_signal()).await?;
    Ok(())
}
