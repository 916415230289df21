//! Free text → index query, for each [`Ranking`]: the query's distinct words as the index analyzes them, function
//! words left out. Query syntax (`field:`, `-`, quotes) is not interpreted: agents type plain text. Owns no state.
use tantivy::query::{BooleanQuery, BoostQuery, EmptyQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::Term;

use super::rank::{Clause, Ranking, Slot, BOOSTS, IDENTIFIER_TITLE_BOOST};

/// English function words left out of queries (not of the index), as BM25 retrievers such as bm25s do.
const STOPWORDS: [&str; 33] = [
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of",
    "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
];
/// At most this many distinct words of a query are used.
const MAX_WORDS: usize = 32;

/// A parsed query, kept so snippets can highlight its terms.
pub struct ParsedQuery {
    pub(super) query: Box<dyn Query>,
    /// v1: its term clauses in query order, for the rescoring in [`super::PageIndex::search`].
    pub(super) terms: Vec<Term>,
    /// v2: its clauses (word × field) in query order, and the number of words.
    pub(super) clauses: Vec<Clause>,
    pub(super) words: usize,
    /// Whether the query is written in ASCII ([`super::page_class::ascii_query`]; v4 weighs languages then).
    pub(super) ascii: bool,
}

impl ParsedQuery {
    fn empty() -> ParsedQuery {
        ParsedQuery { query: Box::new(EmptyQuery), terms: Vec::new(), clauses: Vec::new(), words: 0, ascii: true }
    }
}

/// The distinct words of `text` in order (at most [`MAX_WORDS`]); function words go unless nothing else is left.
pub(super) fn query_words(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut words: Vec<String> = Vec::new();
    while let Some(token) = stream.next() {
        if !words.contains(&token.text) && words.len() < MAX_WORDS {
            words.push(token.text.clone());
        }
    }
    // Function words match nearly every page and only slow ranking down; keep them when nothing else is left.
    if words.iter().any(|w| !STOPWORDS.contains(&w.as_str())) {
        words.retain(|w| !STOPWORDS.contains(&w.as_str()));
    }
    words
}

/// Ranking v1: every word may match in the title or the body, one flat union of term queries (which tantivy
/// scores with block-max WAND).
pub(super) fn parse_v1(analyzer: &mut TextAnalyzer, text: &str, title: Field, body: Field) -> ParsedQuery {
    let words = query_words(analyzer, text);
    if words.is_empty() {
        return ParsedQuery::empty();
    }
    let terms: Vec<Term> =
        words.iter().flat_map(|word| [title, body].map(|field| Term::from_field_text(field, word))).collect();
    let clauses: Vec<(Occur, Box<dyn Query>)> = terms
        .iter()
        .map(|t| (Occur::Should, Box::new(TermQuery::new(t.clone(), IndexRecordOption::WithFreqs)) as Box<dyn Query>))
        .collect();
    ParsedQuery { query: Box::new(BooleanQuery::new(clauses)), terms, clauses: Vec::new(), words: 0, ascii: true }
}

/// Ranking v2: the words (code-aware, function words dropped, then stemmed) may match in the title, body or URL
/// path, each field with its weight. The query (a flat union of boosted term queries, so block-max WAND applies)
/// covers the title and body; the path clauses are kept for the final score of the candidates.
/// `fields` in [`Slot`] order. With `ranking` v4, a word that mixes ASCII letters and digits weighs
/// [`IDENTIFIER_TITLE_BOOST`] more in the title.
pub(super) fn parse_v2(
    words_analyzer: &mut TextAnalyzer,
    stemmer: &mut TextAnalyzer,
    text: &str,
    fields: [Field; 3],
    ranking: Ranking,
) -> ParsedQuery {
    let mut words: Vec<String> = Vec::new();
    for word in query_words(words_analyzer, text) {
        let mut stream = stemmer.token_stream(&word);
        let stem = stream.next().map_or_else(|| word.clone(), |t| t.text.clone());
        if !words.contains(&stem) {
            words.push(stem);
        }
    }
    if words.is_empty() {
        return ParsedQuery::empty();
    }
    let mut clauses = Vec::with_capacity(words.len() * 3);
    for (word, text) in words.iter().enumerate() {
        let names = ranking.classifies() && is_identifier(text);
        for slot in [Slot::Title, Slot::Body, Slot::Path] {
            let term = Term::from_field_text(fields[slot as usize], text);
            let extra = if names && slot == Slot::Title { IDENTIFIER_TITLE_BOOST } else { 0.0 };
            clauses.push(Clause { term, slot, word, weight: BOOSTS[slot as usize] + extra });
        }
    }
    // The URL path only rescores the candidates: in the first stage its clauses would add a third of the terms
    // block-max WAND walks for a field that rarely decides which pages are candidates.
    let query: Vec<(Occur, Box<dyn Query>)> = clauses
        .iter()
        .filter(|c| c.slot.in_first_stage())
        .map(|c| {
            let term = Box::new(TermQuery::new(c.term.clone(), IndexRecordOption::WithFreqs));
            (Occur::Should, Box::new(BoostQuery::new(term, BOOSTS[c.slot as usize])) as Box<dyn Query>)
        })
        .collect();
    let ascii = super::page_class::ascii_query(text);
    ParsedQuery { query: Box::new(BooleanQuery::new(query)), terms: Vec::new(), clauses, words: words.len(), ascii }
}

/// Whether an analysed word mixes ASCII letters and digits (`e0425`, `u32`, `x86`): it names something.
fn is_identifier(word: &str) -> bool {
    word.bytes().any(|b| b.is_ascii_alphabetic()) && word.bytes().any(|b| b.is_ascii_digit())
}

/// Which ranking an index follows, from its body field's analyzer and whether it has the URL path and
/// fingerprint fields (v3 analyses as v2 does and adds the fingerprint).
pub(super) fn ranking_of(tokenizer: &str, path: bool, fingerprint: bool, classes: bool) -> Option<Ranking> {
    match (tokenizer, path, fingerprint, classes) {
        (super::analyzer::TOKENIZER_V1, false, false, false) => Some(Ranking::V1),
        (super::analyzer::TOKENIZER_V2, true, false, false) => Some(Ranking::V2),
        (super::analyzer::TOKENIZER_V2, true, true, false) => Some(Ranking::V3),
        (super::analyzer::TOKENIZER_V2, true, true, true) => Some(Ranking::V4),
        _ => None,
    }
}
