//! Search over the synthetic web: [`SimIndex`], BM25 over title (weighted) + main text, with a
//! tokenizer that lowercases, folds Latin diacritics and splits CJK into single characters.
//! Deterministic: fixed accumulation order, ties broken by path.
use std::collections::BTreeMap;

use serde::Serialize;

use super::SimPage;

const K1: f64 = 1.2;
const B: f64 = 0.75;
/// A title occurrence counts as this many text occurrences.
const TITLE_WEIGHT: f32 = 3.0;
/// Snippets are at most this many characters (ellipses included).
pub const SNIPPET_CHARS: usize = 160;
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "at", "by", "did", "for", "how", "in", "is", "of", "on", "or", "the", "to", "was", "what",
    "when", "where", "which", "who",
];

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    pub path: String,
    pub title: String,
    /// A window of the page text around the best-matching terms, at most [`SNIPPET_CHARS`] chars.
    pub snippet: String,
    pub score: f64,
}

/// A token: folded lowercase term and its byte span in the source text.
struct Tok {
    term: String,
    start: usize,
    end: usize,
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xAC00..=0xD7AF)
}

fn push_term(out: &mut Vec<Tok>, term: &mut String, start: usize, end: usize) {
    if !term.is_empty() && !STOPWORDS.contains(&term.as_str()) {
        out.push(Tok { term: term.clone(), start, end });
    }
    term.clear();
}

/// Splits `s` into folded lowercase terms (stopwords dropped), with byte spans.
fn tokenize(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut term = String::new();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if is_cjk(c) {
            push_term(&mut out, &mut term, start, i);
            term.push(c);
            push_term(&mut out, &mut term, i, i + c.len_utf8());
        } else if c.is_alphanumeric() {
            if term.is_empty() {
                start = i;
            }
            let mut buf = [0u8; 4];
            let folded = super::names::fold(c.encode_utf8(&mut buf));
            term.extend(folded.chars().flat_map(char::to_lowercase));
        } else {
            push_term(&mut out, &mut term, start, i);
        }
    }
    push_term(&mut out, &mut term, start, s.len());
    out
}

/// A BM25 index over a set of pages.
#[derive(Debug, Clone)]
pub struct SimIndex {
    docs: Vec<(String, String, String)>,
    doc_len: Vec<f32>,
    avg_len: f64,
    postings: BTreeMap<String, Vec<(u32, f32)>>,
}

impl SimIndex {
    /// Indexes `pages` (title and text).
    pub fn new(pages: &[SimPage]) -> SimIndex {
        let mut postings: BTreeMap<String, Vec<(u32, f32)>> = BTreeMap::new();
        let mut doc_len = Vec::with_capacity(pages.len());
        for (d, p) in pages.iter().enumerate() {
            let mut tf: BTreeMap<String, f32> = BTreeMap::new();
            for (field, w) in [(&p.title, TITLE_WEIGHT), (&p.text, 1.0)] {
                for tok in tokenize(field) {
                    *tf.entry(tok.term).or_insert(0.0) += w;
                }
            }
            doc_len.push(tf.values().sum());
            for (term, f) in tf {
                postings.entry(term).or_default().push((d as u32, f));
            }
        }
        let total: f64 = doc_len.iter().map(|&l| f64::from(l)).sum();
        let avg_len = if pages.is_empty() { 1.0 } else { (total / pages.len() as f64).max(1.0) };
        let docs = pages.iter().map(|p| (p.path.clone(), p.title.clone(), p.text.clone())).collect();
        SimIndex { docs, doc_len, avg_len, postings }
    }

    /// Number of indexed pages.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// True when no page is indexed.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Distinct query terms that occur in the index, with their IDF, in query order.
    fn query_terms(&self, query: &str) -> Vec<(String, f64)> {
        let n = self.docs.len() as f64;
        let mut out: Vec<(String, f64)> = Vec::new();
        for tok in tokenize(query) {
            if out.iter().any(|(t, _)| *t == tok.term) {
                continue;
            }
            if let Some(list) = self.postings.get(&tok.term) {
                let df = list.len() as f64;
                out.push((tok.term, (1.0 + (n - df + 0.5) / (df + 0.5)).ln()));
            }
        }
        out
    }

    /// The best `num` pages for `query`, best first; equal scores in path order. Never panics;
    /// a query with no indexed terms returns nothing.
    pub fn search(&self, query: &str, num: usize) -> Vec<SearchHit> {
        let terms = self.query_terms(query);
        if terms.is_empty() || num == 0 {
            return Vec::new();
        }
        let mut scores = vec![0.0f64; self.docs.len()];
        for (term, idf) in &terms {
            for &(d, tf) in self.postings.get(term).map_or(&[][..], |v| v.as_slice()) {
                let (d, tf) = (d as usize, f64::from(tf));
                let norm = 1.0 - B + B * f64::from(self.doc_len[d]) / self.avg_len;
                scores[d] += idf * tf * (K1 + 1.0) / (tf + K1 * norm);
            }
        }
        let mut ranked: Vec<usize> = (0..scores.len()).filter(|&d| scores[d] > 0.0).collect();
        ranked.sort_by(|&x, &y| scores[y].total_cmp(&scores[x]).then_with(|| self.docs[x].0.cmp(&self.docs[y].0)));
        ranked.truncate(num);
        ranked
            .into_iter()
            .map(|d| {
                let (path, title, text) = &self.docs[d];
                let snippet = snippet(text, &terms, SNIPPET_CHARS);
                SearchHit { path: path.clone(), title: title.clone(), snippet, score: scores[d] }
            })
            .collect()
    }
}

