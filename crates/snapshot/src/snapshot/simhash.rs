//! Near-duplicate fingerprints of page bodies (ranking v3): a 64-bit simhash of the body's overlapping 4-word
//! shingles, stored per document, so search can collapse pages that say the same thing under several URLs (a
//! re-export, a copy in another crate or edition, a mirror). The index stores them; a [`Collapser`] drops the
//! near-duplicates from a ranked list.
use tantivy::{DocAddress, Searcher};

use super::columns::{self, ColumnCache};
use super::rank::FINGERPRINT;

/// Words per shingle.
const SHINGLE: usize = 4;
/// Words at the start of a body that are fingerprinted: what a page says first is what sets it apart (measured on
/// the Rust documentation, where struct pages end in the same long list of trait methods: over whole bodies,
/// `Take` and `Skip` are 6 bits apart, as close as `std` and `core` copies of one page).
const MAX_WORDS: usize = 256;
/// Fingerprints at most this many bits apart are near-duplicates. Measured over the first 256 words of 15 pairs of
/// Rust-documentation pages: 8 copies of one item (`std`/`core`/`alloc`, re-exports) 2-14 bits apart (6 of them at
/// most 9), 7 pairs of different items of one module (`Take`/`Skip`, `Mutex`/`RwLock`, `swap`/`replace`) 18-30.
pub const NEAR_DUPLICATE_BITS: u32 = 10;

/// The simhash of `body`: each bit is the majority vote of that bit over the shingles' hashes. 0 for a body
/// without words.
pub fn fingerprint(body: &str) -> u64 {
    let words: Vec<String> = body
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(MAX_WORDS)
        .map(str::to_lowercase)
        .collect();
    if words.is_empty() {
        return 0;
    }
    let mut votes = [0i32; 64];
    for shingle in words.windows(SHINGLE.min(words.len())) {
        let mut hash = FNV_OFFSET;
        for (i, word) in shingle.iter().enumerate() {
            if i > 0 {
                hash = fnv(hash, b" ");
            }
            hash = fnv(hash, word.as_bytes());
        }
        let hash = mix(hash);
        for (bit, vote) in votes.iter_mut().enumerate() {
            *vote += (((hash >> bit) & 1) as i32) * 2 - 1;
        }
    }
    votes.iter().enumerate().filter(|(_, v)| **v > 0).fold(0, |f, (bit, _)| f | (1 << bit))
}

/// Whether two fingerprints are near-duplicates.
pub fn near(a: u64, b: u64) -> bool {
    (a ^ b).count_ones() <= NEAR_DUPLICATE_BITS
}

/// Drops near-duplicates from ranked lists; keeps the fingerprint columns of the searcher generation it last saw.
pub(super) struct Collapser {
    columns: ColumnCache,
}

impl Default for Collapser {
    fn default() -> Self {
        Collapser { columns: ColumnCache::new(FINGERPRINT) }
    }
}

impl Collapser {
    /// `order` (indexes into `addresses`, best first) without the documents whose fingerprint is near that of a
    /// better-ranked one.
    pub(super) fn collapse(
        &self,
        searcher: &Searcher,
        addresses: &[DocAddress],
        order: Vec<usize>,
    ) -> tantivy::Result<Vec<usize>> {
        let columns = self.columns.get(searcher)?;
        let mut kept: Vec<(usize, u64)> = Vec::with_capacity(order.len());
        for i in order {
            let print = columns::value(&columns, addresses[i]);
            if !kept.iter().any(|&(_, other)| near(print, other)) {
                kept.push((i, print));
            }
        }
        Ok(kept.into_iter().map(|(i, _)| i).collect())
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// SplitMix64's finaliser: spreads FNV's weak high bits over all 64.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::{fingerprint, near};

    const PAGE: &str = "Swaps the values at two mutable locations, without deinitializing either one. If you want to \
        swap with a default or dummy value, see take. If you want to swap with a passed value, returning the old \
        value, see replace. Examples: let mut x = 5; let mut y = 42; swap(&mut x, &mut y); assert_eq!(42, x); \
        assert_eq!(5, y);";

    #[test]
    fn copies_are_near_and_other_pages_are_not() {
        let copy = PAGE.replace("Examples", "Example");
        assert_eq!(fingerprint(PAGE), fingerprint(&PAGE.to_uppercase()), "case and punctuation do not count");
        assert!(near(fingerprint(PAGE), fingerprint(&copy)), "one word changed");
        let other = "Replaces dest with the default value of T, returning the previous dest value. If you want to \
            replace the values of two variables, see swap. If you want to replace with a passed value instead of the \
            default value, see replace. Examples: a vector emptied in place by taking it.";
        assert!(!near(fingerprint(PAGE), fingerprint(other)), "{:064b}", fingerprint(PAGE) ^ fingerprint(other));
        assert_eq!(fingerprint(""), 0);
        assert_ne!(fingerprint("one two"), 0, "fewer words than a shingle still count");
    }
}
