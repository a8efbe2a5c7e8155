//! Turns the raw file into typed values, collecting every problem with the key it concerns.

use crate::raw::{ProviderKind, RawConfig, ResponseModel};
use crate::retry::{Divergence, RetryPolicy};
use crate::secret::Secret;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A config file that could not be used: the file and every problem found in it.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigError {
    pub file: String,
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid config {}:", self.file)?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub providers: Vec<Provider>,
    pub routes: Vec<Route>,
    /// USD per million tokens, by model name as the provider reports or is asked for.
    pub prices: BTreeMap<String, Price>,
    pub divergence: Divergence,
    pub limits: crate::limits::Limits,
    /// Where the prompt files are (`[prompts] dir`, relative to the config file).
    pub prompts_dir: PathBuf,
    /// The channel that serves the prompt files as they are on disk, re-released on every
    /// reload (development); other channels need an approval and a deploy.
    pub live_channel: Option<String>,
    /// Channels that only an owner of the prompt or an admin may deploy to or roll back
    /// (`[prompts] protected_channels`; always includes `production`).
    pub protected_channels: Vec<String>,
    /// The fuel one prompt render may use (`[prompts] render_fuel`): MiniJinja's, about one
    /// per template instruction and per 64 bytes of data, so it bounds time and memory.
    pub render_fuel: u64,
    pub sessions: crate::sessions::Sessions,
    pub streams: crate::streams::Streams,
    pub records: crate::records::Records,
    /// `[capture]`: content capture's retention, defaults and tenants.
    pub capture: crate::capture::Capture,
    pub telemetry: crate::telemetry::Telemetry,
    /// Where `seam serve` anchors the audit chain's head.
    pub audit: crate::audit::Audit,
    /// `[evals]`: the datasets directory and the graders' default routes.
    pub evals: crate::evals::Evals,
    /// `[canaries]`: the goldens directory, their schedule and triggers.
    pub canaries: crate::canaries::Canaries,
    /// `[[notify.webhooks]]`: where timeline events are pushed.
    pub notify: crate::notify::Notify,
    /// `[ui]`: the dashboard.
    pub ui: crate::ui::Ui,
    /// `[calendar]`: holidays and special periods, for the forecasts.
    pub calendar: crate::calendar::Calendar,
    /// `[failures]`: the silent-failure signals and clusters.
    pub failures: crate::failures::Failures,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub admin_token: Option<Secret>,
    /// When set, `/metrics` answers only requests that carry it as a bearer token.
    pub metrics_token: Option<Secret>,
    pub max_body_bytes: usize,
    /// When set, requests without a key are served as this tenant (local development only).
    pub keyless_tenant: Option<String>,
    pub shutdown_grace: Duration,
    /// How long a connection may take to send a request's head: from accept for its first
    /// request, from its first byte for a later one.
    pub header_timeout: Duration,
    /// How long a request's body may take to arrive once its head has.
    pub body_timeout: Duration,
    /// How long a kept-alive connection may wait between requests.
    pub idle_timeout: Duration,
    /// The most client connections open at once; `None`: derived from the open-file limit
    /// when the server starts.
    pub max_connections: Option<usize>,
    /// `[server.cors]`: which browser origins may call; `None`, CORS off. Read per request,
    /// so a reload applies it.
    pub cors: Option<crate::cors::Cors>,
}

#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub url: String,
    /// PostgreSQL pool size (SQLite always uses one connection).
    pub max_connections: u32,
    pub batch_size: usize,
    pub queue_capacity: usize,
    pub flush_interval: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    pub name: String,
    pub kind: ProviderKind,
    pub base_url: Option<String>,
    pub api_key: Option<Secret>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub anthropic_version: String,
    pub scenario: Option<PathBuf>,
    /// The largest stream event (SSE) Seam reads from this provider; a larger one fails the
    /// attempt (`bad_response`) instead of being buffered without end.
    pub max_event_bytes: usize,
    /// Whether it speaks the Responses API (`POST /responses`): `/v1/responses` calls are
    /// passed through to it; without, they are translated to chat completions.
    pub responses: bool,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub name: String,
    pub targets: Vec<Target>,
    pub response_model: ResponseModel,
    pub retry: RetryPolicy,
    /// The route's own trace limits, over the defaults.
    pub trace_limits: Option<crate::limits::TraceLimits>,
    pub stream_slo: Option<crate::streams::StreamSlo>,
    pub rechunk: Option<crate::streams::Rechunk>,
    /// The route's `capture` keys, over `[capture]`'s (a tenant's win over them).
    pub capture: Option<crate::capture::CaptureOverride>,
}

#[derive(Debug, Clone)]
pub struct Target {
    pub provider: String,
    pub model: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    /// Dollars per million training tokens, when fine-tuning this model has a price
    /// (`seam dataset lint`'s cost estimate).
    pub training: Option<f64>,
}

