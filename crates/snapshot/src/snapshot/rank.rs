//! Ranking rules of the page index: which rule an index follows ([`Ranking`], fixed by its schema), the schema
//! each rule builds its index with, and ranking v2's scores, computed per document from its term frequencies,
//! field lengths and positions (never from the order documents were indexed in), so equal pages score equal bit
//! for bit. Reads postings; owns no index state.
use tantivy::postings::Postings;
use tantivy::query::Bm25StatisticsProvider;
use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, STORED, STRING};
use tantivy::{DocAddress, DocId, DocSet, Searcher, Term, TERMINATED};

use super::analyzer::{TOKENIZER_V1, TOKENIZER_V2};

/// The fast field holding a body's near-duplicate fingerprint (ranking v3).
pub(super) const FINGERPRINT: &str = "fingerprint";

/// The ranking rule of an index. An index keeps the rule it was built with (old snapshots replay their BM25
/// answers exactly); `webtape snapshot reindex` rebuilds one with [`Ranking::CURRENT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ranking {
    /// Title and body words (analyzer `webtape`), BM25 with tantivy's k1 1.2 and b 0.75, title and body summed
    /// with equal weight. Snapshots made before v2.
    V1,
    /// Code-aware, stemmed words (analyzer `webtape_code_en`) in the title, body and URL path; BM25 with k1 0.9
    /// and b 0.4, the body weighted 1, the title 0.4 and the path 0.3; plus a bonus for query words that follow
    /// each other closely in the body. Scored over the best [`candidates`] pages by tantivy's fielded BM25 over
    /// the title and body (the path and the bonus only rescore them).
    V2,
    /// V2's scores, and near-duplicates collapsed: of pages whose bodies' fingerprints ([`super::simhash`]) are
    /// near, only the best-ranked is returned, so copies of one page under several URLs do not fill the results.
    V3,
    /// V3, and what a page is besides its words: for a query written in ASCII, a page that declares a language
    /// other than English weighs half ([`super::page_class`]); a code listing (nine tenths of its text
    /// preformatted) weighs half; and a query word that mixes letters and digits (`E0425`, `u32`: it names
    /// something) weighs [`IDENTIFIER_TITLE_BOOST`] more in the title.
    V4,
}

impl Ranking {
    /// The rule new indexes are built with.
    pub const CURRENT: Ranking = Ranking::V4;

    /// `v1`, `v2`, `v3`, `v4`.
    pub fn name(self) -> &'static str {
        match self {
            Ranking::V1 => "v1",
            Ranking::V2 => "v2",
            Ranking::V3 => "v3",
            Ranking::V4 => "v4",
        }
    }

    /// Whether the index scores with v2's fields (title, body, URL path) and proximity bonus.
    pub fn fielded(self) -> bool {
        self != Ranking::V1
    }

    /// Whether the index keeps near-duplicate fingerprints and collapses copies (v3 on).
    pub(super) fn collapses(self) -> bool {
        matches!(self, Ranking::V3 | Ranking::V4)
    }

    /// Whether the index keeps page classes (language, preformatted share) and weighs by them (v4).
    pub(super) fn classifies(self) -> bool {
        self == Ranking::V4
    }
}

