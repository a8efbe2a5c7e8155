//! Leases: slices of a Redis counter's remaining budget this gateway holds and spends without
//! a round trip. A lease is granted atomically in Redis (the counter's `leased` field grows by
//! it, and no grant or exact check ever lets `used + reserved + leased` pass the limit), so
//! what gateways spend from leases never overshoots; what a lease does not spend is given
//! back when it expires, when its window rolls, or when it runs out and is renewed.
//!
//! A lease's size follows the recent rate (about [`LEASE_SECS`] of it) and the Redis script
//! caps it at a fraction of what remains, refusing a lease once that fraction cannot hold the
//! call: the last units of a budget are then checked one call at a time ([`Take::Exact`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// A lease is given back this long after it was granted (sooner when spent): about a second
/// of traffic is what a gateway may hold unused.
pub(super) const LEASE_MS: i64 = 1_000;
/// The rate a lease is sized for, in seconds of it.
const LEASE_SECS: f64 = 1.0;
/// The first lease of a counter, in calls' worth.
const FIRST_LEASE_CALLS: f64 = 8.0;
/// How much larger than the last lease the next may be: a burst (a lease spent in a
/// millisecond) grows leases step by step rather than to a quarter of the budget at once.
const GROWTH: f64 = 4.0;
/// After Redis refused a lease (the budget is nearly spent), calls are checked exactly for
/// this long before a lease is asked for again.
const EXACT_HOLD_MS: i64 = 1_000;

/// What the requested call got from this gateway's lease.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Take {
    /// Taken from the lease of this generation.
    Leased(u64),
    /// No lease with room: ask Redis for one (the spent one, if any, is being given back).
    Renew,
    /// The budget is nearly spent: check this call in Redis.
    Exact,
}

/// How a call counts against a lease: counted at once (requests, attempts), or reserved and
/// settled to the bill later (tokens, cost).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Use {
    Count,
    Reserve,
}

/// One lease, as this gateway spends it.
#[derive(Debug, Clone)]
struct Lease {
    generation: u64,
    /// The Redis counter (its window's key) it was granted from.
    key: String,
    window: i64,
    /// When the window ends: the lease is given back then whatever is left.
    ends_ms: i64,
    granted: f64,
    used: f64,
    reserved: f64,
    granted_ms: i64,
}

#[derive(Debug, Default)]
struct Slot {
    lease: Option<Lease>,
    /// Checked exactly until then.
    exact_until_ms: i64,
    /// Units a second, measured over the last lease given back.
    rate: f64,
    /// The last lease's size: the next is at most [`GROWTH`] times it.
    last_grant: f64,
}

/// What Redis must be told when a lease is given back: the counter, and the deltas of its
/// `leased`, `used` and `reserved` fields.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Return {
    pub key: String,
    pub leased: f64,
    pub used: f64,
    pub reserved: f64,
}

/// A lease taken out to be given back.
pub(super) struct Expired {
    limit: String,
    lease: Lease,
    pub back: Return,
}

/// This gateway's leases, by limit (`scope:metric:window`, whatever the window's id).
#[derive(Default)]
pub(super) struct Leases {
    slots: Mutex<HashMap<String, Slot>>,
    generations: AtomicU64,
}

fn give_back(l: Lease, now_ms: i64, slot: &mut Slot) -> Return {
    let secs = ((now_ms - l.granted_ms) as f64 / 1000.0).max(0.1);
    slot.rate = (l.used + l.reserved) / secs;
    slot.last_grant = l.granted;
    Return {
        key: l.key,
        leased: -l.granted,
        used: l.used,
        reserved: l.reserved,
    }
}

impl Leases {
    /// Takes `need` for a call from the lease of `limit` in window `window`. A lease without
    /// room (or of a past window) is given back: the returned [`Return`] must reach Redis.
    pub(super) fn take(
        &self,
        limit: &str,
        window: i64,
        need: f64,
        how: Use,
        now_ms: i64,
    ) -> (Take, Option<Return>) {
        let Ok(mut slots) = self.slots.lock() else {
            return (Take::Exact, None);
        };
        let slot = slots.entry(limit.to_string()).or_default();
        if let Some(l) = slot.lease.as_mut()
            && l.window == window
            && l.used + l.reserved + need <= l.granted
        {
            match how {
                Use::Count => l.used += need,
                Use::Reserve => l.reserved += need,
            }
            return (Take::Leased(l.generation), None);
        }
        let back = slot.lease.take().map(|l| give_back(l, now_ms, slot));
        if now_ms < slot.exact_until_ms {
            return (Take::Exact, back);
        }
        (Take::Renew, back)
    }

