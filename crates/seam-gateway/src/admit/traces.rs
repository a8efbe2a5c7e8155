//! The in-process traces: each tenant's own (the same id sent by another tenant is another
//! trace, so nobody spends somebody else's caps), at most `limits.max_traces` of them, the
//! least recently used forgotten first.

use hashlink::LinkedHashMap;
use std::collections::hash_map::RandomState;

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct TraceState {
    pub first_ms: i64,
    pub last_ms: i64,
    pub calls: u64,
    pub attempts: u64,
    pub tokens: f64,
    pub tokens_reserved: f64,
    pub cost: f64,
    pub cost_reserved: f64,
}

/// One tenant's trace: `TENANT\nTRACE`. A trace id comes from a header value (or is a call
/// id), which cannot hold a newline, so no two (tenant, trace) pairs share a key.
fn key(tenant: &str, trace: &str) -> String {
    let mut k = String::with_capacity(tenant.len() + trace.len() + 1);
    k.push_str(tenant);
    k.push('\n');
    k.push_str(trace);
    k
}

/// In recency order, oldest first. SipHash, randomly seeded: the ids are the client's.
#[derive(Default)]
pub(super) struct Traces {
    map: LinkedHashMap<String, TraceState, RandomState>,
}

impl Traces {
    /// The trace's state as the most recently used, made (starting at `now_ms`) when new;
    /// to make room, the least recently used beyond `cap` are forgotten and counted.
    pub fn touch(
        &mut self,
        tenant: &str,
        trace: &str,
        now_ms: i64,
        cap: usize,
    ) -> (&mut TraceState, u64) {
        let k = key(tenant, trace);
        let mut evicted = 0;
        if self.map.contains_key(&k) {
            self.map.to_back(&k);
        } else {
            while self.map.len() >= cap.max(1) && self.map.pop_front().is_some() {
                evicted += 1;
            }
        }
        let t = self.map.entry(k).or_insert(TraceState {
            first_ms: now_ms,
            last_ms: now_ms,
            ..TraceState::default()
        });
        (t, evicted)
    }

    /// Without making it the most recent (settling is not use).
    pub fn get_mut(&mut self, tenant: &str, trace: &str) -> Option<&mut TraceState> {
        self.map.get_mut(&key(tenant, trace))
    }

    pub fn get(&self, tenant: &str, trace: &str) -> Option<&TraceState> {
        self.map.get(&key(tenant, trace))
    }

    /// Forgets traces idle for `idle_ms`.
    pub fn sweep(&mut self, now_ms: i64, idle_ms: i64) {
        self.map.retain(|_, t| now_ms - t.last_ms < idle_ms);
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_go_first_and_tenants_do_not_share() {
        let mut t = Traces::default();
        t.touch("acme", "a", 1, 2).0.calls = 5;
        t.touch("other", "a", 2, 2);
        assert_eq!(t.get("other", "a").map(|s| s.calls), Some(0));
        t.touch("acme", "a", 3, 2); // now the most recent
        let (_, evicted) = t.touch("acme", "b", 4, 2);
        assert_eq!(evicted, 1);
        assert!(
            t.get("other", "a").is_none(),
            "the least recently used went"
        );
        assert_eq!(t.get("acme", "a").map(|s| s.calls), Some(5));
        assert_eq!(t.len(), 2);
    }
}
