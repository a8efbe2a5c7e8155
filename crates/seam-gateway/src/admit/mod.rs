//! Phase 5 of [`crate::pipeline`], admit: tenant limits over calendar windows and trace limits, counted at the
//! attempt. A call is admitted (requests, trace calls, wall time, budgets not yet spent),
//! then every upstream attempt reserves an estimate of what it will be billed (attempts,
//! tokens, cost) and settles it with the provider's usage afterwards, so concurrent calls
//! cannot overshoot a budget by more than the reservations outstanding.
//!
//! The counters live in this process ([`local`]) or in Redis ([`redis`]), where every
//! gateway sharing it enforces one limit. When Redis cannot be reached, `on_backend_down`
//! decides per kind of limit whether calls pass (open) or are refused (closed); every such
//! decision is counted and logged.
//!
//! Traces are each tenant's own: the same id from two tenants is two traces. What was spent
//! survives a restart and an emptied Redis: the counters are re-seeded from the stored records
//! ([`reseed`]), in the background.

mod calls;
mod lease;
#[cfg(test)]
mod lease_tests;
mod local;
mod redis;
mod refusals;
mod reseed;
mod traces;

pub use seam_config::{window_of, window_start};

use crate::authenticate::{Caller, KeyCache};
pub use crate::errors::{Refusal, refusal_code};
use crate::observe::{Metrics, Reason};
pub use calls::{Subject, completions};
use refusals::{amount, scope_refusal, trace_refusal};
use seam_config::{FailMode, LimitBackend, LimitWindow, Limits, Metric, TenantLimit, TraceLimits};
use seam_store::Reports;
use seam_vocab::{Purpose, RefusalCode};
use seam_wire::Usage;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Traces idle this long are forgotten (in Redis, they expire).
const TRACE_IDLE_MS: i64 = 3_600_000;
/// How long a start waits for the re-seed before serving anyway (it then finishes in the
/// background; what it adds is still right, see [`reseed`]).
const SEED_WAIT: Duration = Duration::from_secs(5);

/// The counters' name of a tenant's limits.
fn tenant_scope(tenant: &str) -> String {
    format!("tenant:{tenant}")
}

/// The counters' name of one key's own limits.
fn key_scope(id: &str) -> String {
    format!("key:{id}")
}

/// What one attempt is expected to be billed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Estimate {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost: f64,
}

impl Estimate {
    fn tokens(&self) -> u64 {
        // A client's `max_tokens` may be anything up to u64::MAX.
        self.input_tokens.saturating_add(self.output_tokens)
    }
}

/// Which trace a call counts against: its tenant's, named `id`.
pub(super) struct TraceRef<'a> {
    pub tenant: &'a str,
    pub id: &'a str,
    /// How many traces may be held (`limits.max_traces`).
    pub cap: usize,
}

/// What a reservation holds, to settle it later.
#[derive(Debug, Clone)]
pub(crate) struct Ticket {
    tenant: String,
    trace: String,
    /// The amount-counting limits reserved against: scope, metric, window, and the window
    /// each was reserved in.
    windows: Vec<(String, Metric, LimitWindow, i64)>,
    est: Estimate,
    held: Held,
}

/// Where a reservation in Redis is held, to settle it there.
#[derive(Debug, Clone, Default)]
pub(crate) struct Held {
    /// Per window of [`Ticket::windows`]: the lease it was taken from (settled locally while
    /// this gateway holds it), or none (reserved in Redis itself).
    leases: Vec<Option<u64>>,
    /// Whether the trace's reservation is in Redis (only when the call was checked there).
    trace: bool,
}

enum Backend {
    Local(local::Local),
    Redis(redis::RedisLimits),
}

/// Where a re-seed reads from: the records, and which keys have limits of their own.
#[derive(Clone)]
struct Source {
    store: Arc<dyn Reports>,
    keys: KeyCache,
    /// Owns the re-seeds run in the background.
    tasks: crate::tasks::Tasks,
}

