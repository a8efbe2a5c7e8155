//! The Redis counters: every gateway pointing at the same Redis enforces one limit. Each
//! decision is one Lua script, so checking and counting are atomic across instances; but the
//! typical call makes none: it spends a lease ([`super::lease`]) of the counter, granted by
//! a script that keeps `used + reserved + leased` within the limit. Trace caps, and counters
//! whose budget is nearly spent (Redis grants no lease), are checked per call.

mod leased;
mod sync;

use super::lease::Leases;
use super::reseed::Seed;
use super::{Estimate, Refusal, Scope, TraceRef, scope_refusal, trace_refusal, window_of};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};
use seam_config::{LimitWindow, Metric, TenantLimit, TraceLimits};
use seam_vocab::RefusalCode;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::Notify;

/// How long one Redis operation (or a connection attempt) may take before the limits count
/// as unreachable.
const REDIS_TIMEOUT: Duration = Duration::from_millis(500);
/// Traces are kept this long after their last call.
const TRACE_TTL_MS: i64 = super::TRACE_IDLE_MS;
/// How long a gateway's claim to re-seed an empty Redis holds before another may take it
/// over (it is renewed with every batch written).
const CLAIM_TTL_MS: i64 = 60_000;
/// Counters and traces written per re-seed script call.
const SEED_BATCH: usize = 500;

/// Whether Redis was emptied since it was last seeded: a marker key (`PREFIX:seeded`, no
/// expiry, so `volatile-*` eviction never takes it) says it holds counters. When it is
/// missing, the first script to notice claims the re-seed for its gateway (the marker then
/// reads `claimed:TOKEN` for CLAIM_TTL_MS) and the time the emptiness was first noticed is
/// kept in `PREFIX:emptied_at` until a re-seed completes: every later claim re-seeds up to
/// that same time, so calls counted live since then are never counted twice.
/// Returns '' (nothing to do) or 'TOKEN@AT_MS'.
const CLAIM_FN: &str = r#"
local function claim(marker, emptied, now, owner)
  if redis.call('EXISTS', marker) == 1 then return '' end
  redis.call('SET', emptied, now, 'NX')
  local at = redis.call('GET', emptied)
  local token = owner .. ':' .. now
  redis.call('SET', marker, 'claimed:' .. token, 'PX', CLAIM_TTL)
  return token .. '@' .. at
end
"#;

