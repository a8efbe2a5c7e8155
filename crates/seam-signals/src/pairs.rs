//! Candidate pairs from sorted (key, item) lists, and union-find: shared by the LSH stage
//! (`cluster.rs`) and centroid linkage (`agglomerate.rs`).

/// For each run of equal keys in `sorted`, calls `f(a, b)` for each item and the next `window`
/// items of its run: a run of 10,000 near-identical texts costs 10,000 × `window` calls, not
/// 50 million, and a chain through it is enough for grouping.
pub(crate) fn windowed_pairs<K: PartialEq>(
    sorted: &[(K, u32)],
    window: usize,
    mut f: impl FnMut(usize, usize),
) {
    let mut start = 0;
    while start < sorted.len() {
        let mut end = start + 1;
        while end < sorted.len() && sorted[end].0 == sorted[start].0 {
            end += 1;
        }
        for i in start..end {
            for j in i + 1..end.min(i + 1 + window) {
                f(sorted[i].1 as usize, sorted[j].1 as usize);
            }
        }
        start = end;
    }
}

pub(crate) struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    pub fn new(n: usize) -> UnionFind {
        UnionFind {
            parent: (0..n).collect(),
        }
    }

    pub fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    /// The smaller root wins: groups are the same whatever order pairs arrive in.
    pub fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = (ra.min(rb), ra.max(rb));
            self.parent[hi] = lo;
        }
    }

    /// Items grouped by root, each group ascending, groups in order of their smallest item;
    /// items `keep` rejects are left out.
    pub fn groups(&mut self, keep: impl Fn(usize) -> bool) -> Vec<Vec<usize>> {
        let n = self.parent.len();
        let mut slot = vec![usize::MAX; n];
        let mut out: Vec<Vec<usize>> = Vec::new();
        for x in (0..n).filter(|&x| keep(x)) {
            let r = self.find(x);
            if slot[r] == usize::MAX {
                slot[r] = out.len();
                out.push(Vec::new());
            }
            out[slot[r]].push(x);
        }
        out
    }
}