/// Byte offset about `back` characters before `at`, moved forward to a word start when possible.
fn window_start(text: &str, at: usize, back: usize) -> usize {
    let start = text[..at].char_indices().rev().nth(back.saturating_sub(1)).map_or(0, |(i, _)| i);
    if start == 0 {
        return 0;
    }
    match text[start..at].find(char::is_whitespace) {
        Some(ws) => start + ws + 1,
        None => start,
    }
}

/// `max` characters of `text` from byte `from`, whitespace collapsed, cut at a word end, with "…"
/// marking cuts.
fn clip(text: &str, from: usize, max: usize) -> String {
    let body_max = max.saturating_sub(2).max(1);
    let mut body: String = String::new();
    let mut count = 0;
    let mut truncated = false;
    for c in text[from..].chars() {
        if count == body_max {
            truncated = true;
            break;
        }
        let c = if c.is_whitespace() { ' ' } else { c };
        if c == ' ' && body.ends_with(' ') {
            continue;
        }
        body.push(c);
        count += 1;
    }
    if truncated {
        if let Some(cut) = body.rfind(' ').filter(|&i| i > body.len() / 2) {
            body.truncate(cut);
        }
    }
    let body = body.trim();
    let pre = if from > 0 { "…" } else { "" };
    let post = if truncated { "…" } else { "" };
    format!("{pre}{body}{post}")
}

/// The window of `text` (at most `max` chars) covering the most query-term weight; text start when
/// nothing matches.
fn snippet(text: &str, terms: &[(String, f64)], max: usize) -> String {
    let hits: Vec<(usize, usize, usize)> = tokenize(text)
        .into_iter()
        .filter_map(|t| terms.iter().position(|(q, _)| *q == t.term).map(|k| (t.start, t.end, k)))
        .take(64)
        .collect();
    let mut best: Option<(f64, usize)> = None;
    for &(start, _, _) in &hits {
        let ws = window_start(text, start, 30);
        let we = text[ws..].char_indices().nth(max.saturating_sub(2)).map_or(text.len(), |(i, _)| ws + i);
        let mut seen = vec![false; terms.len()];
        let mut score = 0.0;
        for &(s, e, k) in &hits {
            if s >= ws && e <= we && !seen[k] {
                seen[k] = true;
                score += terms[k].1;
            }
        }
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, ws));
        }
    }
    clip(text, best.map_or(0, |(_, ws)| ws), max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(path: &str, title: &str, text: &str) -> SimPage {
        SimPage { path: path.into(), title: title.into(), html: String::new(), text: text.into(), links: vec![] }
    }

    #[test]
    fn tokenizer_folds_and_splits_cjk() {
        let terms: Vec<String> = tokenize("Zoë ØSTERgaard, 北山市 the 1874").into_iter().map(|t| t.term).collect();
        assert_eq!(terms, ["zoe", "ostergaard", "北", "山", "市", "1874"].map(String::from));
        let t = tokenize("naïve");
        assert_eq!((t[0].start, t[0].end), (0, "naïve".len()));
    }

    #[test]
    fn ranks_title_matches_first_and_breaks_ties_by_path() {
        let pages = vec![
            page("/b", "Other", "nothing relevant here at all"),
            page("/z", "Twin", "lantern harbour"),
            page("/a", "Twin", "lantern harbour"),
            page("/c", "Lantern", "a page about a lantern"),
        ];
        let idx = SimIndex::new(&pages);
        let hits = idx.search("Lantern", 10);
        let paths: Vec<&str> = hits.iter().map(|h| h.path.as_str()).collect();
        assert_eq!(paths, ["/c", "/a", "/z"]);
        assert_eq!(hits[1].score, hits[2].score);
        assert_eq!(idx.search("lantern", 1).len(), 1);
        assert!(idx.search("lantern", 0).is_empty());
    }

    #[test]
    fn odd_queries_do_not_panic() {
        let pages = vec![page("/a", "Zoë", "Zoë was born in 北山 in 1874. ".repeat(20).as_str())];
        let idx = SimIndex::new(&pages);
        for q in ["", "   ", "?!.,;", "the of a", "北", "ZOE", "zoë", "😀", "\u{0}", "ø"] {
            let hits = idx.search(q, 5);
            for h in &hits {
                assert!(h.snippet.chars().count() <= SNIPPET_CHARS, "{}", h.snippet);
            }
        }
        assert_eq!(idx.search("zoe", 5).len(), 1);
        assert_eq!(idx.search("北", 5).len(), 1);
        assert!(SimIndex::new(&[]).search("x", 3).is_empty());
    }

    #[test]
    fn snippet_is_a_window_around_the_match() {
        let filler = "lorem ipsum dolor sit amet ".repeat(20);
        let text = format!("{filler}The harbour lantern was lit. {filler}");
        let idx = SimIndex::new(&[page("/a", "A", &text)]);
        let hit = &idx.search("harbour lantern", 1)[0];
        assert!(hit.snippet.contains("harbour lantern"), "{}", hit.snippet);
        assert!(hit.snippet.starts_with('…') && hit.snippet.ends_with('…'));
        assert!(hit.snippet.chars().count() <= SNIPPET_CHARS);
    }
}
