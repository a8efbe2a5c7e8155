//! Seam's configuration.
//!
//! Parsing is two steps: [`raw`] mirrors the TOML file exactly and refuses unknown keys,
//! then [`validate`] turns it into the typed [`Config`] the gateway runs on, reporting every
//! problem at once with the key it concerns.

mod audit;
mod calendar;
mod canaries;
mod capture;
mod cors;
mod evals;
mod failures;
mod limits;
mod notify;
mod raw;
mod records;
mod retry;
mod secret;
mod sessions;
mod streams;
mod telemetry;
mod ui;
mod validate;
mod window;

pub use audit::Audit;
pub use calendar::{Calendar, Holiday};
pub use canaries::{Canaries, DEFAULT_CANARIES_DIR, DEFAULT_CANARY_REPEAT};
pub use capture::{
    CUSTOM_PREFIX, Capture, CaptureMode, CaptureOverride, CapturePolicy, DEFAULT_MAX_BYTES,
    MAX_RETENTION_DAYS, Redact, RedactPack,
};
pub use cors::Cors;
pub use evals::{Contamination, DEFAULT_EVALS_DIR, Evals};
pub use failures::Failures;
pub use limits::{
    FailMode, LimitBackend, Limits, Metric, OnBackendDown, TenantLimit, TraceLimits,
    Window as LimitWindow, parse_limit,
};
pub use notify::{DEFAULT_WEBHOOK_ATTEMPTS, DEFAULT_WEBHOOK_TIMEOUT_MS, Notify, Webhook};
pub use raw::{ProviderKind, ResponseModel};
pub use records::{Durability, Records};
pub use retry::{Divergence, RETRYABLE_CLASSES, RetryPolicy};
pub use secret::Secret;
pub use sessions::{SessionTtl, Sessions};
pub use streams::{Boundary, Rechunk, StreamSlo, Streams};
pub use telemetry::{Otlp, Telemetry};
pub use ui::Ui;
pub use validate::{
    Config, ConfigError, PROMPT_MODEL_PREFIX, Price, Provider, RELEASE_MODEL_PREFIX, Route,
    ServerConfig, StoreConfig, Target,
};
pub use window::{civil_day, parse_day, window_of, window_start};

use std::path::Path;

/// Reads, parses and validates a config file. Secrets named by `*_env` keys are read from
/// `env` (normally the process environment).
pub fn load(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.display().to_string(),
        problems: vec![format!("cannot read the file: {e}")],
    })?;
    parse(&text, path, env)
}

/// Parses and validates config text; `origin` names the file in errors.
pub fn parse(
    text: &str,
    origin: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let file = origin.display().to_string();
    let raw: raw::RawConfig = toml::from_str(text).map_err(|e| ConfigError {
        file: file.clone(),
        problems: vec![e.to_string().trim_end().to_string()],
    })?;
    validate::validate(raw, origin, env).map_err(|problems| ConfigError { file, problems })
}

/// Reads only what the admin commands (`seam keys`, `seam calls`) need: the store. The file
/// must still parse strictly; provider secrets are not required to be set.
pub fn load_store(path: &Path) -> Result<StoreConfig, ConfigError> {
    Ok(load(path, &|name| process_env(name).or(Some(String::new())))?.store)
}

/// A store URL fit to print: any password replaced.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The whole config without requiring provider secrets to be set (for commands that only
/// read it, such as `seam prompt lint`).
pub fn load_lenient(path: &Path) -> Result<Config, ConfigError> {
    load(path, &|name| process_env(name).or(Some(String::new())))
}

/// Reads secrets from the process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}
