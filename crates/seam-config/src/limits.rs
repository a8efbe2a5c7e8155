//! `[limits]`: tenant limits over calendar windows and trace limits per trace.

use serde::Deserialize;
use std::collections::BTreeMap;

/// What a tenant limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    Requests,
    Attempts,
    InputTokens,
    OutputTokens,
    /// Input plus output tokens.
    Tokens,
    /// USD.
    Cost,
}

impl Metric {
    pub const ALL: [Metric; 6] = [
        Metric::Requests,
        Metric::Attempts,
        Metric::InputTokens,
        Metric::OutputTokens,
        Metric::Tokens,
        Metric::Cost,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Requests => "requests",
            Metric::Attempts => "attempts",
            Metric::InputTokens => "input_tokens",
            Metric::OutputTokens => "output_tokens",
            Metric::Tokens => "tokens",
            Metric::Cost => "cost",
        }
    }
}

/// A calendar window in UTC: limits reset when it rolls over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Window {
    Minute,
    Hour,
    Day,
    /// An ISO week: Monday 00:00 UTC to the next Monday.
    Week,
    Month,
}

impl Window {
    pub const ALL: [Window; 5] = [
        Window::Minute,
        Window::Hour,
        Window::Day,
        Window::Week,
        Window::Month,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Window::Minute => "minute",
            Window::Hour => "hour",
            Window::Day => "day",
            Window::Week => "week",
            Window::Month => "month",
        }
    }
}

/// One limit: at most `max` of `metric` per `window`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TenantLimit {
    pub metric: Metric,
    pub window: Window,
    pub max: f64,
}

/// Per-trace caps (a trace is one user request and every call it fans out into).
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceLimits {
    pub max_calls: Option<u64>,
    pub max_attempts: Option<u64>,
    pub max_tokens: Option<u64>,
    pub max_cost: Option<f64>,
    pub max_seconds: Option<f64>,
}

