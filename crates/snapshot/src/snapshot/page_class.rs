//! What ranking v4 knows of a page besides its words: the language it declares and whether it is a code listing
//! (nearly all preformatted text, such as a source file's view). Computed when a page is indexed, stored as fast
//! fields, turned into score weights per query.
use tantivy::{DocAddress, Searcher};

use super::columns::{self, ColumnCache};

/// Fast field: the declared language's primary subtag packed into a u64 ([`lang_code`]); 0 when undeclared.
pub(super) const LANG: &str = "lang";
/// Fast field: per mille of the body's text inside preformatted blocks ([`preformatted_permille`]).
pub(super) const PREFORMATTED: &str = "preformatted";

/// A page whose declared language is not English weighs this much for a query written in ASCII: v4's analyzer
/// stems English, and an English query is better answered by an English page than by its translation, which
/// shares the code, names and numbers (measured on the Rust docs: rust-by-example's ja/zh/es/ko copies filled
/// the top 5 of English questions). Weights 0.3-0.8 gave the same recall there.
const FOREIGN_WEIGHT: f64 = 0.5;
/// A code listing (at least [`LISTING_PERMILLE`] of its text preformatted) weighs this much: a listing matches a
/// question's words in identifiers and comments, and the page that explains the thing is the better answer.
/// Weights 0.3-0.8 gave the same recall on the Rust docs.
const LISTING_WEIGHT: f64 = 0.5;
/// Measured on the Rust docs' 48,625 pages: rustdoc's source views are 0.94-1.00 preformatted (p10-p90), API
/// pages at most 0.80, error-code pages 0.88, the book 0.60; 7 % of rust-by-example's pages pass 0.90.
const LISTING_PERMILLE: u64 = 900;
/// `en` packed by [`lang_code`].
const ENGLISH: u64 = 0x656e;

/// A primary language subtag (2-3 ASCII letters, as [`crate::extract::primary_language`] gives) packed into a
/// u64, big-endian; 0 for none.
pub(super) fn lang_code(lang: Option<&str>) -> u64 {
    lang.filter(|l| (1..=8).contains(&l.len()))
        .map_or(0, |l| l.bytes().fold(0u64, |code, b| (code << 8) | u64::from(b.to_ascii_lowercase())))
}

/// Per mille of `body`'s bytes on lines inside ``` fences (webtape's text marks `<pre>` so; markdown corpora
/// fence code so too). Fence lines themselves count toward neither part.
pub(super) fn preformatted_permille(body: &str) -> u64 {
    let (mut inside, mut fenced, mut total) = (false, 0usize, 0usize);
    for line in body.split('\n') {
        if line.starts_with("```") {
            inside = !inside;
            continue;
        }
        total += line.len() + 1;
        fenced += if inside { line.len() + 1 } else { 0 };
    }
    (fenced * 1000).checked_div(total).unwrap_or(0) as u64
}

/// Whether `query` is written in ASCII (no letter outside it): the case where foreign pages weigh less. A query
/// with other letters may be in the pages' own language, so then languages weigh the same.
pub(super) fn ascii_query(query: &str) -> bool {
    !query.chars().any(|c| c.is_alphabetic() && !c.is_ascii())
}

/// Reads the page classes of ranked documents; keeps the columns of the searcher generation it last saw.
pub(super) struct PageClasses {
    lang: ColumnCache,
    preformatted: ColumnCache,
}

impl Default for PageClasses {
    fn default() -> Self {
        PageClasses { lang: ColumnCache::new(LANG), preformatted: ColumnCache::new(PREFORMATTED) }
    }
}

impl PageClasses {
    /// The weight of each of `addresses` (a factor of its score) for a query that is `ascii` or not.
    pub(super) fn weights(
        &self,
        searcher: &Searcher,
        addresses: &[DocAddress],
        ascii: bool,
    ) -> tantivy::Result<Vec<f64>> {
        let (lang, preformatted) = (self.lang.get(searcher)?, self.preformatted.get(searcher)?);
        let weight = |address: DocAddress| {
            let code = columns::value(&lang, address);
            let foreign = ascii && code != 0 && code != ENGLISH;
            let listing = columns::value(&preformatted, address) >= LISTING_PERMILLE;
            (if foreign { FOREIGN_WEIGHT } else { 1.0 }) * (if listing { LISTING_WEIGHT } else { 1.0 })
        };
        Ok(addresses.iter().map(|&a| weight(a)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_pack_into_distinct_codes() {
        assert_eq!(lang_code(Some("en")), ENGLISH);
        assert_eq!(lang_code(Some("EN")), ENGLISH);
        assert_ne!(lang_code(Some("es")), lang_code(Some("en")));
        assert_ne!(lang_code(Some("yue")), lang_code(Some("ue")));
        assert_eq!(lang_code(None), 0);
        assert_eq!(lang_code(Some("")), 0);
    }

    #[test]
    fn the_preformatted_share_counts_fenced_lines() {
        assert_eq!(preformatted_permille(""), 0);
        assert_eq!(preformatted_permille("prose only\nand more"), 0);
        assert_eq!(preformatted_permille("```\nfn main() {}\n```"), 1000);
        // 10 bytes of prose ("abcdefghi\n"), 10 of code, fences not counted.
        assert_eq!(preformatted_permille("abcdefghi\n```rust\n123456789\n```"), 500);
        assert_eq!(preformatted_permille("/// ```\n/// doc test\n"), 0, "a fence inside a comment is no fence");
        assert_eq!(preformatted_permille("```\nunclosed code\n"), 1000, "a fence left open runs to the end");
    }

    #[test]
    fn ascii_queries_are_told_apart() {
        assert!(ascii_query("borrowed value does not live long enough"));
        assert!(ascii_query("E0425 u32::MAX 3.14 ¿?"));
        assert!(!ascii_query("借用した値"));
        assert!(!ascii_query("cómo imprimir"));
    }
}