impl Price {
    pub fn cost(&self, input_tokens: u64, output_tokens: u64) -> f64 {
        (input_tokens as f64 * self.input + output_tokens as f64 * self.output) / 1_000_000.0
    }
}

impl Config {
    pub fn route(&self, name: &str) -> Option<&Route> {
        self.routes.iter().find(|r| r.name == name)
    }

    pub fn price(&self, model: &str) -> Option<Price> {
        self.prices.get(model).copied()
    }

    /// The tenants this config names: `[limits.tenants.*]`, `[capture.tenants.*]` and
    /// `server.keyless_tenant` (tenants otherwise exist through their keys, in the store).
    pub fn tenants(&self) -> std::collections::BTreeSet<String> {
        named_tenants(
            &self.limits,
            &self.capture,
            self.server.keyless_tenant.as_deref(),
        )
    }

    /// The capture policy of a call of `tenant` on `route` (a route not configured, such as
    /// a prompt's, has only `[capture]`'s and the tenant's).
    pub fn capture_policy(&self, tenant: &str, route: &str) -> crate::capture::CapturePolicy {
        let route = self.route(route).and_then(|r| r.capture.as_ref());
        self.capture.policy(tenant, route)
    }

    /// Whether any tenant or route may capture content (`mode = "full"` somewhere): when
    /// not, capture costs a call nothing.
    pub fn capture_enabled(&self) -> bool {
        let full =
            |o: &crate::capture::CaptureOverride| o.mode == Some(crate::capture::CaptureMode::Full);
        self.capture.default.mode == crate::capture::CaptureMode::Full
            || self.capture.tenants.values().any(full)
            || self
                .routes
                .iter()
                .filter_map(|r| r.capture.as_ref())
                .any(full)
    }
}

/// A call whose `model` starts with this names a prompt (`prompt:NAME[@CHANNEL]`), not a route.
pub const PROMPT_MODEL_PREFIX: &str = "prompt:";
/// A call whose `model` starts with this names a stored release by id (`release:ID`): eval
/// traffic only.
pub const RELEASE_MODEL_PREFIX: &str = "release:";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:4000";
pub const DEFAULT_MAX_BODY: usize = 32 * 1024 * 1024;
/// Clients send a request's head at once; a connection still sending one after 10 s is
/// holding a slot, not making a call.
pub const DEFAULT_HEADER_TIMEOUT_MS: u64 = 10_000;
/// Room for the largest body (`max_body_bytes`, 32 MiB) over a slow link.
pub const DEFAULT_BODY_TIMEOUT_MS: u64 = 60_000;
/// Longer than the idle timeout of common load balancers (60 s), so that the balancer, not
/// Seam, closes an idle connection first and never sends a request on one Seam just closed.
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 75;
/// A prompt render's fuel: ~100k template steps or ~6 MB of output, a few milliseconds.
pub const DEFAULT_RENDER_FUEL: u64 = 100_000;
const DEFAULT_ANTHROPIC_VERSION: &str = "2026-10-21";