/// Field weights of ranking v2, in [`Slot`] order.
pub(super) const BOOSTS: [f32; 3] = [0.4, 1.0, 0.3];
/// Ranking v4: what a query word that mixes ASCII letters and digits adds to its title weight in the final score.
/// Such a word names one thing (an error code, a type, a standard), and a page titled by it is about it (measured:
/// "E0425 cannot find value in this scope" found the page titled E0425 at rank 9 in v3, and 3 of the 4 rust_docs
/// questions with such a word were already found; any weight from 0.25 to 2 gave the same recall).
pub(super) const IDENTIFIER_TITLE_BOOST: f32 = 1.0;
/// BM25 saturation and length normalisation of v2's final scores (Lucene's / Anserini's defaults, not tuned).
const K1: f64 = 0.9;
const B: f64 = 0.4;
/// tantivy's BM25 constants: the first stage, whose scores `search` recomputes to choose candidates.
const TANTIVY_K1: f64 = 1.2;
const TANTIVY_B: f64 = 0.75;
/// Weight of the proximity bonus, and how many positions after a query word the next one may follow.
const PROXIMITY_WEIGHT: f64 = 1.0;
const PROXIMITY_WINDOW: u32 = 4;
/// Body positions a snippet's passage spans, for choosing where it starts.
const FOCUS_WINDOW: u32 = 32;
/// Pages the first stage hands to the final scores for `k` wanted under `ranking`, so the final score can lift a
/// page from below the cut. v2 and v3: twice as many, at most 20 (more cost time, as block-max WAND prunes less
/// and every candidate's positions are read, for no quality at k = 10 on the Rust-docs set). v4: two and a half
/// times as many, at most 25, since its weights send pages down and its collapsing drops copies, so pages from
/// deeper count (Rust docs at k = 10, recall@5: 0.887 with 20 candidates, 0.912 with 25 or 30, 0.900 with 35 to
/// 60); a half more, not 3x, because 3x cost 10 % of the BM25 request rate at k = 3 for no measured gain.
pub(super) fn candidates(k: usize, ranking: Ranking) -> usize {
    let (wanted, max) = if ranking.classifies() { (k * 5 / 2, 25) } else { (2 * k, 20) };
    wanted.clamp(k + 1, max.max(k + 1))
}

/// The fields ranking v2 scores, as indexes into [`BOOSTS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    Title = 0,
    Body = 1,
    Path = 2,
}

impl Slot {
    /// Whether the first stage (the block-max WAND query and its recomputed scores) counts this field; the path
    /// only rescores the candidates. One rule for both, so the recomputed scores are the query's.
    pub(super) fn in_first_stage(self) -> bool {
        self != Slot::Path
    }
}

/// One clause of a v2 query: query word `word` (index in query order) looked up in one field, weighing
/// `weight` in the final score (the first stage weighs by [`BOOSTS`]).
pub(super) struct Clause {
    pub term: Term,
    pub slot: Slot,
    pub word: usize,
    pub weight: f32,
}

/// Scores of one candidate.
#[derive(Debug, Clone, Copy)]
pub(super) struct Scores {
    /// tantivy's boosted BM25, recomputed: picks the candidates.
    pub first: f64,
    /// Ranking v2's score: orders them.
    pub last: f64,
    /// Body position where the passage with the most of the query starts (for the snippet).
    pub focus: Option<u32>,
}

/// What the postings say about one candidate.
#[derive(Default)]
struct Features {
    /// Term frequency per clause.
    tf: Vec<u32>,
    /// Field length per slot.
    length: [u32; 3],
    /// Body positions per query word.
    positions: Vec<Vec<u32>>,
}

