//! Centroid linkage over groups of near-identical texts: repeatedly merge the two groups whose
//! centroids are most alike, recompute the merged centroid, stop when no pair reaches the
//! threshold. Unlike single-link it does not chain: a text joins a cluster for being like the
//! cluster's profile ("invoice", "currency"), not like one member that shares a stray word
//! ("that did not help, …") with another topic.
//!
//! Not all pairs: a group's candidates are the groups sharing one of its profile's top terms
//! (each compared with its next neighbours in that term's list), merged groups inherit both
//! sides' candidates, and a profile keeps its largest terms only, so a cluster of 20,000 texts
//! costs what one of 20 does.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::features::{Vector, dot, normalize_l2};
use crate::pairs::{UnionFind, windowed_pairs};

/// Terms of a profile used for candidates, and kept for similarity.
const CANDIDATE_TERMS: usize = 6;
const PROFILE_TERMS: usize = 64;
/// Terms a merged group's sum keeps once it has twice as many: a cluster of 20,000 varied
/// texts sums 20,000 rare words, each added again on every merge into it. A word outside its
/// 1,024 largest is far from its 64-term profile.
const SUM_TERMS: usize = 1024;
/// In a term's list of groups, each group is paired with the next this many.
const WINDOW: usize = 24;
/// Candidates a merged group keeps (the most similar): each costs a dot product on every merge
/// into the group (at 256, 100,000 varied texts took 33 s in release; at 48, half the time in
/// debug on 20,000 with the same clusters).
const MAX_NEIGHBOURS: usize = 48;
/// ... and only those at least this share of the threshold: a neighbour far below it now is
/// unlikely to reach it after more merges, and each kept one costs a dot product per merge.
const KEEP_FLOOR: f64 = 0.5;

/// `sums[g]`: the sum of group g's text vectors (one per turn); returns which groups merged,
/// as lists of group indices, each sorted, in order of their first group.
pub(crate) fn agglomerate(sums: Vec<Vector>, threshold: f64) -> Vec<Vec<usize>> {
    let n = sums.len();
    let mut s = State {
        profiles: sums.iter().map(profile).collect(),
        sums,
        uf: UnionFind::new(n),
        version: vec![0; n],
        neighbours: vec![Vec::new(); n],
        heap: BinaryHeap::new(),
        threshold,
    };
    s.initial_candidates();
    while let Some(c) = s.heap.pop() {
        let (a, b) = (c.a as usize, c.b as usize);
        if s.find(a) != a || s.find(b) != b || s.version[a] != c.va || s.version[b] != c.vb {
            continue;
        }
        s.merge(a, b);
    }
    s.uf.groups(|_| true)
}

struct State {
    sums: Vec<Vector>,
    /// The normalized sum cut to its `PROFILE_TERMS` largest weights, sorted by term.
    profiles: Vec<Vector>,
    uf: UnionFind,
    version: Vec<u32>,
    neighbours: Vec<Vec<u32>>,
    heap: BinaryHeap<Candidate>,
    threshold: f64,
}

impl State {
    fn find(&mut self, x: usize) -> usize {
        self.uf.find(x)
    }

    fn initial_candidates(&mut self) {
        let mut postings: Vec<(u32, u32)> = Vec::new();
        for (g, p) in self.profiles.iter().enumerate() {
            for t in top_terms(p, CANDIDATE_TERMS) {
                postings.push((t, g as u32));
            }
        }
        postings.sort_unstable();
        let neighbours = &mut self.neighbours;
        windowed_pairs(&postings, WINDOW, |a, b| {
            neighbours[a].push(b as u32);
            neighbours[b].push(a as u32);
        });
        for g in 0..self.neighbours.len() {
            let mut ns = std::mem::take(&mut self.neighbours[g]);
            ns.sort_unstable();
            ns.dedup();
            for &h in &ns {
                if (h as usize) > g {
                    self.push(g, h as usize);
                }
            }
            self.neighbours[g] = ns;
        }
    }