/// The counters. The limits themselves come with each call (its config snapshot), so a
/// reload changes them for new calls while the counters carry on.
pub struct Limiter {
    backend: Backend,
    metrics: Arc<Metrics>,
    down_log: crate::throttle::LogThrottle,
    source: OnceLock<Source>,
}

/// An attempt's reservation; settle it with what the provider billed. Dropped unsettled,
/// it is released (the attempt never happened).
pub struct Reservation {
    limiter: Arc<Limiter>,
    ticket: Ticket,
    settled: bool,
}

impl Reservation {
    pub fn settle(mut self, usage: Usage, cost: f64) {
        self.settled = true;
        self.limiter.settle(&self.ticket, Some((usage, cost)));
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.settled {
            self.limiter.settle(&self.ticket, None);
        }
    }
}

/// Whose limits: a tenant's, or one key's (on top of its tenant's).
pub(crate) struct Scope<'a> {
    /// The counters' name: `tenant:NAME` or `key:ID`.
    name: String,
    /// For messages: "tenant `acme`" or "key `key_1` of tenant `acme`".
    who: String,
    /// Borrowed from the config or the key, unless some of them do not hold this call (an
    /// eval call's cost limits, see [`Limiter::holds`]).
    limits: std::borrow::Cow<'a, [TenantLimit]>,
    key: bool,
}

impl Limiter {
    /// The backend is fixed for the life of the process (a reload that changes it is refused).
    pub fn new(cfg: &Limits, metrics: Arc<Metrics>) -> Result<Limiter, String> {
        let backend = match &cfg.backend {
            LimitBackend::Local => Backend::Local(local::Local::new(metrics.clone())),
            LimitBackend::Redis(url) => {
                Backend::Redis(redis::RedisLimits::new(url, &cfg.key_prefix)?)
            }
        };
        Ok(Limiter {
            backend,
            metrics,
            down_log: crate::throttle::LogThrottle::new(1000),
            source: OnceLock::new(),
        })
    }

    /// Re-seeds the counters from the stored records: the in-process ones always (they start
    /// empty), Redis when it is empty (no gateway has seeded it since it was last emptied).
    /// Waits at most [`SEED_WAIT`]; past that the re-seed finishes in the background. Later,
    /// whenever Redis is found empty, the gateway that notices first re-seeds it.
    pub async fn seed_at_start(
        self: &Arc<Self>,
        cfg: &Limits,
        store: Arc<dyn Reports>,
        keys: KeyCache,
        tasks: &crate::tasks::Tasks,
    ) {
        let source = Source {
            store,
            keys,
            tasks: tasks.clone(),
        };
        let _ = self.source.set(source.clone());
        let me = self.clone();
        let cfg = cfg.clone();
        let now = seam_store::now_ms();
        let (done_tx, done) = tokio::sync::oneshot::channel::<()>();
        // A job, not cut by the signal: a shutdown lets a re-seed finish (within its bound)
        // rather than leave Redis claimed and half counted.
        tasks.job("limits re-seed", async move {
            let _done = done_tx;
            let claim = match &me.backend {
                Backend::Local(_) => None,
                Backend::Redis(r) => match r.claim(now).await {
                    Ok(Some(c)) => Some(c),
                    Ok(None) => return,
                    Err(e) => {
                        // Whichever call first reaches Redis claims it, if it is empty.
                        tracing::warn!(error = %e, "could not check whether Redis holds the limit counters; the first call that reaches it will");
                        return;
                    }
                },
            };
            me.reseed(&source, &cfg, claim, now).await;
        });
        if tokio::time::timeout(SEED_WAIT, done).await.is_err() {
            tracing::warn!(
                "re-counting the limits from the stored records takes more than {}s; serving meanwhile, and it goes on in the background",
                SEED_WAIT.as_secs()
            );
        }
    }

