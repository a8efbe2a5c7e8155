//! A vocabulary: its tokens' bytes in one static arena (embedded at build time, in rank
//! order) and an index from bytes to rank holding only the ranks, 4 bytes a token plus
//! hashbrown's control byte. Counting never decodes, so there is no rank-to-bytes map
//! beyond the arena's offsets, which are static too.

use foldhash::fast::FixedState;
use hashbrown::HashTable;
use std::hash::{BuildHasher, Hasher};

pub type Rank = u32;

/// Fixed, so that an index is the same from run to run; the keys are the vocabulary's own
/// tokens, so input can only probe the table, never grow its chains.
const SEED: u64 = 0x5ea3_70c3_2f1b_9a4d;

pub struct Vocab {
    arena: Arena,
    index: HashTable<Rank>,
    hasher: FixedState,
}

/// The embedded tokens: `starts[r]..starts[r + 1]` (u32 little-endian) is rank `r`'s span
/// of `bytes`.
#[derive(Clone, Copy)]
struct Arena {
    bytes: &'static [u8],
    starts: &'static [u8],
}

impl Vocab {
    /// Indexes an arena as build.rs wrote it; `None` if the two parts do not agree, or
    /// a token repeats (BPE ranks are unique by bytes).
    pub fn new(bytes: &'static [u8], starts: &'static [u8]) -> Option<Vocab> {
        if !starts.len().is_multiple_of(4) || starts.len() < 8 {
            return None;
        }
        let arena = Arena { bytes, starts };
        let hasher = FixedState::with_seed(SEED);
        let n = starts.len() / 4 - 1;
        let mut index = HashTable::with_capacity(n);
        let mut end = 0;
        for rank in 0..Rank::try_from(n).ok()? {
            let (start, stop) = arena.span(rank)?;
            if start != end || stop <= start || stop > bytes.len() {
                return None;
            }
            end = stop;
            let token = &bytes[start..stop];
            let hash = hash_with(&hasher, token);
            if arena.find(&index, hash, token).is_some() {
                return None;
            }
            // The rehash runs only on growth, which `with_capacity` rules out.
            index.insert_unique(hash, rank, |&r| hash_with(&hasher, arena.token(r)));
        }
        (end == bytes.len()).then_some(Vocab {
            arena,
            index,
            hasher,
        })
    }

    /// The rank of the token spelled `piece`, if it is one.
    #[inline]
    pub fn rank(&self, piece: &[u8]) -> Option<Rank> {
        self.arena
            .find(&self.index, hash_with(&self.hasher, piece), piece)
    }

    /// How many ranks the vocabulary has.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Heap bytes held by the index (the arena is static).
    pub fn heap_bytes(&self) -> usize {
        self.index.allocation_size()
    }
}

impl Arena {
    #[inline]
    fn find(&self, index: &HashTable<Rank>, hash: u64, piece: &[u8]) -> Option<Rank> {
        index.find(hash, |&r| self.token(r) == piece).copied()
    }

    /// Rank `r`'s bytes; empty for a rank past the end (never indexed).
    #[inline]
    fn token(&self, rank: Rank) -> &'static [u8] {
        self.span(rank)
            .and_then(|(s, e)| self.bytes.get(s..e))
            .unwrap_or_default()
    }

    #[inline]
    fn span(&self, rank: Rank) -> Option<(usize, usize)> {
        let at = rank as usize * 4;
        let pair = self.starts.get(at..at + 8)?;
        let start = u32::from_le_bytes([pair[0], pair[1], pair[2], pair[3]]);
        let end = u32::from_le_bytes([pair[4], pair[5], pair[6], pair[7]]);
        Some((start as usize, end as usize))
    }
}

#[inline]
fn hash_with(state: &FixedState, piece: &[u8]) -> u64 {
    let mut h = state.build_hasher();
    h.write(piece);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arena(tokens: &[&[u8]]) -> (&'static [u8], &'static [u8]) {
        let mut bytes = Vec::new();
        let mut starts = Vec::new();
        for t in tokens {
            starts.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            bytes.extend_from_slice(t);
        }
        starts.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        (bytes.leak(), starts.leak())
    }

    #[test]
    fn finds_each_token_by_its_bytes_and_nothing_else() {
        let (bytes, starts) = arena(&[b"a", b"b", b"ab", b"abc"]);
        let v = Vocab::new(bytes, starts).expect("a valid arena");
        assert_eq!(v.len(), 4);
        assert_eq!(v.rank(b"a"), Some(0));
        assert_eq!(v.rank(b"ab"), Some(2));
        assert_eq!(v.rank(b"abc"), Some(3));
        assert_eq!(v.rank(b"bc"), None);
        assert_eq!(v.rank(b""), None);
    }

    #[test]
    fn refuses_an_arena_that_does_not_add_up() {
        let (bytes, starts) = arena(&[b"a", b"a"]);
        assert!(Vocab::new(bytes, starts).is_none(), "a repeated token");
        let (bytes, _) = arena(&[b"a", b"bc"]);
        let (_, short) = arena(&[b"a", b"b"]);
        assert!(
            Vocab::new(bytes, short).is_none(),
            "offsets short of the arena"
        );
        assert!(Vocab::new(bytes, &[0, 0]).is_none(), "a torn offset");
    }
}
