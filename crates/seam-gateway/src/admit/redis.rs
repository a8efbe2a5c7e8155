//! The Redis counters: every gateway pointing at the same Redis enforces one limit. Each
//! decision is one Lua script, so checking and counting are atomic across instances.

use super::{Estimate, Refusal, Scope, Ticket, amount, scope_refusal, trace_refusal, window_of};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};
use seam_config::{LimitWindow, Metric, TenantLimit, TraceLimits};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// How long one Redis operation (or a connection attempt) may take before the limits count
/// as unreachable.
const REDIS_TIMEOUT: Duration = Duration::from_millis(500);
/// Traces are kept this long after their last call.
const TRACE_TTL_MS: i64 = 3_600_000;

/// Checks every counter and the trace, then counts, all or nothing.
/// KEYS: the tenant counters, then the trace hash.
/// ARGV: phase, now_ms, n, then per counter (kind, max, add, expire_at_ms), then the trace's
/// max_calls, max_attempts, max_tokens, max_cost, max_seconds (-1: none), est_tokens,
/// est_cost, ttl_ms.
const ADMIT: &str = r#"
local phase, now, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 1, n do
  local b = 4 + (i - 1) * 4
  local kind, max, add = ARGV[b], tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2])
  local used = tonumber(redis.call('HGET', KEYS[i], 'used') or '0')
  local reserved = tonumber(redis.call('HGET', KEYS[i], 'reserved') or '0')
  local over
  if kind == 'req' or kind == 'att' then over = used + 1 > max
  elseif kind == 'spent' then over = used + reserved >= max
  else over = used + reserved + add > max end
  if over then return {'tenant', tostring(i), tostring(used), tostring(reserved)} end
end
local t = KEYS[n + 1]
local tb = 4 + n * 4
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
"#;

/// Releases a reservation and counts what was billed.
/// KEYS: the amount counters, then the trace. ARGV: n, per counter (est, billed), then the
/// trace's est_tokens, billed_tokens, est_cost, billed_cost.
const SETTLE: &str = r#"
local n = tonumber(ARGV[1])
local function release(key, field, est)
  local r = tonumber(redis.call('HINCRBYFLOAT', key, field, -est))
  if r < 0 then redis.call('HSET', key, field, 0) end
end
for i = 1, n do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    release(KEYS[i], 'reserved', tonumber(ARGV[2 + (i - 1) * 2]))
    redis.call('HINCRBYFLOAT', KEYS[i], 'used', ARGV[3 + (i - 1) * 2])
  end
end
local t = KEYS[n + 1]
local b = 2 + n * 2
if redis.call('EXISTS', t) == 1 then
  release(t, 'tokens_reserved', tonumber(ARGV[b]))
  redis.call('HINCRBYFLOAT', t, 'tokens', ARGV[b + 1])
  release(t, 'cost_reserved', tonumber(ARGV[b + 2]))
  redis.call('HINCRBYFLOAT', t, 'cost', ARGV[b + 3])
end
return 0
"#;

/// One limit of one scope, as the admit script checks it.
struct Counter<'a> {
    scope: &'a Scope<'a>,
    limit: &'a TenantLimit,
    /// `req`, `spent` (call phase), `att`, `amt` (attempt phase): see the script.
    kind: &'static str,
    add: f64,
}

#[derive(Clone)]
pub(super) struct RedisLimits {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    prefix: String,
    conn: tokio::sync::Mutex<Option<ConnectionManager>>,
    last_failure_ms: AtomicI64,
    admit: Script,
    settle: Script,
}

fn opt(v: Option<u64>) -> f64 {
    v.map(|x| x as f64).unwrap_or(-1.0)
}

fn static_code(code: &str) -> &'static str {
    match code {
        "trace_call_limit" => "trace_call_limit",
        "trace_time_limit" => "trace_time_limit",
        "trace_token_limit" => "trace_token_limit",
        "trace_cost_limit" => "trace_cost_limit",
        _ => "trace_attempt_limit",
    }
}

