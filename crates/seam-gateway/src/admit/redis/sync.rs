//! What reaches Redis in batches: settled reservations (billed against estimated), leases
//! given back, and, in the same atomic call, new leases. A background task flushes every
//! [`FLUSH_EVERY`] or once [`FLUSH_ITEMS`] are queued; a flush that fails keeps its deltas for
//! the next one, so a Redis outage delays settling rather than losing it.

use super::{Claim, RedisLimits, with_claim};
use crate::admit::lease::Return;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

pub(super) const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// Queued settles that flush at once rather than at the next tick.
const FLUSH_ITEMS: usize = 256;
/// Counters and traces with deltas waiting at most; past that (Redis down a long while) new
/// ones are dropped and logged, and their windows' counters stay as they were.
const MAX_PENDING_KEYS: usize = 100_000;
/// A lease is at most this fraction of what remains; when that cannot hold the call's need,
/// Redis grants none and the call is checked exactly.
const LEASE_FRACTION: f64 = 4.0;

/// Applies deltas, then grants leases; claims the re-seed of an empty Redis.
/// KEYS: marker, emptied_at, nd delta keys, ng grant keys.
/// ARGV: now, owner ('' when the caller cannot re-seed: no claim), nd, ng, per delta key (count, then count pairs of field and delta), per
/// grant (max, want, need, expire_at_ms, whole 1/0).
/// Returns the claim, then what each grant got (0: none, check exactly).
const SYNC: &str = r#"
local now, owner, nd, ng = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local claimed = ''
if owner ~= '' then claimed = claim(KEYS[1], KEYS[2], now, owner) end
local a = 5
for i = 1, nd do
  local k = KEYS[2 + i]
  local c = tonumber(ARGV[a])
  a = a + 1
  local live = redis.call('EXISTS', k) == 1
  for j = 1, c do
    local f, d = ARGV[a], tonumber(ARGV[a + 1])
    a = a + 2
    if live and d ~= 0 then
      if tonumber(redis.call('HINCRBYFLOAT', k, f, d)) < 0 then redis.call('HSET', k, f, 0) end
    end
  end
end
local out = {claimed}
for i = 1, ng do
  local k = KEYS[2 + nd + i]
  local max, want, need = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local exp, whole = ARGV[a + 3], ARGV[a + 4]
  a = a + 5
  local function f(x) return tonumber(redis.call('HGET', k, x) or '0') end
  local avail = max - f('used') - f('reserved') - f('leased')
  local g = math.min(want, avail / FRACTION)
  if whole == '1' then g = math.floor(g) end
  if g < need or g <= 0 then g = 0 end
  if g > 0 then
    redis.call('HINCRBYFLOAT', k, 'leased', g)
    redis.call('PEXPIREAT', k, exp)
  end
  table.insert(out, tostring(g))
end
return out
"#;

pub(super) fn sync_script() -> String {
    with_claim(SYNC).replace("FRACTION", &format!("{LEASE_FRACTION:.1}"))
}

/// A lease asked for: the counter's key, its limit, how much is wanted and the least that is
/// of use (this call's need), when the key expires, and whether it counts whole units.
pub(super) struct Ask {
    pub key: String,
    pub max: f64,
    pub want: f64,
    pub need: f64,
    pub expire_at_ms: i64,
    pub whole: bool,
}