    /// Reads what was spent before `at_ms` and adds it to the counters. Counted in
    /// `seam_limit_reseeds_total` and logged either way.
    async fn reseed(&self, source: &Source, cfg: &Limits, claim: Option<redis::Claim>, now: i64) {
        let at_ms = claim.as_ref().map_or(now, |c| c.at_ms);
        let keys = source.keys.limited();
        let done = match reseed::read(source.store.as_ref(), cfg, &keys, at_ms).await {
            Err(e) => Err(e),
            Ok(seed) => match (&self.backend, claim) {
                (Backend::Local(l), _) => {
                    l.seed(&seed, cfg.max_traces);
                    Ok(seed)
                }
                (Backend::Redis(r), Some(c)) => r.seed(&seed, &c).await.map(|()| seed),
                (Backend::Redis(_), None) => Err("no claim on Redis".into()),
            },
        };
        let reason = match (&done, &self.backend) {
            (Err(_), _) => "failed",
            (Ok(_), Backend::Local(_)) => "start",
            (Ok(_), Backend::Redis(_)) => "redis_empty",
        };
        self.metrics
            .limit_reseeds
            .get_or_create(&Reason {
                reason: reason.into(),
            })
            .inc();
        match done {
            Ok(seed) => tracing::info!(
                windows = seed.counters.len(),
                traces = seed.traces.len(),
                since_ms = at_ms,
                "re-counted the limits from the stored records"
            ),
            Err(e) => tracing::error!(
                error = %e,
                "could not re-count the limits from the stored records: windows and traces count only from now (see seam_limit_reseeds_total)"
            ),
        }
    }

    /// A call found Redis empty and claimed its re-seed: done in the background.
    fn reseed_in_background(self: &Arc<Self>, cfg: &Limits, claim: redis::Claim) {
        let Some(source) = self.source.get().cloned() else {
            return;
        };
        let me = self.clone();
        let cfg = cfg.clone();
        let tasks = source.tasks.clone();
        tasks.job("limits re-seed", async move {
            me.reseed(&source, &cfg, Some(claim), seam_store::now_ms())
                .await;
        });
    }

    /// The trace limits of a call: the default, the tenant's, then the route's.
    pub fn trace_limits(
        &self,
        cfg: &Limits,
        tenant: &str,
        route: Option<TraceLimits>,
    ) -> TraceLimits {
        cfg.trace_limits(tenant, route)
    }

    /// Whether limit `l` holds this call: every limit does, except that eval traffic
    /// (`x-seam-purpose: eval`) is outside cost limits unless `[evals] count_in_budgets`, and
    /// canary traffic (`canary`) unless `[canaries] count_in_budgets`. Request, attempt and
    /// token limits hold both either way: they protect the providers' quotas, which eval and
    /// canary traffic use like any other.
    fn holds(cfg: &Limits, caller: &Caller, l: &TenantLimit) -> bool {
        l.metric != Metric::Cost
            || match caller.purpose {
                Purpose::Live => true,
                Purpose::Eval => cfg.count_evals_in_cost,
                Purpose::Canary => cfg.count_canaries_in_cost,
            }
    }