/// KEYS: marker, emptied_at. ARGV: now, owner.
const CLAIM: &str = r#"
return claim(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
"#;

/// Checks every counter and the trace, then counts, all or nothing; and claims the re-seed of
/// an empty Redis (the reply's first element). What gateways hold in leases (`leased`) is as
/// good as spent here.
/// KEYS: the tenant counters, then the trace hash, the marker and emptied_at.
/// ARGV: phase, now_ms, n, then per counter (kind, max, add, expire_at_ms), then the trace's
/// max_calls, max_attempts, max_tokens, max_cost, max_seconds (-1: none), est_tokens,
/// est_cost, ttl_ms, then the gateway's owner id.
const ADMIT: &str = r#"
local phase, now, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local tb = 4 + n * 4
local claimed = claim(KEYS[n + 2], KEYS[n + 3], ARGV[2], ARGV[tb + 8])
local function decide()
  for i = 1, n do
    local b = 4 + (i - 1) * 4
    local kind, max, add = ARGV[b], tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2])
    local used = tonumber(redis.call('HGET', KEYS[i], 'used') or '0')
    local reserved = tonumber(redis.call('HGET', KEYS[i], 'reserved') or '0')
    local leased = tonumber(redis.call('HGET', KEYS[i], 'leased') or '0')
    local over
    if kind == 'req' or kind == 'att' then over = used + leased + 1 > max
    elseif kind == 'spent' then over = used + reserved + leased >= max
    else over = used + reserved + leased + add > max end
    if over then return {'tenant', tostring(i), tostring(used), tostring(reserved + leased)} end
  end
  local t = KEYS[n + 1]
  local max_calls, max_attempts = tonumber(ARGV[tb]), tonumber(ARGV[tb + 1])
  local max_tokens, max_cost, max_seconds = tonumber(ARGV[tb + 2]), tonumber(ARGV[tb + 3]), tonumber(ARGV[tb + 4])
  local est_tokens, est_cost, ttl = tonumber(ARGV[tb + 5]), tonumber(ARGV[tb + 6]), tonumber(ARGV[tb + 7])
  local function f(field) return tonumber(redis.call('HGET', t, field) or '0') end
  local first = tonumber(redis.call('HGET', t, 'first_ms') or tostring(now))
  local calls, attempts = f('calls'), f('attempts')
  local tokens = f('tokens') + f('tokens_reserved')
  local cost = f('cost') + f('cost_reserved')
  if phase == 'call' then
    if max_calls >= 0 and calls + 1 > max_calls then return {'trace', 'trace_call_limit', tostring(calls), tostring(max_calls)} end
    if max_seconds >= 0 and (now - first) / 1000 > max_seconds then return {'trace', 'trace_time_limit', tostring((now - first) / 1000), tostring(max_seconds)} end
    if max_tokens >= 0 and tokens >= max_tokens then return {'trace', 'trace_token_limit', tostring(tokens), tostring(max_tokens)} end
    if max_cost >= 0 and cost >= max_cost then return {'trace', 'trace_cost_limit', tostring(cost), tostring(max_cost)} end
  else
    if max_attempts >= 0 and attempts + 1 > max_attempts then return {'trace', 'trace_attempt_limit', tostring(attempts), tostring(max_attempts)} end
    if max_tokens >= 0 and tokens + est_tokens > max_tokens then return {'trace', 'trace_token_limit', tostring(tokens), tostring(max_tokens)} end
    if max_cost >= 0 and cost + est_cost > max_cost then return {'trace', 'trace_cost_limit', tostring(cost), tostring(max_cost)} end
  end
  for i = 1, n do
    local b = 4 + (i - 1) * 4
    local kind = ARGV[b]
    if kind == 'req' or kind == 'att' then redis.call('HINCRBYFLOAT', KEYS[i], 'used', 1)
    elseif kind == 'amt' then redis.call('HINCRBYFLOAT', KEYS[i], 'reserved', ARGV[b + 2]) end
    if kind ~= 'spent' then redis.call('PEXPIREAT', KEYS[i], ARGV[b + 3]) end
  end
  redis.call('HSETNX', t, 'first_ms', now)
  if phase == 'call' then
    redis.call('HINCRBY', t, 'calls', 1)
  else
    redis.call('HINCRBY', t, 'attempts', 1)
    redis.call('HINCRBYFLOAT', t, 'tokens_reserved', est_tokens)
    redis.call('HINCRBYFLOAT', t, 'cost_reserved', est_cost)
  end
  redis.call('PEXPIRE', t, ttl)
  return {'ok'}
end
local r = decide()
table.insert(r, 1, claimed)
return r
"#;

/// Adds what the records say was spent, if this gateway still holds the claim; the last
/// batch marks Redis seeded. KEYS: marker, emptied_at, n counters, m traces. ARGV: token,
/// last (1/0), now, n, m, trace ttl, per counter (amount, expire_at_ms), per trace (first_ms,
/// last_ms, calls, attempts, tokens, cost).
const SEED: &str = r#"
if redis.call('GET', KEYS[1]) ~= 'claimed:' .. ARGV[1] then return 0 end
local now, n, m, ttl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
for i = 1, n do
  local b = 7 + (i - 1) * 2
  redis.call('HINCRBYFLOAT', KEYS[2 + i], 'used', ARGV[b])
  redis.call('PEXPIREAT', KEYS[2 + i], ARGV[b + 1])
end
local tb = 7 + n * 2
for j = 1, m do
  local b = tb + (j - 1) * 6
  local k = KEYS[2 + n + j]
  local first = tonumber(ARGV[b])
  local cur = redis.call('HGET', k, 'first_ms')
  if not cur or tonumber(cur) > first then redis.call('HSET', k, 'first_ms', ARGV[b]) end
  redis.call('HINCRBY', k, 'calls', ARGV[b + 2])
  redis.call('HINCRBY', k, 'attempts', ARGV[b + 3])
  redis.call('HINCRBYFLOAT', k, 'tokens', ARGV[b + 4])
  redis.call('HINCRBYFLOAT', k, 'cost', ARGV[b + 5])
  local at = tonumber(ARGV[b + 1]) + ttl
  local left = redis.call('PTTL', k)
  if left < 0 or now + left < at then redis.call('PEXPIREAT', k, at) end