/// Deltas waiting, by key: (field, delta) pairs.
#[derive(Default)]
pub(super) struct Pending {
    keys: HashMap<String, Vec<(&'static str, f64)>>,
    items: usize,
}

impl Pending {
    fn add(&mut self, key: &str, deltas: &[(&'static str, f64)]) -> bool {
        if !self.keys.contains_key(key) && self.keys.len() >= MAX_PENDING_KEYS {
            return false;
        }
        let fields = self.keys.entry(key.to_string()).or_default();
        for (f, d) in deltas {
            match fields.iter_mut().find(|(g, _)| g == f) {
                Some((_, v)) => *v += d,
                None => fields.push((f, *d)),
            }
        }
        self.items += 1;
        true
    }
}

impl RedisLimits {
    /// Queues deltas for `key`; flushes early when many are waiting.
    pub(super) fn queue(&self, key: &str, deltas: &[(&'static str, f64)]) {
        self.start_flusher();
        let (added, many) = match self.inner.pending.lock() {
            Ok(mut p) => (p.add(key, deltas), p.items >= FLUSH_ITEMS),
            Err(_) => (false, false),
        };
        if !added && let Some(skipped) = self.inner.settle_log.due() {
            tracing::warn!(
                skipped,
                "too many limit counters wait to be settled in Redis (is it down?); dropping a settle, its window's counter keeps the estimate"
            );
        }
        if many {
            self.inner.kick.notify_one();
        }
    }

    pub(super) fn queue_return(&self, r: Return) {
        let deltas = [
            ("leased", r.leased),
            ("used", r.used),
            ("reserved", r.reserved),
        ];
        self.queue(&r.key, &deltas);
    }

    /// One round trip: what is queued, and the leases asked for; with `claim`, the re-seed of
    /// an empty Redis is claimed for the caller. A failure puts the deltas back for the next
    /// try.
    pub(super) async fn sync(
        &self,
        asks: &[Ask],
        claim: bool,
    ) -> Result<(Vec<f64>, Option<Claim>), String> {
        let _in_flight = self.inner.in_flight.read().await;
        let batch = match self.inner.pending.lock() {
            Ok(mut p) => std::mem::take(&mut *p),
            Err(_) => Pending::default(),
        };
        if batch.keys.is_empty() && asks.is_empty() {
            return Ok((Vec::new(), None));
        }
        let mut inv = self.inner.sync.prepare_invoke();
        for k in self.marker_keys() {
            inv.key(k);
        }
        for k in batch.keys.keys() {
            inv.key(k);
        }
        for a in asks {
            inv.key(&a.key);
        }
        let owner = if claim { self.inner.owner.as_str() } else { "" };
        inv.arg(seam_store::now_ms())
            .arg(owner)
            .arg(batch.keys.len())
            .arg(asks.len());
        for fields in batch.keys.values() {
            inv.arg(fields.len());
            for (f, d) in fields {
                inv.arg(*f).arg(*d);
            }
        }
        for a in asks {
            inv.arg(a.max)
                .arg(a.want)
                .arg(a.need)
                .arg(a.expire_at_ms)
                .arg(i64::from(a.whole));
        }
        let reply = self.invoke::<Vec<String>>(&inv).await;
        match reply {
            Ok(reply) => {
                self.inner.down.store(false, Ordering::Relaxed);
                let claim = reply.first().and_then(|c| Claim::parse(c));
                let grants = (0..asks.len())
                    .map(|i| reply.get(i + 1).and_then(|g| g.parse().ok()).unwrap_or(0.0))
                    .collect();
                Ok((grants, claim))
            }
            Err(e) => {
                self.inner.down.store(true, Ordering::Relaxed);
                if let Ok(mut p) = self.inner.pending.lock() {
                    for (k, fields) in batch.keys {
                        p.add(&k, &fields);
                    }
                }
                Err(e)
            }
        }
    }

    /// Gives back expired leases (all of them when `all`) and flushes what is queued. While
    /// Redis is unreachable, leases are kept: their unspent part is still this gateway's. An
    /// empty Redis is not claimed here (calls claim it, and re-seed).
    pub(super) async fn flush(&self, all: bool) -> Result<(), String> {
        let expired = if all || !self.inner.down.load(Ordering::Relaxed) {
            self.inner.leases.expire(seam_store::now_ms(), all)
        } else {
            Vec::new()
        };
        for e in &expired {
            self.queue_return(e.back.clone());
        }
        if all {
            // A batch another sync took (the background flush, a renewal) lands first: what
            // it carries is given back too by the time this returns.
            drop(self.inner.in_flight.write().await);
        }
        let done = self.sync(&[], false).await.map(|_| ());
        if done.is_err() && !all {
            // Redis went down with these returns: keep spending the leases, and take their
            // returns off the queue again.
            for r in self.inner.leases.restore(expired) {
                self.queue_return(Return {
                    key: r.key,
                    leased: -r.leased,
                    used: -r.used,
                    reserved: -r.reserved,
                });
            }
        }
        done
    }

    /// The background flush, started on first use; it ends with the limiter.
    fn start_flusher(&self) {
        if self.inner.flusher.get().is_some() {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.inner.flusher.set(()).is_err() {
            return;
        }
        let weak = Arc::downgrade(&self.inner);
        let kick = self.inner.kick.clone();
        rt.spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(FLUSH_EVERY) => {}
                    () = kick.notified() => {}
                }
                let Some(inner) = weak.upgrade() else { break };
                let me = RedisLimits { inner };
                if let Err(e) = me.flush(false).await
                    && let Some(skipped) = me.inner.settle_log.due()
                {
                    tracing::warn!(error = %e, skipped, "could not settle limits in Redis; retrying");
                }
            }
        });
    }
}