    /// `limits` less those that do not hold this call; borrowed when all do (live traffic).
    fn held<'a>(
        cfg: &Limits,
        caller: &Caller,
        limits: &'a [TenantLimit],
    ) -> std::borrow::Cow<'a, [TenantLimit]> {
        if limits.iter().all(|l| Self::holds(cfg, caller, l)) {
            std::borrow::Cow::Borrowed(limits)
        } else {
            limits
                .iter()
                .filter(|l| Self::holds(cfg, caller, l))
                .copied()
                .collect()
        }
    }

    fn scopes<'a>(cfg: &'a Limits, caller: &'a Caller) -> Vec<Scope<'a>> {
        let mut out = vec![Scope {
            name: tenant_scope(&caller.tenant),
            who: format!("tenant `{}`", caller.tenant),
            limits: Self::held(cfg, caller, cfg.for_tenant(&caller.tenant)),
            key: false,
        }];
        if let Some(id) = &caller.key_id
            && !caller.key_limits.is_empty()
        {
            out.push(Scope {
                name: key_scope(id),
                who: format!("key `{id}` of tenant `{}`", caller.tenant),
                limits: Self::held(cfg, caller, &caller.key_limits),
                key: true,
            });
        }
        out
    }

    /// The limits [`Limiter::scopes`] holds this caller to, without naming the scopes: asked
    /// on every call, most of which have no limits at all.
    fn limits_of<'a>(cfg: &'a Limits, caller: &'a Caller) -> impl Iterator<Item = &'a TenantLimit> {
        let key: &[TenantLimit] = match caller.key_id {
            Some(_) => &caller.key_limits,
            None => &[],
        };
        cfg.for_tenant(&caller.tenant)
            .iter()
            .chain(key)
            .filter(|l| Self::holds(cfg, caller, l))
    }

    /// Whether any limit counts tokens or cost (only then is an estimate worth making).
    pub fn needs_estimate(&self, cfg: &Limits, caller: &Caller, trace: &TraceLimits) -> bool {
        Self::limits_of(cfg, caller)
            .any(|l| !matches!(l.metric, Metric::Requests | Metric::Attempts))
            || trace.max_tokens.is_some()
            || trace.max_cost.is_some()
    }

    /// Whether anything at all applies to this caller.
    pub fn applies(&self, cfg: &Limits, caller: &Caller, trace: &TraceLimits) -> bool {
        Self::limits_of(cfg, caller).next().is_some() || !trace.is_empty()
    }

    pub fn default_output_tokens(&self, cfg: &Limits) -> u64 {
        cfg.default_output_tokens
    }

    /// Admits a call: one more request for the tenant, one more call for the trace, within
    /// the trace's wall time, and no budget already spent.
    pub async fn admit_call(
        self: &Arc<Self>,
        cfg: &Limits,
        caller: &Caller,
        trace: &str,
        tl: &TraceLimits,
        now_ms: i64,
    ) -> Result<(), Refusal> {
        let scopes = Self::scopes(cfg, caller);
        let trace = TraceRef {
            tenant: &caller.tenant,
            id: trace,
            cap: cfg.max_traces,
        };
        let decision = match &self.backend {
            Backend::Local(l) => l.admit_call(&scopes, &trace, tl, now_ms),
            Backend::Redis(r) => match r.admit_call(&scopes, &trace, tl, now_ms).await {
                Ok((decision, claim)) => {
                    if let Some(c) = claim {
                        self.reseed_in_background(cfg, c);
                    }
                    decision
                }
                Err(e) => self.backend_down(cfg, &scopes, tl, &e),
            },
        };
        decision.inspect_err(|r| self.metrics.limit_refusal(r.code.as_str()))
    }

    /// Reserves one attempt's estimate against every limit, or refuses it.
    pub async fn reserve(
        self: &Arc<Self>,
        cfg: &Limits,
        caller: &Caller,
        trace: &str,
        tl: &TraceLimits,
        est: Estimate,
        now_ms: i64,
    ) -> Result<Reservation, Refusal> {
        let scopes = Self::scopes(cfg, caller);
        let windows: Vec<(String, Metric, LimitWindow, i64)> = scopes
            .iter()
            .flat_map(|s| {
                s.limits
                    .iter()
                    .filter(|l| !matches!(l.metric, Metric::Requests | Metric::Attempts))
                    .map(|l| {
                        (
                            s.name.clone(),
                            l.metric,
                            l.window,
                            window_of(l.window, now_ms).0,
                        )
                    })
            })
            .collect();
        let mut ticket = Ticket {
            tenant: caller.tenant.clone(),
            trace: trace.to_string(),
            windows,
            est,
            held: Held::default(),
        };
        let trace = TraceRef {
            tenant: &caller.tenant,
            id: trace,
            cap: cfg.max_traces,
        };
        let decision = match &self.backend {
            Backend::Local(l) => l.reserve(&scopes, &ticket, &trace, tl, now_ms),
            Backend::Redis(r) => match r.reserve(&scopes, &ticket, &trace, tl, now_ms).await {
                Ok(((decision, claim), held)) => {
                    ticket.held = held;
                    if let Some(c) = claim {
                        self.reseed_in_background(cfg, c);
                    }
                    decision
                }
                Err(e) => self.backend_down(cfg, &scopes, tl, &e),
            },
        };
        decision
            .inspect_err(|r| self.metrics.limit_refusal(r.code.as_str()))
            .map(|()| Reservation {
                limiter: self.clone(),
                ticket,
                settled: false,
            })
    }

    fn settle(&self, ticket: &Ticket, actual: Option<(Usage, f64)>) {
        let (usage, cost) = actual.unwrap_or_default();
        let billed = Estimate {
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cost,
        };
        match &self.backend {
            Backend::Local(l) => l.settle(ticket, &billed),
            Backend::Redis(r) => r.settle(ticket.clone(), billed),
        }
    }

    /// The counters cannot be reached: `on_backend_down` decides, per kind of limit this call
    /// is held to, whether it passes. Counted and logged, never silent.
    fn backend_down(
        &self,
        cfg: &Limits,
        scopes: &[Scope<'_>],
        tl: &TraceLimits,
        err: &str,
    ) -> Result<(), Refusal> {
        let limits: Vec<&TenantLimit> = scopes.iter().flat_map(|s| s.limits.iter()).collect();
        let policy = cfg.on_backend_down;
        let costs = limits.iter().any(|l| l.metric == Metric::Cost) || tl.max_cost.is_some();
        let tokens = limits.iter().any(|l| {
            matches!(
                l.metric,
                Metric::Tokens | Metric::InputTokens | Metric::OutputTokens
            )
        }) || tl.max_tokens.is_some();
        let closed = (costs && policy.cost == FailMode::Closed)
            || (tokens && policy.tokens == FailMode::Closed)
            || policy.requests == FailMode::Closed;
        let decision = if closed { "closed" } else { "open" };
        self.metrics
            .limit_backend_errors
            .get_or_create(&Reason {
                reason: decision.into(),
            })
            .inc();
        if let Some(skipped) = self.down_log.due() {
            tracing::error!(
                error = err,
                decision,
                skipped,
                "the limits backend is unreachable; see seam_limit_backend_errors_total"
            );
        }
        if closed {
            Err(Refusal {
                status: 503,
                code: RefusalCode::LimitsUnavailable,
                message: "Seam cannot check this call's limits right now (the limits backend is unreachable) and its policy is to refuse rather than overspend.".into(),
                retry_after: Some(Duration::from_secs(1)),
            })
        } else {
            Ok(())
        }
    }

    /// Scripts run in Redis so far (each one round trip); 0 in process.
    pub fn redis_round_trips(&self) -> u64 {
        match &self.backend {
            Backend::Local(_) => 0,
            Backend::Redis(r) => r.round_trips(),
        }
    }

    /// Gives this gateway's unspent leases back to Redis and settles what is queued: call at
    /// shutdown, after the last call. Without it the leases' unspent part stays counted as
    /// spent until their windows end.
    pub async fn give_back_leases(&self) {
        if let Backend::Redis(r) = &self.backend
            && let Err(e) = r.give_back().await
        {
            tracing::warn!(error = %e, "could not give the limit leases back to Redis; their unspent part counts as spent until their windows end");
        }
    }

    /// Calls and attempts a tenant's trace has made so far, when the counters are in this
    /// process.
    pub fn trace_fan_out(&self, tenant: &str, trace: &str) -> Option<(u64, u64)> {
        match &self.backend {
            Backend::Local(l) => l.trace_fan_out(tenant, trace),
            Backend::Redis(_) => None,
        }
    }
}