    fn push(&mut self, a: usize, b: usize) {
        let sim = dot(&self.profiles[a], &self.profiles[b]);
        if sim >= self.threshold {
            let (a, b) = (a.min(b), a.max(b));
            self.heap.push(Candidate {
                sim,
                a: a as u32,
                b: b as u32,
                va: self.version[a],
                vb: self.version[b],
            });
        }
    }

    /// b into a (a keeps the smaller index, so the result does not depend on pop order ties).
    fn merge(&mut self, a: usize, b: usize) {
        let (a, b) = (a.min(b), a.max(b));
        let sb = std::mem::take(&mut self.sums[b]);
        self.sums[a] = add(&self.sums[a], &sb);
        if self.sums[a].len() > 2 * SUM_TERMS {
            self.sums[a] = largest(&self.sums[a], SUM_TERMS);
        }
        self.profiles[a] = profile(&self.sums[a]);
        self.profiles[b] = Vec::new();
        self.uf.union(a, b);
        self.version[a] += 1;
        let mut ns: Vec<u32> = std::mem::take(&mut self.neighbours[a]);
        ns.extend(std::mem::take(&mut self.neighbours[b]));
        let mut live: Vec<u32> = ns.iter().map(|&h| self.find(h as usize) as u32).collect();
        live.sort_unstable();
        live.dedup();
        live.retain(|&h| h as usize != a);
        let mut scored: Vec<(f64, u32)> = live
            .into_iter()
            .map(|h| (dot(&self.profiles[a], &self.profiles[h as usize]), h))
            .collect();
        scored.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
        scored.truncate(MAX_NEIGHBOURS);
        let floor = self.threshold * KEEP_FLOOR;
        scored.retain(|&(sim, _)| sim >= floor);
        for &(_, h) in &scored {
            self.push(a, h as usize);
        }
        self.neighbours[a] = scored.into_iter().map(|(_, h)| h).collect();
    }
}

/// The sum normalized, cut to its largest `PROFILE_TERMS` weights, renormalized, by term.
fn profile(sum: &Vector) -> Vector {
    let mut p = largest(sum, PROFILE_TERMS);
    normalize_l2(&mut p);
    p
}

/// The `k` largest weights of `v` (ties: the smaller term), sorted by term; linear time.
fn largest(v: &Vector, k: usize) -> Vector {
    let mut p = v.clone();
    if p.len() > k {
        p.select_nth_unstable_by(k - 1, |x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
        p.truncate(k);
        p.sort_unstable_by_key(|&(t, _)| t);
    }
    p
}

fn top_terms(p: &Vector, k: usize) -> Vec<u32> {
    let mut by: Vec<&(u32, f64)> = p.iter().collect();
    by.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
    by.into_iter().take(k).map(|&(t, _)| t).collect()
}

fn add(a: &Vector, b: &Vector) -> Vector {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x.0 == y.0 => {
                out.push((x.0, x.1 + y.1));
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x.0 < y.0 => {
                out.push(*x);
                i += 1;
            }
            (Some(x), None) => {
                out.push(*x);
                i += 1;
            }
            (_, Some(y)) => {
                out.push(*y);
                j += 1;
            }
            (None, None) => break,
        }
    }
    out
}

/// A pair to merge, best first: highest similarity, then the smallest indices (deterministic).
struct Candidate {
    sim: f64,
    a: u32,
    b: u32,
    va: u32,
    vb: u32,
}

impl Ord for Candidate {
    fn cmp(&self, o: &Candidate) -> Ordering {
        self.sim
            .total_cmp(&o.sim)
            .then_with(|| o.a.cmp(&self.a))
            .then_with(|| o.b.cmp(&self.b))
    }
}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, o: &Candidate) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl PartialEq for Candidate {
    fn eq(&self, o: &Candidate) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Candidate {}
