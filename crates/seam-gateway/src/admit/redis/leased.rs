//! The call path over leases: what a call takes from this gateway's leases, what it must
//! still check in Redis, and where its reservations settle.

use super::sync::Ask;
use super::{Counter, Decision, RedisLimits};
use crate::admit::lease::{Take, Use};
use crate::admit::{Estimate, Held, Scope, Ticket, TraceRef, amount, window_of};
use seam_config::{LimitWindow, Metric, TraceLimits};

impl RedisLimits {
    pub(in crate::admit) async fn admit_call(
        &self,
        scopes: &[Scope<'_>],
        trace: &TraceRef<'_>,
        tl: &TraceLimits,
        now_ms: i64,
    ) -> Result<Decision, String> {
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
        let est = Estimate::default();
        let (decision, _) = self
            .decide("call", &counters, trace, tl, &est, now_ms)
            .await?;
        Ok(decision)
    }

    /// Reserves an attempt; the [`Held`] says which leases its amounts came from, for settling.
    pub(in crate::admit) async fn reserve(
        &self,
        scopes: &[Scope<'_>],
        ticket: &Ticket,
        trace: &TraceRef<'_>,
        tl: &TraceLimits,
        now_ms: i64,
    ) -> Result<(Decision, Held), String> {
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
        let (decision, mut held) = self
            .decide("attempt", &counters, trace, tl, &ticket.est, now_ms)
            .await?;
        // Only the amounts settle: keep theirs, in the ticket's order.
        held.leases = counters
            .iter()
            .zip(held.leases)
            .filter(|(c, _)| c.kind == "amt")
            .map(|(_, g)| g)
            .collect();
        Ok((decision, held))
    }

    /// Takes what it can from this gateway's leases (renewing those spent, in one round trip),
    /// then checks the rest, and the trace when it has caps, in Redis (one more). A call that
    /// every lease covers and that has no trace caps makes no round trip.
    async fn decide(
        &self,
        phase: &str,
        counters: &[Counter<'_>],
        trace: &TraceRef<'_>,
        tl: &TraceLimits,
        est: &Estimate,
        now_ms: i64,
    ) -> Result<(Decision, Held), String> {
        let leases = &self.inner.leases;
        let mut got: Vec<Option<u64>> = vec![None; counters.len()];
        let mut renew: Vec<usize> = Vec::new();
        // A lease given back is still `leased` in Redis until its return lands.
        let mut returned = false;
        for (i, c) in counters.iter().enumerate() {
            let name = c.lease_name();
            let id = window_of(c.limit.window, now_ms).0;
            let Some(how) = c.lease_use() else {
                // A call's check that its budget is not spent: a lease with room says so.
                if leases.has_room(&name, id) {
                    got[i] = Some(0);
                }
                continue;
            };
            let (take, back) = leases.take(&name, id, c.need(), how, now_ms);
            if let Some(b) = back {
                self.queue_return(b);
                returned = true;
            }
            match take {
                Take::Leased(g) => got[i] = Some(g),
                Take::Renew => renew.push(i),
                Take::Exact => {}
            }
        }
        let mut claim = None;
        if renew.is_empty() && returned && got.iter().any(Option::is_none) {
            // The exact check below must not count this gateway's own returned lease.
            match self.sync(&[], true).await {
                Ok((_, claimed)) => claim = claimed,
                Err(e) => {
                    self.untake(counters, &got);
                    return Err(e);
                }
            }
        }
        if !renew.is_empty() {
            let asks: Vec<Ask> = renew
                .iter()
                .filter_map(|&i| counters.get(i))
                .map(|c| {
                    let (id, end) = window_of(c.limit.window, now_ms);
                    let whole = c.limit.metric != Metric::Cost;
                    let floor = if whole { 1.0 } else { 1e-6 };
                    Ask {
                        key: self.counter_key(&c.scope.name, c.limit.metric, c.limit.window, id),
                        max: c.limit.max,
                        want: leases.want(&c.lease_name(), c.need()).max(floor),
                        need: c.need(),
                        expire_at_ms: end + 86_400_000,
                        whole,
                    }
                })
                .collect();
            let (grants, claimed) = match self.sync(&asks, true).await {
                Ok(r) => r,
                Err(e) => {
                    self.untake(counters, &got);
                    return Err(e);
                }
            };
            claim = claimed;
            for ((&i, ask), granted) in renew.iter().zip(&asks).zip(grants) {
                let Some(c) = counters.get(i) else { continue };
                let name = c.lease_name();
                let window = window_of(c.limit.window, now_ms);
                if let Some(b) = leases.grant(&name, &ask.key, window, granted, now_ms) {
                    self.queue_return(b);
                }
                let how = c.lease_use().unwrap_or(Use::Count);
                let (take, back) = leases.take(&name, window.0, c.need(), how, now_ms);
                if let Some(b) = back {
                    self.queue_return(b);
                }
                if let Take::Leased(g) = take {
                    got[i] = Some(g);
                }
            }
        }
        let exact: Vec<Counter<'_>> = counters
            .iter()
            .zip(&got)
            .filter(|(_, g)| g.is_none())
            .map(|(c, _)| *c)
            .collect();
        if exact.is_empty() && tl.is_empty() {
            let held = Held {
                leases: got,
                trace: false,
            };
            return Ok(((Ok(()), claim), held));
        }
        let (decision, claimed) = match self.run(phase, &exact, trace, tl, est, now_ms).await {
            Ok(d) => d,
            Err(e) => {
                self.untake(counters, &got);
                return Err(e);
            }
        };
        if decision.is_err() {
            self.untake(counters, &got);
        }
        let held = Held {
            leases: got,
            trace: true,
        };
        Ok(((decision, claim.or(claimed)), held))
    }

    /// Puts back what a call that is not going ahead took from the leases.
    fn untake(&self, counters: &[Counter<'_>], got: &[Option<u64>]) {
        for (c, g) in counters.iter().zip(got) {
            if let (Some(g), Some(how)) = (g, c.lease_use())
                && *g > 0
            {
                self.inner.leases.untake(&c.lease_name(), *g, c.need(), how);
            }
        }
    }

    /// Settles to the bill: locally when the reservation came from a lease still held, else
    /// queued for the next flush (the call has its answer already).
    pub(in crate::admit) fn settle(&self, ticket: Ticket, billed: Estimate) {
        // Reservations made in Redis itself (a nearly spent budget, a trace cap) hold the
        // budget until settled there: flushed now, not at the next tick.
        let mut exact = ticket.held.trace;
        for (i, (scope, metric, window, id)) in ticket.windows.iter().enumerate() {
            let est = amount(*metric, &ticket.est);
            let bill = amount(*metric, &billed);
            if let Some(Some(g)) = ticket.held.leases.get(i)
                && self
                    .inner
                    .leases
                    .settle(&lease_name(scope, *metric, *window), *g, est, bill)
            {
                continue;
            }
            let key = self.counter_key(scope, *metric, *window, *id);
            self.queue(&key, &[("reserved", -est), ("used", bill)]);
            exact = true;
        }
        if ticket.held.trace {
            let key = self.trace_key(&ticket.tenant, &ticket.trace);
            self.queue(
                &key,
                &[
                    ("tokens_reserved", -(ticket.est.tokens() as f64)),
                    ("tokens", billed.tokens() as f64),
                    ("cost_reserved", -ticket.est.cost),
                    ("cost", billed.cost),
                ],
            );
        }
        if exact {
            self.inner.kick.notify_one();
        }
    }
}

/// A limit's name among this gateway's leases, whatever its window's id.
fn lease_name(scope: &str, metric: Metric, window: LimitWindow) -> String {
    format!("{scope}:{}:{}", metric.as_str(), window.as_str())
}

impl Counter<'_> {
    fn lease_name(&self) -> String {
        lease_name(&self.scope.name, self.limit.metric, self.limit.window)
    }

    /// How a call counts against this counter's lease; `None` for a call's check that the
    /// budget is not spent (it takes nothing).
    fn lease_use(&self) -> Option<Use> {
        match self.kind {
            "req" | "att" => Some(Use::Count),
            "amt" => Some(Use::Reserve),
            _ => None,
        }
    }

    fn need(&self) -> f64 {
        match self.kind {
            "req" | "att" => 1.0,
            _ => self.add,
        }
    }
}