/// Ranking v2's scores of `docs` for `clauses` (over `words` query words); `fields` in [`Slot`] order.
pub(super) fn v2_scores(
    searcher: &Searcher,
    fields: [Field; 3],
    clauses: &[Clause],
    words: usize,
    docs: &[DocAddress],
) -> tantivy::Result<Vec<Scores>> {
    let features = features(searcher, fields, clauses, words, docs)?;
    let docs_total = searcher.total_num_docs()?;
    let mut average = [0f64; 3];
    for (slot, field) in fields.iter().enumerate() {
        // As tantivy computes it (f32), so the recomputed first stage matches its scores closely.
        average[slot] = f64::from(searcher.total_num_tokens(*field)? as f32 / docs_total.max(1) as f32);
    }
    let idf = clauses
        .iter()
        .map(|c| Ok(idf(searcher.doc_freq(&c.term)?, docs_total)))
        .collect::<tantivy::Result<Vec<_>>>()?;
    // Per query word, its body clause's idf: the proximity bonus's and the snippet focus's weights.
    let body_idf: Vec<f64> = (0..words)
        .map(|word| {
            clauses.iter().zip(&idf).find(|(c, _)| c.word == word && c.slot == Slot::Body).map_or(0.0, |(_, i)| *i)
        })
        .collect();
    let out = features
        .iter()
        .map(|f| {
            let (mut first, mut last) = (0f64, 0f64);
            for (j, clause) in clauses.iter().enumerate() {
                let (tf, slot) = (f64::from(f.tf[j]), clause.slot as usize);
                if tf > 0.0 {
                    let (boost, length) = (f64::from(BOOSTS[slot]), f64::from(f.length[slot]));
                    if clause.slot.in_first_stage() {
                        first += boost * idf[j] * bm25_tf(tf, length, average[slot], TANTIVY_K1, TANTIVY_B);
                    }
                    let weight = f64::from(clause.weight);
                    last += weight * idf[j] * bm25_tf(tf, length, average[slot], K1, B);
                }
            }
            let body = Slot::Body as usize;
            for word in 1..words {
                let pairs = f64::from(pairs_within(&f.positions[word - 1], &f.positions[word], PROXIMITY_WINDOW));
                if pairs > 0.0 {
                    let weight = (body_idf[word - 1] + body_idf[word]) / 2.0;
                    last += PROXIMITY_WEIGHT * weight * bm25_tf(pairs, f64::from(f.length[body]), average[body], K1, B);
                }
            }
            Scores { first, last, focus: focus(&f.positions, &body_idf, FOCUS_WINDOW) }
        })
        .collect();
    Ok(out)
}

/// Reads term frequencies, field lengths and body positions of `docs` from the postings, segment by segment in
/// doc id order (postings only seek forward).
fn features(
    searcher: &Searcher,
    fields: [Field; 3],
    clauses: &[Clause],
    words: usize,
    docs: &[DocAddress],
) -> tantivy::Result<Vec<Features>> {
    let mut out: Vec<Features> = docs
        .iter()
        .map(|_| Features { tf: vec![0; clauses.len()], positions: vec![Vec::new(); words], ..Features::default() })
        .collect();
    let mut order: Vec<usize> = (0..docs.len()).collect();
    order.sort_by_key(|&i| (docs[i].segment_ord, docs[i].doc_id));
    for segment_docs in order.chunk_by(|&a, &b| docs[a].segment_ord == docs[b].segment_ord) {
        let segment = searcher.segment_reader(docs[segment_docs[0]].segment_ord);
        for (slot, field) in fields.iter().enumerate() {
            let norms = segment.get_fieldnorms_reader(*field)?;
            for &i in segment_docs {
                out[i].length[slot] = norms.fieldnorm(docs[i].doc_id);
            }
        }
        for (j, clause) in clauses.iter().enumerate() {
            let body = clause.slot == Slot::Body;
            let option = if body { IndexRecordOption::WithFreqsAndPositions } else { IndexRecordOption::WithFreqs };
            let inverted = segment.inverted_index(clause.term.field())?;
            let Some(mut postings) = inverted.read_postings(&clause.term, option)? else { continue };
            for &i in segment_docs {
                let doc: DocId = docs[i].doc_id;
                let at = if postings.doc() >= doc { postings.doc() } else { postings.seek(doc) };
                if at == TERMINATED {
                    break;
                }
                if at == doc {
                    out[i].tf[j] = postings.term_freq();
                    if body {
                        postings.positions(&mut out[i].positions[clause.word]);
                    }
                }
            }
        }
    }
    Ok(out)
}

/// tantivy's idf: ln(1 + (N - n + 0.5) / (n + 0.5)).
fn idf(doc_freq: u64, docs: u64) -> f64 {
    let n = doc_freq.min(docs) as f64;
    (1.0 + (docs as f64 - n + 0.5) / (n + 0.5)).ln()
}