    /// Whether a budget has anything left in this gateway's lease (a call is admitted before
    /// its attempts reserve).
    pub(super) fn has_room(&self, limit: &str, window: i64) -> bool {
        let Ok(slots) = self.slots.lock() else {
            return false;
        };
        slots
            .get(limit)
            .and_then(|s| s.lease.as_ref())
            .is_some_and(|l| l.window == window && l.used + l.reserved < l.granted)
    }

    /// How much to ask Redis for: about [`LEASE_SECS`] of the recent rate, at most [`GROWTH`]
    /// times the last lease, at least a few calls' worth of `need`. Redis caps it to a
    /// fraction of what remains.
    pub(super) fn want(&self, limit: &str, need: f64) -> f64 {
        let (rate, last) = self
            .slots
            .lock()
            .ok()
            .and_then(|s| s.get(limit).map(|s| (s.rate, s.last_grant)))
            .unwrap_or((0.0, 0.0));
        (rate * LEASE_SECS)
            .min(last * GROWTH)
            .max(need * FIRST_LEASE_CALLS)
    }

    /// Installs what Redis granted (0: none, check exactly for a while). A lease already
    /// there (another call renewed it meanwhile) is given back.
    pub(super) fn grant(
        &self,
        limit: &str,
        key: &str,
        window: (i64, i64),
        granted: f64,
        now_ms: i64,
    ) -> Option<Return> {
        let mut slots = self.slots.lock().ok()?;
        let slot = slots.entry(limit.to_string()).or_default();
        if granted <= 0.0 {
            slot.exact_until_ms = now_ms + EXACT_HOLD_MS;
            return None;
        }
        let back = slot.lease.take().map(|l| give_back(l, now_ms, slot));
        slot.lease = Some(Lease {
            generation: self.generations.fetch_add(1, Ordering::Relaxed) + 1,
            key: key.to_string(),
            window: window.0,
            ends_ms: window.1,
            granted,
            used: 0.0,
            reserved: 0.0,
            granted_ms: now_ms,
        });
        back
    }

    /// Puts back what a refused call took.
    pub(super) fn untake(&self, limit: &str, generation: u64, need: f64, how: Use) {
        let Ok(mut slots) = self.slots.lock() else {
            return;
        };
        if let Some(l) = slots.get_mut(limit).and_then(|s| s.lease.as_mut())
            && l.generation == generation
        {
            match how {
                Use::Count => l.used = (l.used - need).max(0.0),
                Use::Reserve => l.reserved = (l.reserved - need).max(0.0),
            }
        }
    }

    /// Settles a reservation taken from lease `generation`: false when that lease was given
    /// back meanwhile (its reservations went to Redis with it: settle there).
    pub(super) fn settle(&self, limit: &str, generation: u64, est: f64, billed: f64) -> bool {
        let Ok(mut slots) = self.slots.lock() else {
            return false;
        };
        match slots.get_mut(limit).and_then(|s| s.lease.as_mut()) {
            Some(l) if l.generation == generation => {
                l.reserved = (l.reserved - est).max(0.0);
                l.used += billed;
                true
            }
            _ => false,
        }
    }

    /// Takes out the leases granted [`LEASE_MS`] or more ago, or of a window that ended; all
    /// of them when `all` (shutdown). Their returns must reach Redis, or they are restored.
    pub(super) fn expire(&self, now_ms: i64, all: bool) -> Vec<Expired> {
        let Ok(mut slots) = self.slots.lock() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (limit, slot) in slots.iter_mut() {
            let due = slot
                .lease
                .as_ref()
                .is_some_and(|l| all || now_ms - l.granted_ms >= LEASE_MS || now_ms >= l.ends_ms);
            if due && let Some(l) = slot.lease.take() {
                let back = give_back(l.clone(), now_ms, slot);
                out.push(Expired {
                    limit: limit.clone(),
                    lease: l,
                    back,
                });
            }
        }
        out
    }

