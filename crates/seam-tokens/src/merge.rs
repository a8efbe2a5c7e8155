//! Byte-pair merging of one pre-tokenized piece, counted: the adjacent pair whose joined
//! bytes have the lowest rank merges first, the leftmost on a tie, until no joined pair is a
//! token. This is tiktoken's order; only the number of parts left is kept.

use crate::vocab::{Rank, Vocab};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// No merge: the joined bytes are not a token, or there is no right neighbour.
const NONE: Rank = Rank::MAX;

/// At this length and above, a heap finds each merge (O(n log n)); below it, a scan of a
/// short array is faster (tiktoken switches at the same length).
const LARGE: usize = 100;

/// Buffers reused across the pieces of one text.
#[derive(Default)]
pub struct Scratch {
    parts: Vec<(usize, Rank)>,
    nodes: Vec<Node>,
    heap: BinaryHeap<Reverse<(Rank, usize)>>,
}

/// A part of a long piece, kept at the index of its first byte.
#[derive(Clone, Copy)]
struct Node {
    /// One past its last byte.
    end: usize,
    /// The start of the part before it (unused for the first).
    prev: usize,
    /// The rank of this part joined with the next, or [`NONE`]; [`NONE`] too once the part
    /// has been merged into the one before it.
    pair: Rank,
}

/// How many tokens `piece` encodes to.
pub fn count(vocab: &Vocab, piece: &[u8], scratch: &mut Scratch) -> usize {
    if piece.len() <= 1 || vocab.rank(piece).is_some() {
        return piece.len().min(1);
    }
    if piece.len() < LARGE {
        short(vocab, piece, &mut scratch.parts)
    } else {
        long(vocab, piece, scratch)
    }
}

fn joined(vocab: &Vocab, bytes: &[u8]) -> Rank {
    vocab.rank(bytes).unwrap_or(NONE)
}

/// `parts[k]` is the start of part k and the rank of part k joined with part k + 1; the
/// last entry only marks the piece's end.
fn short(vocab: &Vocab, piece: &[u8], parts: &mut Vec<(usize, Rank)>) -> usize {
    let n = piece.len();
    parts.clear();
    parts.extend((0..n - 1).map(|i| (i, joined(vocab, &piece[i..i + 2]))));
    parts.push((n - 1, NONE));
    parts.push((n, NONE));
    loop {
        let mut best = (NONE, 0);
        for (k, &(_, rank)) in parts[..parts.len() - 1].iter().enumerate() {
            if rank < best.0 {
                best = (rank, k);
            }
        }
        if best.0 == NONE {
            return parts.len() - 1;
        }
        // Part k takes in part k + 1: its pairs with both neighbours change.
        let k = best.1;
        if k > 0 {
            parts[k - 1].1 = joined(vocab, &piece[parts[k - 1].0..parts[k + 2].0]);
        }
        parts[k].1 = match parts.get(k + 3) {
            Some(&(after, _)) => joined(vocab, &piece[parts[k].0..after]),
            None => NONE,
        };
        parts.remove(k + 1);
    }
}

/// The same merges, the next one from a min-heap of (rank, start). An entry is stale when
/// its part's pair rank has changed since: a part's joined bytes, and so their rank, differ
/// whenever its right neighbour does, so comparing ranks suffices.
fn long(vocab: &Vocab, piece: &[u8], scratch: &mut Scratch) -> usize {
    let n = piece.len();
    let Scratch { nodes, heap, .. } = scratch;
    nodes.clear();
    heap.clear();
    for i in 0..n {
        let pair = match piece.get(i..i + 2) {
            Some(two) => joined(vocab, two),
            None => NONE,
        };
        nodes.push(Node {
            end: i + 1,
            prev: i.saturating_sub(1),
            pair,
        });
        if pair != NONE {
            heap.push(Reverse((pair, i)));
        }
    }
    let mut parts = n;
    while let Some(Reverse((rank, start))) = heap.pop() {
        if nodes[start].pair != rank {
            continue;
        }
        let right = nodes[start].end;
        let end = nodes[right].end;
        nodes[right].pair = NONE;
        nodes[start].end = end;
        parts -= 1;
        nodes[start].pair = match nodes.get(end) {
            Some(next) => joined(vocab, &piece[start..next.end]),
            None => NONE,
        };
        if nodes[start].pair != NONE {
            heap.push(Reverse((nodes[start].pair, start)));
        }
        if let Some(next) = nodes.get_mut(end) {
            next.prev = start;
        }
        if start > 0 {
            let prev = nodes[start].prev;
            nodes[prev].pair = joined(vocab, &piece[prev..end]);
            if nodes[prev].pair != NONE {
                heap.push(Reverse((nodes[prev].pair, prev)));
            }
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy vocabulary: every byte, then merges in rank order.
    fn vocab(merges: &[&[u8]]) -> Vocab {
        let mut bytes: Vec<u8> = (0..=255).collect();
        let mut starts: Vec<u8> = (0..=256u32).flat_map(u32::to_le_bytes).collect();
        starts.truncate(256 * 4);
        for m in merges {
            starts.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            bytes.extend_from_slice(m);
        }
        starts.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        Vocab::new(bytes.leak(), starts.leak()).expect("a valid toy vocabulary")
    }

    fn both(v: &Vocab, piece: &[u8]) -> (usize, usize) {
        let mut s = Scratch::default();
        (short(v, piece, &mut s.parts), long(v, piece, &mut s))
    }

    #[test]
    fn lowest_rank_merges_first() {
        // "ab" outranks "bc", so "abc" is "ab" + "c" though "bc" is also a token.
        let v = vocab(&[b"ab", b"bc", b"abcd"]);
        assert_eq!(both(&v, b"abc"), (2, 2));
        // "abcd" exists, but no merge order reaches it from "ab" + "c" + "d".
        assert_eq!(both(&v, b"abcd"), (3, 3));
    }

    #[test]
    fn ties_go_to_the_leftmost_pair() {
        // "aaab": both "aa" pairs tie. Left first: "aa" + "a" + "b", and neither "aaa" nor
        // "ab" is a token: 3. Right first would give "a" + "aa" + "b", then "aab": 2.
        let v = vocab(&[b"aa", b"aab"]);
        assert_eq!(both(&v, b"aaab"), (3, 3));
        assert_eq!(both(&v, b"aab"), (1, 1));
    }

    #[test]
    fn the_heap_agrees_with_the_scan_on_long_pieces() {
        let v = vocab(&[b"ab", b"ba", b"aba", b"abab", b"bb", b"bbb"]);
        let mut seed = 7u64;
        for len in [2, 3, 17, 99, 100, 250] {
            let piece: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                    if seed >> 63 == 0 { b'a' } else { b'b' }
                })
                .collect();
            let (s, l) = both(&v, &piece);
            assert_eq!(s, l, "{}", String::from_utf8_lossy(&piece));
        }
    }
}
