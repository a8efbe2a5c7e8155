//! Providers and routes: each raw entry checked and typed, its problems named by key.

use super::{
    DEFAULT_ANTHROPIC_VERSION, PROMPT_MODEL_PREFIX, Provider, RELEASE_MODEL_PREFIX, Route, Target,
};
use crate::raw::{ProviderKind, RawProvider, RawRoute};
use crate::secret::Secret;
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

pub(super) fn provider(
    p: RawProvider,
    key: &str,
    base_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<String>,
) -> Provider {
    if p.name.trim().is_empty() {
        problems.push(format!("{key}: name must not be empty"));
    }
    let base_url = p.base_url.map(|u| u.trim_end_matches('/').to_string());
    match (&base_url, p.kind) {
        (None, ProviderKind::Openai | ProviderKind::Anthropic) => problems.push(format!(
            "{key}: base_url is required for kind = \"{}\"",
            p.kind.as_str()
        )),
        (Some(u), _) if !(u.starts_with("http://") || u.starts_with("https://")) => problems.push(
            format!("{key}: base_url `{u}` must start with http:// or https://"),
        ),
        _ => {}
    }
    if p.scenario.is_some() && (p.kind != ProviderKind::Sim || base_url.is_some()) {
        problems.push(format!(
            "{key}: scenario applies only to an in-process sim (kind = \"sim\" without base_url)"
        ));
    }
    if p.anthropic_version.is_some() && p.kind != ProviderKind::Anthropic {
        problems.push(format!(
            "{key}: anthropic_version applies only to kind = \"anthropic\""
        ));
    }
    if p.responses == Some(true) && p.kind == ProviderKind::Anthropic {
        problems.push(format!(
            "{key}: responses = true does not apply to kind = \"anthropic\" (its calls to /v1/responses are translated to chat)"
        ));
    }
    let api_key = p.api_key_env.as_deref().and_then(|name| {
        let value = env(name);
        if value.is_none() {
            problems.push(format!(
                "{key}: api_key_env names `{name}`, which is not set in the environment"
            ));
        }
        value.map(Secret::new)
    });
    Provider {
        name: p.name,
        kind: p.kind,
        base_url,
        api_key,
        timeout: Duration::from_millis(p.timeout_ms.unwrap_or(120_000)),
        connect_timeout: Duration::from_millis(p.connect_timeout_ms.unwrap_or(5_000)),
        anthropic_version: p
            .anthropic_version
            .unwrap_or_else(|| DEFAULT_ANTHROPIC_VERSION.to_string()),
        scenario: p.scenario.map(|s| base_dir.join(s)),
        max_event_bytes: max_event_bytes(p.max_event_bytes, key, problems),
        responses: p.responses.unwrap_or(p.kind != ProviderKind::Anthropic),
    }
}

/// The default of `providers[].max_event_bytes`: far above any chat chunk or Anthropic event,
/// small enough that a stream that never ends its event is stopped early.
pub(crate) const DEFAULT_MAX_EVENT_BYTES: usize = 4 * 1024 * 1024;

fn max_event_bytes(raw: Option<u64>, key: &str, problems: &mut Vec<String>) -> usize {
    const RANGE: std::ops::RangeInclusive<u64> = 1024..=1024 * 1024 * 1024;
    match raw {
        None => DEFAULT_MAX_EVENT_BYTES,
        Some(n) if RANGE.contains(&n) => n as usize,
        Some(n) => {
            problems.push(format!(
                "{key}: max_event_bytes must be between 1024 (1 KiB) and 1073741824 (1 GiB), not {n}"
            ));
            DEFAULT_MAX_EVENT_BYTES
        }
    }
}

pub(super) fn route(
    r: RawRoute,
    key: &str,
    providers: &HashSet<String>,
    problems: &mut Vec<String>,
) -> Route {
    if r.name.trim().is_empty() {
        problems.push(format!("{key}: name must not be empty"));
    }
    if r.name.starts_with(PROMPT_MODEL_PREFIX) {
        problems.push(format!(
            "{key}: a route name cannot start with `{PROMPT_MODEL_PREFIX}`: a call for `{}` is served the prompt's release, never this route; name the route without it",
            r.name
        ));
    }
    if r.name.starts_with(RELEASE_MODEL_PREFIX) {
        problems.push(format!(
            "{key}: a route name cannot start with `{RELEASE_MODEL_PREFIX}`: a call for `{}` is served that release, never this route; name the route without it",
            r.name
        ));
    }
    if r.targets.is_empty() {
        problems.push(format!("{key}: targets must name at least one provider"));
    }
    for (j, t) in r.targets.iter().enumerate() {
        if !providers.contains(&t.provider) {
            problems.push(format!(
                "{key}.targets[{j}]: provider `{}` is not defined under [[providers]]",
                t.provider
            ));
        }
        if t.model.trim().is_empty() {
            problems.push(format!("{key}.targets[{j}]: model must not be empty"));
        }
    }
    Route {
        name: r.name,
        targets: r
            .targets
            .into_iter()
            .map(|t| Target {
                provider: t.provider,
                model: t.model,
            })
            .collect(),
        response_model: r.response_model.unwrap_or_default(),
        retry: crate::retry::retry_policy(r.retry, key, problems),
        trace_limits: r.trace_limits,
        stream_slo: crate::streams::slo(r.stream_slo, key, problems),
        rechunk: crate::streams::rechunk(r.rechunk, key, problems),
        capture: r
            .capture
            .map(|c| crate::capture::level(c, &format!("{key}.capture"), problems)),
    }
}