/// BM25's term-frequency part: tf (k1 + 1) / (tf + k1 (1 - b + b length / average)).
fn bm25_tf(tf: f64, length: f64, average: f64, k1: f64, b: f64) -> f64 {
    let average = if average > 0.0 { average } else { 1.0 };
    tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * length / average))
}

/// How many positions of `first` have a position of `second` after them within `window` (both ascending).
pub(super) fn pairs_within(first: &[u32], second: &[u32], window: u32) -> u32 {
    let (mut count, mut j) = (0, 0);
    for &a in first {
        while j < second.len() && second[j] <= a {
            j += 1;
        }
        if j < second.len() && second[j] - a <= window {
            count += 1;
        }
    }
    count
}

/// The start of the `window`-position stretch of the body whose distinct query words weigh most (`positions` per
/// word, ascending); the earliest of equals. None when no query word is in the body.
pub(super) fn focus(positions: &[Vec<u32>], weights: &[f64], window: u32) -> Option<u32> {
    let mut all: Vec<(u32, usize)> =
        positions.iter().enumerate().flat_map(|(w, ps)| ps.iter().map(move |&p| (p, w))).collect();
    all.sort_unstable();
    let mut inside = vec![0u32; positions.len()];
    let (mut weight, mut best, mut end) = (0f64, None::<(f64, u32)>, 0);
    for start in 0..all.len() {
        while end < all.len() && all[end].0 < all[start].0.saturating_add(window) {
            inside[all[end].1] += 1;
            if inside[all[end].1] == 1 {
                weight += weights[all[end].1];
            }
            end += 1;
        }
        if best.is_none_or(|(w, _)| weight > w) {
            best = Some((weight, all[start].0));
        }
        inside[all[start].1] -= 1;
        if inside[all[start].1] == 0 {
            weight -= weights[all[start].1];
        }
    }
    best.map(|(_, p)| p)
}

/// The schema of an index that ranks by `ranking`: v1's as it always was; v2 adds the URL path and stops
/// indexing the (unused) URL; v3 adds the body's fingerprint; v4 the page classes.
pub(super) fn schema_for(ranking: Ranking) -> Schema {
    let tokenizer = if ranking.fielded() { TOKENIZER_V2 } else { TOKENIZER_V1 };
    let indexed = |option: IndexRecordOption| {
        TextOptions::default()
            .set_indexing_options(TextFieldIndexing::default().set_tokenizer(tokenizer).set_index_option(option))
    };
    let text = indexed(IndexRecordOption::WithFreqsAndPositions);
    let mut builder = Schema::builder();
    builder.add_text_field("surt", STRING | STORED);
    builder.add_bytes_field("key", STORED);
    match ranking {
        Ranking::V1 => {
            builder.add_text_field("url", text.clone().set_stored());
            builder.add_text_field("title", text.clone().set_stored());
        }
        Ranking::V2 | Ranking::V3 | Ranking::V4 => {
            builder.add_text_field("url", STORED);
            builder.add_text_field("title", indexed(IndexRecordOption::WithFreqs).set_stored());
            builder.add_text_field("path", indexed(IndexRecordOption::WithFreqs));
        }
    }
    builder.add_text_field("body", text);
    if ranking.collapses() {
        builder.add_u64_field(FINGERPRINT, FAST);
    }
    if ranking.classifies() {
        builder.add_u64_field(super::page_class::LANG, FAST);
        builder.add_u64_field(super::page_class::PREFORMATTED, FAST);
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::{candidates, Ranking};

    #[test]
    fn the_first_stage_hands_on_more_pages_than_wanted_within_bounds() {
        assert_eq!([1, 3, 10, 15, 30].map(|k| candidates(k, Ranking::V3)), [2, 6, 20, 20, 31]);
        assert_eq!([1, 3, 10, 15, 30].map(|k| candidates(k, Ranking::V4)), [2, 7, 25, 25, 31]);
    }
}
