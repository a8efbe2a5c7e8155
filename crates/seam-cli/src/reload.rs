//! `seam reload`: asks a running gateway to reload its config file and prompts directory
//! (`POST /api/reload`), as `SEAM_TOKEN`'s user.

use std::path::Path;

pub async fn reload(config: &Path, url: Option<String>, json: bool) -> anyhow::Result<()> {
    let base = match url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => {
            let cfg = seam_config::load_lenient(config)?;
            let addr = cfg.server.listen;
            let host = if addr.ip().is_unspecified() {
                "127.0.0.1".to_string()
            } else {
                addr.ip().to_string()
            };
            format!("http://{host}:{}", addr.port())
        }
    };
    let token = std::env::var("SEAM_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            anyhow::anyhow!("set SEAM_TOKEN to your token: a reload is recorded under your name")
        })?;
    let client = seam_gateway::outbound::http_client(std::time::Duration::from_secs(5))
        .map_err(anyhow::Error::msg)?;
    let resp = client
        .post(format!("{base}/api/reload"))
        .bearer_auth(token)
        .timeout(std::time::Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach the gateway at {base}: {e}"))?;
    let status = resp.status();
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    if json {
        println!("{}", serde_json::to_string_pretty(&body)?);
    }
    if !status.is_success() {
        let message = body
            .pointer("/error/message")
            .and_then(|m| m.as_str())
            .unwrap_or("no reason given");
        anyhow::bail!("{status}: {message}");
    }
    if !json {
        let released = body["released"].as_array().map(Vec::len).unwrap_or(0);
        println!(
            "reloaded {} ({}; {} prompt files checked; {} released on the live channel)",
            body["file"].as_str().unwrap_or("?"),
            if body["config_changed"].as_bool() == Some(true) {
                "config changed"
            } else {
                "config unchanged"
            },
            body["prompts"],
            released
        );
    }
    Ok(())
}