end
if ARGV[2] == '1' then
  redis.call('SET', KEYS[1], 'seeded')
  redis.call('DEL', KEYS[2])
else
  redis.call('PEXPIRE', KEYS[1], CLAIM_TTL)
end
return 1
"#;

/// This gateway's claim to re-seed an empty Redis: its token, and the time up to which the
/// records are read (when the emptiness was first noticed).
#[derive(Debug, Clone)]
pub(super) struct Claim {
    token: String,
    pub at_ms: i64,
}

impl Claim {
    fn parse(reply: &str) -> Option<Claim> {
        let (token, at) = reply.split_once('@')?;
        Some(Claim {
            token: token.to_string(),
            at_ms: at.parse().ok()?,
        })
    }
}

/// One limit of one scope, as the admit script checks it.
#[derive(Clone, Copy)]
struct Counter<'a> {
    scope: &'a Scope<'a>,
    limit: &'a TenantLimit,
    /// `req`, `spent` (call phase), `att`, `amt` (attempt phase): see the script.
    kind: &'static str,
    add: f64,
}

/// A decision, and the re-seed this call claimed (Redis was found empty).
type Decision = (Result<(), Refusal>, Option<Claim>);

#[derive(Clone)]
pub(super) struct RedisLimits {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    prefix: String,
    /// This process, in re-seed claims.
    owner: String,
    conn: tokio::sync::Mutex<Option<ConnectionManager>>,
    last_failure_ms: AtomicI64,
    settle_log: crate::throttle::LogThrottle,
    admit: Script,
    sync: Script,
    claim: Script,
    seed: Script,
    leases: Leases,
    /// Deltas waiting for the next flush ([`sync`]).
    pending: Mutex<sync::Pending>,
    /// Held (shared) by every sync from taking its batch until Redis answered: giving the
    /// leases back takes it exclusively first, so that no batch is still on its way when
    /// that returns.
    in_flight: tokio::sync::RwLock<()>,
    flusher: OnceLock<()>,
    kick: Arc<Notify>,
    /// The last flush or lease call failed: leases are kept past their time.
    down: AtomicBool,
    /// Scripts run (round trips), for `Limiter::redis_round_trips`.
    round_trips: AtomicU64,
}

/// A script with the claim function in front.
fn with_claim(script: &str) -> String {
    CLAIM_FN.replace("CLAIM_TTL", &CLAIM_TTL_MS.to_string()) + script
}

fn opt(v: Option<u64>) -> f64 {
    v.map(|x| x as f64).unwrap_or(-1.0)
}

/// The trace limit the script named.
fn static_code(code: &str) -> RefusalCode {
    match code {
        "trace_call_limit" => RefusalCode::TraceCallLimit,
        "trace_time_limit" => RefusalCode::TraceTimeLimit,
        "trace_token_limit" => RefusalCode::TraceTokenLimit,
        "trace_cost_limit" => RefusalCode::TraceCostLimit,
        _ => RefusalCode::TraceAttemptLimit,
    }
}

impl RedisLimits {
    pub(super) fn new(url: &str, prefix: &str) -> Result<RedisLimits, String> {
        let client = Client::open(url).map_err(|e| format!("limits.backend: {e}"))?;
        Ok(RedisLimits {
            inner: Arc::new(Inner {
                client,
                prefix: prefix.to_string(),
                owner: format!("{:016x}", rand::random::<u64>()),
                conn: tokio::sync::Mutex::new(None),
                last_failure_ms: AtomicI64::new(i64::MIN / 2),
                settle_log: crate::throttle::LogThrottle::new(1000),
                admit: Script::new(&with_claim(ADMIT)),
                sync: Script::new(&sync::sync_script()),
                claim: Script::new(&with_claim(CLAIM)),
                seed: Script::new(&SEED.replace("CLAIM_TTL", &CLAIM_TTL_MS.to_string())),
                leases: Leases::default(),
                pending: Mutex::new(sync::Pending::default()),
                in_flight: tokio::sync::RwLock::new(()),
                flusher: OnceLock::new(),
                kick: Arc::new(Notify::new()),
                down: AtomicBool::new(false),
                round_trips: AtomicU64::new(0),
            }),
        })
    }