impl TraceLimits {
    /// This set, with `over`'s values where it has them.
    pub fn overridden_by(self, over: Option<TraceLimits>) -> TraceLimits {
        let Some(o) = over else { return self };
        TraceLimits {
            max_calls: o.max_calls.or(self.max_calls),
            max_attempts: o.max_attempts.or(self.max_attempts),
            max_tokens: o.max_tokens.or(self.max_tokens),
            max_cost: o.max_cost.or(self.max_cost),
            max_seconds: o.max_seconds.or(self.max_seconds),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == TraceLimits::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailMode {
    Open,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnBackendDown {
    #[serde(default = "closed")]
    pub cost: FailMode,
    #[serde(default = "closed")]
    pub tokens: FailMode,
    #[serde(default = "open")]
    pub requests: FailMode,
}

fn closed() -> FailMode {
    FailMode::Closed
}
fn open() -> FailMode {
    FailMode::Open
}

impl Default for OnBackendDown {
    fn default() -> Self {
        OnBackendDown {
            cost: FailMode::Closed,
            tokens: FailMode::Closed,
            requests: FailMode::Open,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLimits {
    pub backend: Option<String>,
    pub key_prefix: Option<String>,
    pub on_backend_down: Option<OnBackendDown>,
    pub default_output_tokens: Option<u64>,
    pub max_n: Option<u64>,
    pub max_traces: Option<u64>,
    pub tenant_default: Option<BTreeMap<String, f64>>,
    #[serde(default)]
    pub tenants: BTreeMap<String, BTreeMap<String, f64>>,
    pub trace_default: Option<TraceLimits>,
}

/// Where the counters live.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LimitBackend {
    /// In this process: one gateway.
    #[default]
    Local,
    /// In Redis, shared by every gateway that points at it (the URL).
    Redis(String),
}

/// `n` (and `best_of`) above this is refused on calls held to a token or cost limit.
pub const DEFAULT_MAX_N: u64 = 16;
/// Traces the in-process counters remember at most (least recently used go first).
pub const DEFAULT_MAX_TRACES: usize = 100_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub backend: LimitBackend,
    /// Prefix of every Redis key Seam writes.
    pub key_prefix: String,
    pub on_backend_down: OnBackendDown,
    /// Output tokens reserved for an attempt whose request sets no `max_tokens`.
    pub default_output_tokens: u64,
    /// The most completions (`n`, `best_of`) one call may ask for when a token or cost limit
    /// applies to it: each is billed, so each is reserved.
    pub max_n: u64,
    /// Traces held by the in-process counters at most; the least recently used are
    /// forgotten first (counted in `seam_limit_traces_evicted_total`).
    pub max_traces: usize,
    pub tenant_default: Vec<TenantLimit>,
    /// Tenants with their own limits; they replace the defaults for that tenant.
    pub tenants: BTreeMap<String, Vec<TenantLimit>>,
    /// Tenants' own trace defaults (`trace_max_*` in their table), over `trace_default`.
    pub tenant_traces: BTreeMap<String, TraceLimits>,
    pub trace_default: TraceLimits,
    /// Eval traffic (`x-seam-purpose: eval`) counts against, and is refused by, the tenants'
    /// and keys' `cost` limits: `[evals] count_in_budgets` (default false: outside them).
    pub count_evals_in_cost: bool,
    /// Canary traffic (`x-seam-purpose: canary`) likewise: `[canaries] count_in_budgets`
    /// (default false).
    pub count_canaries_in_cost: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            backend: LimitBackend::Local,
            key_prefix: "seam".into(),
            on_backend_down: OnBackendDown::default(),
            default_output_tokens: 1024,
            max_n: DEFAULT_MAX_N,
            max_traces: DEFAULT_MAX_TRACES,
            tenant_default: Vec::new(),
            tenants: BTreeMap::new(),
            tenant_traces: BTreeMap::new(),
            trace_default: TraceLimits::default(),
            count_evals_in_cost: false,
            count_canaries_in_cost: false,
        }
    }
}

impl Limits {
    pub fn for_tenant(&self, tenant: &str) -> &[TenantLimit] {
        self.tenants
            .get(tenant)
            .map(Vec::as_slice)
            .unwrap_or(&self.tenant_default)
    }

    /// The trace limits of a call: the default, the tenant's, then the route's.
    pub fn trace_limits(&self, tenant: &str, route: Option<TraceLimits>) -> TraceLimits {
        self.trace_default
            .overridden_by(self.tenant_traces.get(tenant).copied())
            .overridden_by(route)
    }

    /// Whether anything is limited at all (no limits: admission costs nothing).
    pub fn any(&self) -> bool {
        !self.tenant_default.is_empty()
            || !self.tenants.is_empty()
            || !self.trace_default.is_empty()
    }
}

/// Parses one `METRIC_per_WINDOW = MAX` limit (config tables and `seam keys --limit`).
pub fn parse_limit(name: &str, max: f64) -> Result<TenantLimit, String> {
    let parsed = name.split_once("_per_").and_then(|(m, w)| {
        let metric = Metric::ALL.into_iter().find(|x| x.as_str() == m)?;
        let window = Window::ALL.into_iter().find(|x| x.as_str() == w)?;
        Some((metric, window))
    });
    match parsed {
        Some(_) if !(max.is_finite() && max >= 0.0) => Err("must be a number, 0 or more".into()),
        Some((metric, window)) => Ok(TenantLimit { metric, window, max }),
        None => Err("unknown limit; use METRIC_per_WINDOW with METRIC one of requests, attempts, input_tokens, output_tokens, tokens, cost and WINDOW one of minute, hour, day, week, month".into()),
    }
}

/// A tenant's table: window limits, and (for a named tenant) `trace_max_*` trace defaults.
fn tenant_limits(
    table: &BTreeMap<String, f64>,
    key: &str,
    trace_allowed: bool,
    problems: &mut Vec<String>,
) -> (Vec<TenantLimit>, TraceLimits) {
    let mut out = Vec::new();
    let mut trace = TraceLimits::default();
    for (name, max) in table {
        if let Some(field) = name.strip_prefix("trace_max_")
            && trace_allowed
        {
            let whole = (*max >= 0.0 && max.fract() == 0.0).then_some(*max as u64);
            match field {
                "calls" => trace.max_calls = whole,
                "attempts" => trace.max_attempts = whole,
                "tokens" => trace.max_tokens = whole,
                "cost" => trace.max_cost = Some(*max),
                "seconds" => trace.max_seconds = Some(*max),
                _ => {
                    problems.push(format!("{key}.{name}: unknown trace limit; use trace_max_calls, trace_max_attempts, trace_max_tokens, trace_max_cost or trace_max_seconds"));
                    continue;
                }
            }
            if matches!(field, "calls" | "attempts" | "tokens") && whole.is_none() {
                problems.push(format!("{key}.{name}: must be a whole number, 0 or more"));
            }
            continue;
        }
        match parse_limit(name, *max) {
            Ok(l) => out.push(l),
            Err(e) => problems.push(format!("{key}.{name}: {e}")),
        }
    }
    (out, trace)
}

pub(crate) fn limits(raw: Option<RawLimits>, problems: &mut Vec<String>) -> Limits {
    let Some(r) = raw else {
        return Limits::default();
    };
    let backend = match r.backend.as_deref() {
        None | Some("local") => LimitBackend::Local,
        Some(b) if b.starts_with("redis://") || b.starts_with("rediss://") => {
            LimitBackend::Redis(b.to_string())
        }
        Some(b) => {
            problems.push(format!(
                "limits.backend: `{b}` is neither \"local\" nor a redis:// URL"
            ));
            LimitBackend::Local
        }
    };
    let mut tenants = BTreeMap::new();
    let mut tenant_traces = BTreeMap::new();
    for (t, table) in &r.tenants {
        let (limits, trace) = tenant_limits(table, &format!("limits.tenants.{t}"), true, problems);
        tenants.insert(t.clone(), limits);
        if !trace.is_empty() {
            tenant_traces.insert(t.clone(), trace);
        }
    }
    Limits {
        backend,
        key_prefix: r.key_prefix.unwrap_or_else(|| "seam".into()),
        on_backend_down: r.on_backend_down.unwrap_or_default(),
        default_output_tokens: r.default_output_tokens.unwrap_or(1024),
        max_n: match r.max_n {
            Some(0) => {
                problems.push("limits.max_n: must be 1 or more".into());
                DEFAULT_MAX_N
            }
            n => n.unwrap_or(DEFAULT_MAX_N),
        },
        max_traces: match r.max_traces {
            Some(0) => {
                problems.push("limits.max_traces: must be 1 or more".into());
                DEFAULT_MAX_TRACES
            }
            n => n.map_or(DEFAULT_MAX_TRACES, |n| {
                usize::try_from(n).unwrap_or(usize::MAX)
            }),
        },
        tenant_default: r
            .tenant_default
            .as_ref()
            .map(|t| tenant_limits(t, "limits.tenant_default", false, problems).0)
            .unwrap_or_default(),
        tenants,
        tenant_traces,
        trace_default: r.trace_default.unwrap_or_default(),
        // `[evals] count_in_budgets` and `[canaries] count_in_budgets`, set once those are read.
        count_evals_in_cost: false,
        count_canaries_in_cost: false,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn the_documented_shape_parses_and_bad_names_are_refused() {
        let text = r#"
[limits]
backend = "local"
on_backend_down = { cost = "closed", tokens = "closed", requests = "open" }

[limits.tenant_default]
requests_per_minute = 600
tokens_per_day = 2_000_000
cost_per_month = 100.0

[limits.tenants.acme]
cost_per_day = 5.0
trace_max_calls = 5

[limits.trace_default]
max_calls = 25
max_attempts = 40
max_tokens = 200_000
max_cost = 1.0
max_seconds = 600
"#;
        let c = crate::parse(text, Path::new("t.toml"), &|_| None).unwrap();
        assert_eq!(c.limits.tenant_default.len(), 3);
        assert_eq!(c.limits.for_tenant("acme").len(), 1);
        assert_eq!(c.limits.trace_default.max_calls, Some(25));
        assert_eq!(c.limits.trace_limits("acme", None).max_calls, Some(5));
        assert_eq!(c.limits.trace_limits("acme", None).max_attempts, Some(40));
        assert_eq!(c.limits.trace_limits("other", None).max_calls, Some(25));
        let over = crate::TraceLimits {
            max_calls: Some(2),
            ..Default::default()
        };
        assert_eq!(c.limits.trace_limits("acme", Some(over)).max_calls, Some(2));
        let weekly = text.replace("tokens_per_day", "tokens_per_week");
        let c = crate::parse(&weekly, Path::new("t.toml"), &|_| None).unwrap();
        assert!(
            c.limits
                .tenant_default
                .iter()
                .any(|l| l.window == crate::LimitWindow::Week && l.max == 2_000_000.0)
        );
        let bad = text.replace("tokens_per_day", "tokens_per_fortnight");
        let e = crate::parse(&bad, Path::new("t.toml"), &|_| None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("limits.tenant_default.tokens_per_fortnight"),
            "{e}"
        );
        let redis = text.replace("\"local\"", "\"redis://127.0.0.1:6379\"");
        let c = crate::parse(&redis, Path::new("t.toml"), &|_| None).unwrap();
        assert_eq!(
            c.limits.backend,
            crate::LimitBackend::Redis("redis://127.0.0.1:6379".into())
        );
        let bad = text.replace("\"local\"", "\"memcached://x\"");
        let e = crate::parse(&bad, Path::new("t.toml"), &|_| None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("limits.backend"), "{e}");
    }

    #[test]
    fn completions_and_trace_memory_have_caps_with_defaults() {
        let c = crate::parse("[limits]\n", Path::new("t.toml"), &|_| None).unwrap();
        assert_eq!(
            (c.limits.max_n, c.limits.max_traces),
            (super::DEFAULT_MAX_N, super::DEFAULT_MAX_TRACES)
        );
        let c = crate::parse(
            "[limits]\nmax_n = 4\nmax_traces = 500\n",
            Path::new("t.toml"),
            &|_| None,
        )
        .unwrap();
        assert_eq!((c.limits.max_n, c.limits.max_traces), (4, 500));
        let e = crate::parse(
            "[limits]\nmax_n = 0\nmax_traces = 0\n",
            Path::new("t.toml"),
            &|_| None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("limits.max_n: must be 1 or more")
                && e.contains("limits.max_traces: must be 1 or more"),
            "{e}"
        );
    }
}