impl RedisLimits {
    pub(super) fn new(url: &str, prefix: &str) -> Result<RedisLimits, String> {
        let client = Client::open(url).map_err(|e| format!("limits.backend: {e}"))?;
        Ok(RedisLimits {
            inner: Arc::new(Inner {
                client,
                prefix: prefix.to_string(),
                conn: tokio::sync::Mutex::new(None),
                last_failure_ms: AtomicI64::new(i64::MIN / 2),
                admit: Script::new(ADMIT),
                settle: Script::new(SETTLE),
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
        let now = crate::now_ms();
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

    fn counter_key(&self, scope: &str, metric: Metric, window: LimitWindow, id: i64) -> String {
        format!(
            "{}:lim:{scope}:{}:{}:{id}",
            self.inner.prefix,
            metric.as_str(),
            window.as_str()
        )
    }

    fn trace_key(&self, trace: &str) -> String {
        format!("{}:trace:{trace}", self.inner.prefix)
    }

    async fn run(
        &self,
        phase: &str,
        counters: &[Counter<'_>],
        trace: &str,
        tl: &TraceLimits,
        est: &Estimate,
        now_ms: i64,
    ) -> Result<Result<(), Refusal>, String> {
        let mut inv = self.inner.admit.prepare_invoke();
        for c in counters {
            let id = window_of(c.limit.window, now_ms).0;
            inv.key(self.counter_key(&c.scope.name, c.limit.metric, c.limit.window, id));
        }
        inv.key(self.trace_key(trace));
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
            .arg(TRACE_TTL_MS);
        let mut conn = self.conn().await?;
        let reply: Vec<String> = tokio::time::timeout(REDIS_TIMEOUT, inv.invoke_async(&mut conn))
            .await
            .map_err(|_| "Redis did not answer in time".to_string())?
            .map_err(|e| format!("Redis: {e}"))?;
        let num = |i: usize| {
            reply
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        Ok(match reply.first().map(String::as_str) {
            Some("ok") => Ok(()),
            Some("tenant") => {
                let c = counters
                    .get((num(1) as usize).saturating_sub(1))
                    .ok_or("Redis named an unknown limit")?;
                Err(scope_refusal(c.scope, c.limit, num(2), num(3), now_ms))
            }
            Some("trace") => {
                let code = static_code(reply.get(1).map(String::as_str).unwrap_or(""));
                Err(trace_refusal(
                    code,
                    trace,
                    format!("{} of {}", num(2), num(3)),
                ))
            }
            _ => return Err(format!("unexpected reply from Redis: {reply:?}")),
        })
    }

    pub(super) async fn admit_call(
        &self,
        scopes: &[Scope<'_>],
        trace: &str,
        tl: &TraceLimits,
        now_ms: i64,
    ) -> Result<Result<(), Refusal>, String> {
        let counters: Vec<Counter<'_>> = scopes
            .iter()
            .flat_map(|s| {
                s.limits.iter().map(move |l| Counter {
                    scope: s,
                    limit: l,
                    kind: if l.metric == Metric::Requests {
                        "req"
                    } else {
                        "spent"
                    },
                    add: 0.0,
                })
            })
            .collect();
        self.run("call", &counters, trace, tl, &Estimate::default(), now_ms)
            .await
    }

    pub(super) async fn reserve(
        &self,
        scopes: &[Scope<'_>],
        ticket: &Ticket,
        tl: &TraceLimits,
        now_ms: i64,
    ) -> Result<Result<(), Refusal>, String> {
        let counters: Vec<Counter<'_>> = scopes
            .iter()
            .flat_map(|s| {
                s.limits
                    .iter()
                    .filter(|l| l.metric != Metric::Requests)
                    .map(move |l| Counter {
                        scope: s,
                        limit: l,
                        kind: if l.metric == Metric::Attempts {
                            "att"
                        } else {
                            "amt"
                        },
                        add: amount(l.metric, &ticket.est),
                    })
            })
            .collect();
        self.run("attempt", &counters, &ticket.trace, tl, &ticket.est, now_ms)
            .await
    }

    /// Settles in the background: the call has its answer already.
    pub(super) fn settle(&self, ticket: Ticket, billed: Estimate) {
        let me = self.clone();
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        rt.spawn(async move {
            let mut inv = me.inner.settle.prepare_invoke();
            for (scope, metric, window, id) in &ticket.windows {
                inv.key(me.counter_key(scope, *metric, *window, *id));
            }
            inv.key(me.trace_key(&ticket.trace));
            inv.arg(ticket.windows.len());
            for (_, metric, _, _) in &ticket.windows {
                inv.arg(amount(*metric, &ticket.est)).arg(amount(*metric, &billed));
            }
            inv.arg(ticket.est.tokens())
                .arg(billed.tokens())
                .arg(ticket.est.cost)
                .arg(billed.cost);
            let done = match me.conn().await {
                Ok(mut conn) => tokio::time::timeout(REDIS_TIMEOUT, inv.invoke_async::<i64>(&mut conn))
                    .await
                    .map_err(|_| "timed out".to_string())
                    .and_then(|r| r.map_err(|e| e.to_string())),
                Err(e) => Err(e),
            };
            if let Err(e) = done {
                tracing::warn!(error = %e, tenant = %ticket.tenant, "could not settle a reservation in Redis; it expires with its window");
            }
        });
    }
}