    /// Puts back leases whose return could not reach Redis (their unspent part is still
    /// this gateway's), unless a newer lease took their place; returns those put back.
    pub(super) fn restore(&self, expired: Vec<Expired>) -> Vec<Return> {
        let Ok(mut slots) = self.slots.lock() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in expired {
            let slot = slots.entry(e.limit).or_default();
            if slot.lease.is_none() {
                slot.lease = Some(e.lease);
                out.push(e.back);
            }
        }
        out
    }

    /// Units this gateway holds in leases and has not spent, by limit (for tests and the bound).
    #[cfg(test)]
    pub(super) fn unspent(&self) -> f64 {
        let Ok(slots) = self.slots.lock() else {
            return 0.0;
        };
        slots
            .values()
            .filter_map(|s| s.lease.as_ref())
            .map(|l| (l.granted - l.used - l.reserved).max(0.0))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_spent_locally_then_given_back_with_what_it_did_not_use() {
        let l = Leases::default();
        assert_eq!(l.take("r", 1, 1.0, Use::Count, 0).0, Take::Renew);
        assert_eq!(l.want("r", 1.0), 8.0);
        assert!(l.grant("r", "k1", (1, 60_000), 3.0, 0).is_none());
        let (t, _) = l.take("r", 1, 1.0, Use::Count, 10);
        let Take::Leased(g) = t else { panic!("{t:?}") };
        assert_eq!(l.take("r", 1, 1.0, Use::Count, 10).0, Take::Leased(g));
        l.untake("r", g, 1.0, Use::Count);
        assert_eq!(l.take("r", 1, 2.0, Use::Count, 500).0, Take::Leased(g));
        // 3 of 3 used: the next call gives the lease back and asks for another.
        let (t, back) = l.take("r", 1, 1.0, Use::Count, 500);
        assert_eq!(t, Take::Renew);
        assert_eq!(
            back,
            Some(Return {
                key: "k1".into(),
                leased: -3.0,
                used: 3.0,
                reserved: 0.0
            })
        );
        // 3 in half a second: the next lease is sized for 6 a second, at least 8 calls.
        assert_eq!(l.want("r", 1.0), 8.0);
        assert_eq!(l.want("r", 2.0), 16.0);
    }

    #[test]
    fn reservations_settle_locally_unless_the_lease_was_given_back() {
        let l = Leases::default();
        l.grant("t", "k1", (1, 60_000), 1000.0, 0);
        let Take::Leased(g) = l.take("t", 1, 400.0, Use::Reserve, 0).0 else {
            panic!()
        };
        assert!(l.settle("t", g, 400.0, 100.0));
        assert!(l.has_room("t", 1));
        assert!(!l.has_room("t", 2), "another window");
        let Take::Leased(g2) = l.take("t", 1, 400.0, Use::Reserve, 0).0 else {
            panic!()
        };
        // Expired: given back with the reservation in flight, which then settles in Redis.
        let back: Vec<Return> = l
            .expire(LEASE_MS, false)
            .into_iter()
            .map(|e| e.back)
            .collect();
        assert_eq!(
            back,
            vec![Return {
                key: "k1".into(),
                leased: -1000.0,
                used: 100.0,
                reserved: 400.0
            }]
        );
        assert!(!l.settle("t", g2, 400.0, 400.0));
        assert_eq!(l.unspent(), 0.0);
    }

    #[test]
    fn a_refused_lease_means_exact_checks_for_a_while() {
        let l = Leases::default();
        assert!(l.grant("r", "k1", (1, 60_000), 0.0, 0).is_none());
        assert_eq!(l.take("r", 1, 1.0, Use::Count, 999).0, Take::Exact);
        assert_eq!(l.take("r", 1, 1.0, Use::Count, 1000).0, Take::Renew);
    }

    #[test]
    fn a_rolled_window_gives_the_lease_back() {
        let l = Leases::default();
        l.grant("r", "k1", (1, 100), 5.0, 0);
        assert!(l.expire(99, false).is_empty());
        assert_eq!(l.expire(100, false).len(), 1);
    }
}