    /// The shared connection, made on first use; after a failure, at most one new try a
    /// second so that an outage does not add a connect timeout to every call.
    async fn conn(&self) -> Result<ConnectionManager, String> {
        let mut slot = self.inner.conn.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let now = seam_store::now_ms();
        if now - self.inner.last_failure_ms.load(Ordering::Relaxed) < 1000 {
            return Err("Redis was unreachable less than a second ago".into());
        }
        let cfg = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1);
        let made = tokio::time::timeout(
            REDIS_TIMEOUT * 2,
            ConnectionManager::new_with_config(self.inner.client.clone(), cfg),
        )
        .await;
        match made {
            Ok(Ok(c)) => {
                *slot = Some(c.clone());
                Ok(c)
            }
            Ok(Err(e)) => {
                self.inner.last_failure_ms.store(now, Ordering::Relaxed);
                Err(format!("cannot connect to Redis: {e}"))
            }
            Err(_) => {
                self.inner.last_failure_ms.store(now, Ordering::Relaxed);
                Err("connecting to Redis timed out".into())
            }
        }
    }

    /// Runs a script: one round trip, counted, within [`REDIS_TIMEOUT`].
    async fn invoke<T: redis::FromRedisValue>(
        &self,
        inv: &redis::ScriptInvocation<'_>,
    ) -> Result<T, String> {
        let mut conn = self.conn().await?;
        self.inner.round_trips.fetch_add(1, Ordering::Relaxed);
        tokio::time::timeout(REDIS_TIMEOUT, inv.invoke_async(&mut conn))
            .await
            .map_err(|_| "Redis did not answer in time".to_string())?
            .map_err(|e| format!("Redis: {e}"))
    }

    /// Scripts run so far.
    pub(super) fn round_trips(&self) -> u64 {
        self.inner.round_trips.load(Ordering::Relaxed)
    }

    /// Gives every lease back and flushes what is queued (at shutdown).
    pub(super) async fn give_back(&self) -> Result<(), String> {
        self.flush(true).await
    }

    fn counter_key(&self, scope: &str, metric: Metric, window: LimitWindow, id: i64) -> String {
        format!(
            "{}:lim:{scope}:{}:{}:{id}",
            self.inner.prefix,
            metric.as_str(),
            window.as_str()
        )
    }

    /// One tenant's trace; the tenant's length first, so no two (tenant, trace) pairs meet.
    fn trace_key(&self, tenant: &str, trace: &str) -> String {
        format!(
            "{}:trace:{}:{tenant}:{trace}",
            self.inner.prefix,
            tenant.len()
        )
    }

    fn marker_keys(&self) -> [String; 2] {
        let p = &self.inner.prefix;
        [format!("{p}:seeded"), format!("{p}:emptied_at")]
    }

    /// Claims the re-seed if Redis is empty (at start).
    pub(super) async fn claim(&self, now_ms: i64) -> Result<Option<Claim>, String> {
        let mut inv = self.inner.claim.prepare_invoke();
        for k in self.marker_keys() {
            inv.key(k);
        }
        inv.arg(now_ms).arg(&self.inner.owner);
        let reply: String = self.invoke(&inv).await?;
        Ok(Claim::parse(&reply))
    }

    /// Writes the seed in batches while the claim holds; the last batch marks Redis seeded.
    pub(super) async fn seed(&self, seed: &Seed, claim: &Claim) -> Result<(), String> {
        let counters: Vec<(String, f64, i64)> = seed
            .counters
            .iter()
            .map(|(scope, l, spent)| {
                let (id, end) = window_of(l.window, seed.at_ms);
                let key = self.counter_key(scope, l.metric, l.window, id);
                (key, *spent, end + 86_400_000)
            })
            .collect();
        let batches = counters
            .len()
            .div_ceil(SEED_BATCH)
            .max(seed.traces.len().div_ceil(SEED_BATCH))
            .max(1);
        let mut conn = self.conn().await?;
        for b in 0..batches {
            self.inner.round_trips.fetch_add(1, Ordering::Relaxed);
            let cs = counters.iter().skip(b * SEED_BATCH).take(SEED_BATCH);
            let ts = seed.traces.iter().skip(b * SEED_BATCH).take(SEED_BATCH);
            let mut inv = self.inner.seed.prepare_invoke();
            for k in self.marker_keys() {
                inv.key(k);
            }
            let (mut n, mut m) = (0, 0);
            for (key, _, _) in cs.clone() {
                inv.key(key);
                n += 1;
            }
            for t in ts.clone() {
                inv.key(self.trace_key(&t.tenant, &t.trace_id));
                m += 1;
            }
            inv.arg(&claim.token)
                .arg(i64::from(b + 1 == batches))
                .arg(seam_store::now_ms())
                .arg(n)
                .arg(m)
                .arg(TRACE_TTL_MS);
            for (_, spent, expire) in cs {
                inv.arg(*spent).arg(*expire);
            }
            for t in ts {
                inv.arg(t.first_ms)
                    .arg(t.last_ms)
                    .arg(t.calls)
                    .arg(t.attempts)
                    .arg(t.tokens)
                    .arg(t.cost_usd);
            }
            let held: i64 = tokio::time::timeout(REDIS_TIMEOUT * 4, inv.invoke_async(&mut conn))
                .await
                .map_err(|_| "Redis did not answer in time".to_string())?
                .map_err(|e| format!("Redis: {e}"))?;
            if held == 0 {
                return Err("the claim to re-seed Redis passed to another gateway (or Redis was emptied again) before this one finished".into());
            }
        }
        Ok(())
    }

    async fn run(
        &self,
        phase: &str,
        counters: &[Counter<'_>],
        trace: &TraceRef<'_>,
        tl: &TraceLimits,
        est: &Estimate,
        now_ms: i64,
    ) -> Result<Decision, String> {
        let mut inv = self.inner.admit.prepare_invoke();
        for c in counters {
            let id = window_of(c.limit.window, now_ms).0;
            inv.key(self.counter_key(&c.scope.name, c.limit.metric, c.limit.window, id));
        }
        inv.key(self.trace_key(trace.tenant, trace.id));
        for k in self.marker_keys() {
            inv.key(k);
        }
        inv.arg(phase).arg(now_ms).arg(counters.len());
        for c in counters {
            // Counters live a day past their window so a settle after the rollover finds them.
            let expire = window_of(c.limit.window, now_ms).1 + 86_400_000;
            inv.arg(c.kind).arg(c.limit.max).arg(c.add).arg(expire);
        }
        inv.arg(opt(tl.max_calls))
            .arg(opt(tl.max_attempts))
            .arg(opt(tl.max_tokens))
            .arg(tl.max_cost.unwrap_or(-1.0))
            .arg(tl.max_seconds.unwrap_or(-1.0))
            .arg(est.tokens())
            .arg(est.cost)
            .arg(TRACE_TTL_MS)
            .arg(&self.inner.owner);
        let reply: Vec<String> = self.invoke(&inv).await?;
        // The claim first, then the decision.
        let claim = reply.first().and_then(|c| Claim::parse(c));
        let num = |i: usize| {
            reply
                .get(i + 1)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        let decision = match reply.get(1).map(String::as_str) {
            Some("ok") => Ok(()),
            Some("tenant") => {
                let c = counters
                    .get((num(1) as usize).saturating_sub(1))
                    .ok_or("Redis named an unknown limit")?;
                Err(scope_refusal(c.scope, c.limit, num(2), num(3), now_ms))
            }
            Some("trace") => {
                let code = static_code(reply.get(2).map(String::as_str).unwrap_or(""));
                Err(trace_refusal(
                    code,
                    trace.id,
                    format!("{} of {}", num(2), num(3)),
                ))
            }
            _ => return Err(format!("unexpected reply from Redis: {reply:?}")),
        };
        Ok((decision, claim))
    }
}