pub(crate) fn validate(
    raw: RawConfig,
    origin: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, Vec<String>> {
    let mut problems = Vec::new();
    let base_dir = origin.parent().unwrap_or(Path::new("."));

    let listen_text = raw.server.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
    let listen = listen_text.parse().unwrap_or_else(|_| {
        problems.push(format!(
            "server.listen: `{listen_text}` is not an address such as 127.0.0.1:4000"
        ));
        SocketAddr::from(([127, 0, 0, 1], 4000))
    });
    let admin_token = raw.server.admin_token_env.as_deref().and_then(|name| {
        let value = env(name);
        if value.is_none() {
            missing_admin_token(&mut problems, name);
        }
        value.map(Secret::new)
    });
    let metrics_token = raw.server.metrics_token_env.as_deref().and_then(|name| {
        let value = env(name);
        if value.is_none() {
            problems.push(format!(
                "server.metrics_token_env: the environment variable `{name}` is not set"
            ));
        }
        value.map(Secret::new)
    });
    let max_body_bytes = match raw.server.max_body_bytes {
        Some(0) => {
            problems.push("server.max_body_bytes: must be greater than 0".into());
            DEFAULT_MAX_BODY
        }
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
        None => DEFAULT_MAX_BODY,
    };
    if let Some(t) = &raw.server.keyless_tenant
        && t.trim().is_empty()
    {
        problems.push("server.keyless_tenant: must name a tenant".into());
    }
    let server = ServerConfig {
        listen,
        admin_token,
        metrics_token,
        max_body_bytes,
        keyless_tenant: raw.server.keyless_tenant,
        shutdown_grace: Duration::from_secs(raw.server.shutdown_grace_secs.unwrap_or(30)),
        header_timeout: Duration::from_millis(at_least_one(
            &mut problems,
            "server.header_timeout_ms",
            raw.server.header_timeout_ms,
            DEFAULT_HEADER_TIMEOUT_MS,
        )),
        body_timeout: Duration::from_millis(at_least_one(
            &mut problems,
            "server.body_timeout_ms",
            raw.server.body_timeout_ms,
            DEFAULT_BODY_TIMEOUT_MS,
        )),
        idle_timeout: Duration::from_secs(at_least_one(
            &mut problems,
            "server.idle_timeout_secs",
            raw.server.idle_timeout_secs,
            DEFAULT_IDLE_TIMEOUT_SECS,
        )),
        max_connections: match raw.server.max_connections {
            Some(0) => {
                problems.push("server.max_connections: must be greater than 0 (leave it out to derive it from the open-file limit)".into());
                None
            }
            n => n.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        },
        cors: crate::cors::cors(raw.server.cors, &mut problems),
    };

    let url = match (raw.store.url, raw.store.url_env) {
        (Some(_), Some(_)) => {
            problems.push("store: set url or url_env, not both".into());
            String::new()
        }
        (None, Some(name)) => env(&name).filter(|v| !v.is_empty()).unwrap_or_else(|| {
            problems.push(format!(
                "store.url_env: the environment variable `{name}` is not set"
            ));
            String::new()
        }),
        (Some(url), None) => url,
        (None, None) => "sqlite://seam.db".into(),
    };
    let url = sqlite_beside(&url, base_dir);
    let supported = ["sqlite:", "postgres://", "postgresql://"];
    if !url.is_empty() && !supported.iter().any(|p| url.starts_with(p)) {
        // The URL may come from the environment with a password in it: name only its
        // scheme, and only when it looks like one.
        let scheme = url.split_once("://").map(|(s, _)| s).filter(|s| {
            (1..=16).contains(&s.len())
                && s.starts_with(|c: char| c.is_ascii_alphabetic())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        });
        problems.push(match scheme {
            Some(s) => format!(
                "store.url: `{s}` is not supported; use sqlite://PATH or postgres://USER@HOST:PORT/DB"
            ),
            None => "store.url: not a URL (no scheme); use sqlite://PATH or \
                     postgres://USER@HOST:PORT/DB"
                .into(),
        });
    }
    let max_connections = raw.store.max_connections.unwrap_or(8);
    if max_connections == 0 {
        problems.push("store.max_connections: at least 1".into());
    }
    let store = StoreConfig {
        url,
        max_connections,
        batch_size: positive(&mut problems, "store.batch_size", raw.store.batch_size, 256),
        queue_capacity: positive(
            &mut problems,
            "store.queue_capacity",
            raw.store.queue_capacity,
            65_536,
        ),
        flush_interval: Duration::from_millis(raw.store.flush_interval_ms.unwrap_or(100).max(1)),
    };

    let mut names = HashSet::new();
    let mut providers = Vec::new();
    for (i, p) in raw.providers.into_iter().enumerate() {
        let key = format!("providers[{i}] ({})", p.name);
        if !names.insert(p.name.clone()) {
            problems.push(format!("{key}: the name `{}` is used twice", p.name));
        }
        providers.push(provider(p, &key, base_dir, env, &mut problems));
    }

    let mut route_names = HashSet::new();
    let mut routes = Vec::new();
    for (i, r) in raw.routes.into_iter().enumerate() {
        let key = format!("routes[{i}] ({})", r.name);
        if !route_names.insert(r.name.clone()) {
            problems.push(format!("{key}: the route name `{}` is used twice", r.name));
        }
        routes.push(route(r, &key, &names, &mut problems));
    }

    let mut prices = BTreeMap::new();
    for (model, p) in raw.prices {
        if !(p.input >= 0.0 && p.output >= 0.0 && p.input.is_finite() && p.output.is_finite()) {
            problems.push(format!(
                "prices.\"{model}\": input and output must be non-negative numbers"
            ));
        }
        if p.training.is_some_and(|t| !(t >= 0.0 && t.is_finite())) {
            problems.push(format!(
                "prices.\"{model}\".training: must be a non-negative number (dollars per million training tokens)"
            ));
        }
        prices.insert(
            model,
            Price {
                input: p.input,
                output: p.output,
                training: p.training,
            },
        );
    }

    let divergence = crate::retry::divergence(raw.divergence, &mut problems);
    let limits = crate::limits::limits(raw.limits, &mut problems);
    let sessions = crate::sessions::sessions(raw.sessions, &mut problems);
    let streams = crate::streams::streams(raw.streams, &mut problems);
    let records = crate::records::records(raw.records, base_dir, &store.url, &mut problems);
    let capture = crate::capture::capture(raw.capture, &mut problems);
    crate::capture::check_retentions(
        records.retention_days,
        capture.retention_days,
        &mut problems,
    );
    let telemetry = crate::telemetry::telemetry(raw.telemetry, &mut problems);
    let audit = crate::audit::audit(raw.audit, base_dir, &mut problems);
    let evals = crate::evals::evals(raw.evals, base_dir, &route_names, &mut problems);
    let canaries =
        crate::canaries::canaries(raw.canaries, base_dir, &route_names, env, &mut problems);
    let notify = crate::notify::notify(raw.notify, env, &mut problems);
    let ui = crate::ui::ui(raw.ui, &mut problems);
    let failures = crate::failures::failures(raw.failures, &route_names, env, &mut problems);
    let calendar = crate::calendar::calendar(
        raw.calendar,
        base_dir,
        &named_tenants(&limits, &capture, server.keyless_tenant.as_deref()),
        &mut problems,
    );
    // The limiter reads its settings from `limits` alone.
    let mut limits = limits;
    limits.count_evals_in_cost = evals.count_in_budgets;
    limits.count_canaries_in_cost = canaries.count_in_budgets;
    let raw_prompts = raw.prompts.unwrap_or_default();
    let prompts_dir = base_dir.join(raw_prompts.dir.unwrap_or_else(|| "prompts".into()));
    let live_channel = raw_prompts.live_channel;
    if live_channel
        .as_deref()
        .is_some_and(|c| c.is_empty() || c.contains('@'))
    {
        problems.push("prompts.live_channel: name a channel, e.g. \"dev\"".into());
    }
    let protected_channels = raw_prompts
        .protected_channels
        .unwrap_or_else(|| vec!["production".into()]);
    if protected_channels
        .iter()
        .any(|c| c.is_empty() || c.contains('@'))
    {
        problems.push("prompts.protected_channels: name channels, e.g. [\"production\"]".into());
    }
    if !protected_channels.iter().any(|c| c == "production") {
        problems.push("prompts.protected_channels: must include \"production\": its release's owners approve every release of a prompt".into());
    }
    if let Some(c) = live_channel
        .as_deref()
        .filter(|c| *c == "production" || protected_channels.iter().any(|p| p == c))
    {
        problems.push(format!("prompts.live_channel: `{c}` is protected: it needs approvals and deploys; serve files on a development channel such as \"dev\""));
    }
    let render_fuel = raw_prompts.render_fuel.unwrap_or(DEFAULT_RENDER_FUEL);
    if render_fuel == 0 {
        problems.push(format!(
            "prompts.render_fuel: must be greater than 0 (default {DEFAULT_RENDER_FUEL})"
        ));
    }
    if problems.is_empty() {
        Ok(Config {
            server,
            store,
            providers,
            routes,
            prices,
            divergence,
            limits,
            prompts_dir,
            live_channel,
            protected_channels,
            render_fuel,
            sessions,
            streams,
            records,
            capture,
            telemetry,
            audit,
            evals,
            canaries,
            notify,
            ui,
            calendar,
            failures,
        })
    } else {
        Err(problems)
    }
}

fn named_tenants(
    limits: &crate::limits::Limits,
    capture: &crate::capture::Capture,
    keyless: Option<&str>,
) -> std::collections::BTreeSet<String> {
    limits
        .tenants
        .keys()
        .chain(capture.tenants.keys())
        .cloned()
        .chain(keyless.map(str::to_string))
        .collect()
}

/// A SQLite store's relative path follows the config file (as `[prompts] dir` does), not
/// the directory the command runs in: `seam keys list` from elsewhere, or a service started
/// from `/`, must find the gateway's store rather than create an empty one.
fn sqlite_beside(url: &str, base_dir: &Path) -> String {
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return url.to_string();
    };
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path.contains(":memory:") || Path::new(path).is_absolute() {
        return url.to_string();
    }
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!("sqlite://{}{query}", base_dir.join(path).display())
}

fn missing_admin_token(problems: &mut Vec<String>, name: &str) {
    problems.push(format!(
        "server.admin_token_env: the environment variable `{name}` is not set"
    ));
}

/// A duration or count that must be at least 1, else its default.
fn at_least_one(problems: &mut Vec<String>, key: &str, v: Option<u64>, default: u64) -> u64 {
    match v {
        Some(0) => {
            problems.push(format!("{key}: must be greater than 0 (default {default})"));
            default
        }
        Some(n) => n,
        None => default,
    }
}

fn positive(problems: &mut Vec<String>, key: &str, v: Option<usize>, default: usize) -> usize {
    match v {
        Some(0) => {
            problems.push(format!("{key}: must be greater than 0"));
            default
        }
        Some(n) => n,
        None => default,
    }
}

mod upstreams;
#[cfg(test)]
pub(crate) use upstreams::DEFAULT_MAX_EVENT_BYTES;
use upstreams::{provider, route};

#[cfg(test)]
mod tests;
