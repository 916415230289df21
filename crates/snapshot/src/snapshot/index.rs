//! The snapshot's tantivy index: one document per URL (its latest page capture) with url, title and body (and,
//! from ranking v2, the URL path; from v3, the body's near-duplicate fingerprint; from v4, the page classes), BM25
//! search with deterministic
//! ranking (ties broken by SURT key) and snippets. An index ranks by the rule its schema was built with
//! ([`Ranking`]). Owns `index/`; never reads RocksDB itself (callers pass text in).
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tantivy::collector::TopDocs;
use tantivy::query::{EnableScoring, Query, TermQuery};
use tantivy::schema::{Field, FieldType, IndexRecordOption, Value};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocAddress, Index, IndexReader, ReloadPolicy, Searcher, TantivyDocument, Term};

use super::analyzer::{self, TOKENIZER_V1, TOKENIZER_V2};
pub use super::index_writer::PageIndexWriter;
use super::page_class::{self, PageClasses};
pub use super::query::ParsedQuery;
use super::query::{parse_v1, parse_v2, ranking_of};
pub use super::rank::Ranking;
use super::rank::{candidates, schema_for, v2_scores, FINGERPRINT};
use super::simhash;
use crate::error::{Error, Result};

/// How much of a page's text is scanned for the snippet (without a focus).
const SNIPPET_SCAN_BYTES: usize = 64 << 10;
/// With a focus: how far before it the snippet may start (back to its line's start), and how much is scanned.
const FOCUS_LEAD_BYTES: usize = 160;
const FOCUS_SCAN_BYTES: usize = 1 << 10;
/// Memory the indexer may use before it writes a segment.
const WRITER_MEMORY: usize = 192 << 20;

/// Field handles of the schema.
#[derive(Clone, Copy)]
pub(super) struct Fields {
    pub(super) surt: Field,
    pub(super) key: Field,
    pub(super) url: Field,
    pub(super) title: Field,
    pub(super) body: Field,
    /// URL path words (ranking v2 and v3).
    pub(super) path: Option<Field>,
    /// The body's near-duplicate fingerprint, a fast field (ranking v3).
    pub(super) fingerprint: Option<Field>,
    /// The page's declared language and preformatted share, fast fields (ranking v4).
    pub(super) classes: Option<(Field, Field)>,
}

/// One search hit, before the caller fetches text for its snippet.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexHit {
    pub surt: String,
    /// Key of the page capture the document was built from.
    pub key: Vec<u8>,
    pub url: String,
    pub title: String,
    pub score: f32,
    /// Body position where the passage that matched best starts (ranking v2), for the snippet.
    pub focus: Option<u32>,
}

/// Relative score margin within which documents near the k-th are fetched and rescored (see [`PageIndex::search`]).
const SCORE_MARGIN: f32 = 1e-4;

/// The tantivy index of a snapshot.
pub struct PageIndex {
    pub(super) index: Index,
    reader: IndexReader,
    fields: Fields,
    path: PathBuf,
    ranking: Ranking,
    /// v2: the query analyzer without the stemmer (function words are dropped before stemming).
    query_words: TextAnalyzer,
    /// v3: collapses near-duplicates, with the fingerprint columns of the latest searcher generation.
    fingerprints: simhash::Collapser,
    /// v4: reads the page classes, with the columns of the latest searcher generation.
    classes: PageClasses,
}

impl PageIndex {
    /// Creates an empty index in `dir` (which must exist and be empty), ranking by [`Ranking::CURRENT`].
    pub fn create(dir: &Path) -> Result<PageIndex> {
        Self::create_with(dir, Ranking::CURRENT)
    }

    /// Creates an empty index in `dir` that ranks by `ranking` (v1 only to test that old snapshots still work).
    pub fn create_with(dir: &Path, ranking: Ranking) -> Result<PageIndex> {
        let index = Index::create_in_dir(dir, schema_for(ranking)).map_err(|e| index_error(dir, e))?;
        Self::wrap(index, dir)
    }

    /// An empty index in memory (stands in while [`super::SnapshotWriter::reindex`] replaces the one on disk).
    pub(super) fn in_memory() -> Result<PageIndex> {
        let index = Index::create_in_ram(schema_for(Ranking::CURRENT));
        Self::wrap(index, Path::new("(memory)"))
    }

    /// Opens the index in `dir`.
    pub fn open(dir: &Path) -> Result<PageIndex> {
        // Through `IndexDir`, so a snapshot on a read-only filesystem opens (tantivy's reader takes a lock file).
        let directory = super::ro_dir::IndexDir::open(dir).map_err(|e| index_error(dir, e.into()))?;
        let index = Index::open(directory).map_err(|e| index_error(dir, e))?;
        Self::wrap(index, dir)
    }

    fn wrap(index: Index, dir: &Path) -> Result<PageIndex> {
        analyzer::register(index.tokenizers());
        let schema = index.schema();
        let field = |name: &str| schema.get_field(name).map_err(|e| index_error(dir, e));
        let fields = Fields {
            surt: field("surt")?,
            key: field("key")?,
            url: field("url")?,
            title: field("title")?,
            body: field("body")?,
            path: schema.get_field("path").ok(),
            fingerprint: schema.get_field(FINGERPRINT).ok(),
            classes: schema.get_field(page_class::LANG).ok().zip(schema.get_field(page_class::PREFORMATTED).ok()),
        };
        let tokenizer = match schema.get_field_entry(fields.body).field_type() {
            FieldType::Str(options) => options.get_indexing_options().map(|o| o.tokenizer().to_string()),
            _ => None,
        };
        let (path, fingerprint, classes) =
            (fields.path.is_some(), fields.fingerprint.is_some(), fields.classes.is_some());
        let ranking = tokenizer.as_deref().and_then(|t| ranking_of(t, path, fingerprint, classes));
        let Some(ranking) = ranking else {
            let message = format!("unknown index schema (body analyzer {tokenizer:?}); made by a newer webtape?");
            return Err(Error::Index { path: dir.to_path_buf(), message });
        };
        let reader =
            index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().map_err(|e| index_error(dir, e))?;
        let query_words = analyzer::v2_unstemmed();
        let (fingerprints, classes) = (simhash::Collapser::default(), PageClasses::default());
        Ok(PageIndex { index, reader, fields, path: dir.to_path_buf(), ranking, query_words, fingerprints, classes })
    }

    /// The ranking rule this index was built with.
    pub fn ranking(&self) -> Ranking {
        self.ranking
    }

    /// A writer; only one may exist at a time (tantivy holds a lock file).
    pub fn writer(&self) -> Result<PageIndexWriter> {
        let threads = std::thread::available_parallelism().map(|n| n.get().min(4)).unwrap_or(1);
        let writer = self
            .index
            .writer_with_num_threads(threads, WRITER_MEMORY.max(threads * (20 << 20)))
            .map_err(|e| self.err(e))?;
        Ok(PageIndexWriter { writer, fields: self.fields, path: self.path.clone() })
    }

    /// Makes the latest commit visible to [`PageIndex::search`].
    pub fn reload(&self) -> Result<()> {
        self.reader.reload().map_err(|e| self.err(e))
    }

    /// The payload of the latest commit (the writer stores its capture counter there).
    pub fn commit_payload(&self) -> Result<Option<String>> {
        Ok(self.index.load_metas().map_err(|e| self.err(e))?.payload)
    }

    /// Turns free text into a query for this index's ranking (see [`super::query`]).
    pub fn parse(&self, query: &str) -> ParsedQuery {
        let f = self.fields;
        match (self.ranking.fielded(), f.path) {
            (true, Some(path)) => {
                let mut stemmer = self.index.tokenizers().get(TOKENIZER_V2).expect("tokenizer registered at open");
                parse_v2(&mut self.query_words.clone(), &mut stemmer, query, [f.title, f.body, path], self.ranking)
            }
            _ => {
                let mut analyzer = self.index.tokenizers().get(TOKENIZER_V1).expect("tokenizer registered at open");
                parse_v1(&mut analyzer, query, f.title, f.body)
            }
        }
    }

    /// The `k` best documents for `query`, ties broken by SURT key so the order is deterministic.
    ///
    /// Block-max WAND adds up a document's term scores in an order that follows document ids, i.e. the order
    /// pages were indexed in, so two recordings of the same pages can score a document one bit apart (and
    /// order near-ties differently). So the documents within [`SCORE_MARGIN`] of the last one wanted are all
    /// fetched and scored again from their own statistics alone: the same pages give the same scores and ranking
    /// bit for bit. v1 rescores term by term in query order; v2 recomputes the first stage to pick its
    /// [`candidates`], then orders those by its own score.
    pub fn search(&self, query: &ParsedQuery, k: usize) -> Result<Vec<IndexHit>> {
        if k == 0 {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        match (self.ranking.fielded(), self.fields.path) {
            (true, Some(path)) => self.search_v2(&searcher, query, k, path),
            _ => self.search_v1(&searcher, query, k),
        }
    }

    fn search_v1(&self, searcher: &Searcher, query: &ParsedQuery, k: usize) -> Result<Vec<IndexHit>> {
        let addresses = self.top_docs(searcher, query, k)?;
        let scores = self.rescore(searcher, &query.terms, &addresses)?;
        let mut hits = Vec::with_capacity(addresses.len());
        for (address, score) in addresses.into_iter().zip(scores) {
            let doc: TantivyDocument = searcher.doc(address).map_err(|e| self.err(e))?;
            hits.push(self.hit(&doc, score));
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.surt.cmp(&b.surt)));
        hits.truncate(k);
        Ok(hits)
    }

    fn search_v2(&self, searcher: &Searcher, query: &ParsedQuery, k: usize, path: Field) -> Result<Vec<IndexHit>> {
        let n = candidates(k, self.ranking);
        let addresses = self.top_docs(searcher, query, n)?;
        let fields = [self.fields.title, self.fields.body, path];
        let mut scores =
            v2_scores(searcher, fields, &query.clauses, query.words, &addresses).map_err(|e| self.err(e))?;
        let mut order: Vec<usize> = (0..addresses.len()).collect();
        let mut surts = BTreeMap::new();
        self.order_by(searcher, &addresses, &mut order, &mut surts, |i| scores[i].first)?;
        order.truncate(n);
        if self.fields.classes.is_some() {
            let weights = self.classes.weights(searcher, &addresses, query.ascii).map_err(|e| self.err(e))?;
            scores.iter_mut().zip(weights).for_each(|(s, w)| s.last *= w);
        }
        self.order_by(searcher, &addresses, &mut order, &mut surts, |i| scores[i].last)?;
        if self.fields.fingerprint.is_some() {
            order = self.fingerprints.collapse(searcher, &addresses, order).map_err(|e| self.err(e))?;
        }
        order.truncate(k);
        let hit = |i: usize| -> Result<IndexHit> {
            let doc: TantivyDocument = searcher.doc(addresses[i]).map_err(|e| self.err(e))?;
            Ok(IndexHit { focus: scores[i].focus, ..self.hit(&doc, scores[i].last as f32) })
        };
        order.into_iter().map(hit).collect()
    }

    /// The best `n` documents by the query's own scores, and every document near-tied with the n-th.
    fn top_docs(&self, searcher: &Searcher, query: &ParsedQuery, n: usize) -> Result<Vec<DocAddress>> {
        let mut fetch = n + 1;
        loop {
            let top = searcher
                .search(&*query.query, &TopDocs::with_limit(fetch).order_by_score())
                .map_err(|e| self.err(e))?;
            let exhausted = top.len() < fetch;
            // Near-ties that straddle the cut could be cut arbitrarily: fetch more until the last is clearly below.
            if !exhausted && top.len() > n && top[top.len() - 1].0 >= top[n - 1].0 * (1.0 - SCORE_MARGIN) {
                fetch *= 4;
                continue;
            }
            return Ok(top.iter().map(|(_, a)| *a).collect());
        }
    }

    /// Sorts `order` (indexes into `addresses`) by `score`, highest first; equal scores by SURT key, read from
    /// the stored documents (into `surts`) only where scores tie.
    fn order_by(
        &self,
        searcher: &Searcher,
        addresses: &[DocAddress],
        order: &mut [usize],
        surts: &mut BTreeMap<usize, String>,
        score: impl Fn(usize) -> f64,
    ) -> Result<()> {
        order.sort_by(|&a, &b| score(b).total_cmp(&score(a)));
        let mut start = 0;
        while start < order.len() {
            let tied = order[start..].iter().take_while(|&&i| score(i) == score(order[start])).count();
            let group = &mut order[start..start + tied];
            if tied > 1 {
                for &i in group.iter() {
                    if let std::collections::btree_map::Entry::Vacant(slot) = surts.entry(i) {
                        let doc: TantivyDocument = searcher.doc(addresses[i]).map_err(|e| self.err(e))?;
                        slot.insert(self.hit(&doc, 0.0).surt);
                    }
                }
                group.sort_by(|a, b| surts[a].cmp(&surts[b]));
            }
            start += tied;
        }
        Ok(())
    }

    /// BM25 scores of `docs` as the sum, in query order (f64), of each term's score: independent of doc ids.
    fn rescore(&self, searcher: &Searcher, terms: &[Term], docs: &[DocAddress]) -> Result<Vec<f32>> {
        let scoring = EnableScoring::enabled_from_searcher(searcher);
        let weights = terms
            .iter()
            .map(|t| TermQuery::new(t.clone(), IndexRecordOption::WithFreqs).weight(scoring))
            .collect::<tantivy::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(docs.len());
        for address in docs {
            let segment = searcher.segment_reader(address.segment_ord);
            let mut sum = 0f64;
            for weight in &weights {
                // `explain` fails exactly when the term is not in the document (that term adds nothing).
                if let Ok(e) = weight.explain(segment, address.doc_id) {
                    sum += f64::from(e.value());
                }
            }
            out.push(sum as f32);
        }
        Ok(out)
    }

    /// Snippets of `texts` around the terms of `query` (one generator for all): each fragment with the byte
    /// ranges of matched terms. A text with a focus (ranking v2: where its best passage starts) is looked at
    /// there; others in their first 64 KiB.
    pub fn snippets(
        &self,
        query: &ParsedQuery,
        texts: &[(&str, Option<u32>)],
        max_chars: usize,
    ) -> Result<Vec<(String, Vec<std::ops::Range<usize>>)>> {
        let searcher = self.reader.searcher();
        let mut generator = tantivy::snippet::SnippetGenerator::create(&searcher, &*query.query, self.fields.body)
            .map_err(|e| self.err(e))?;
        generator.set_max_num_chars(max_chars);
        Ok(texts
            .iter()
            .map(|&(text, focus)| {
                let at = focus.and_then(|p| analyzer::offset_of_position(text, p));
                let window = match at {
                    // From the start of the passage's line (if near), a few snippets long.
                    Some(at) => {
                        let line = text[..at].rfind('\n').map_or(0, |i| i + 1);
                        let from = analyzer::floor_char(text, line.max(at.saturating_sub(FOCUS_LEAD_BYTES)));
                        &text[from..analyzer::floor_char(text, (from + FOCUS_SCAN_BYTES).min(text.len()))]
                    }
                    // The best fragment is looked for in the first 64 KiB: long pages cost time, not quality.
                    None => &text[..analyzer::floor_char(text, text.len().min(SNIPPET_SCAN_BYTES))],
                };
                let snippet = generator.snippet(window);
                (snippet.fragment().to_string(), analyzer::merge_ranges(snippet.highlighted()))
            })
            .collect())
    }

    /// Every indexed document: SURT key → capture key. For verification.
    pub fn documents(&self) -> Result<BTreeMap<String, Vec<u8>>> {
        let searcher = self.reader.searcher();
        let mut out = BTreeMap::new();
        for segment in searcher.segment_readers() {
            let store = segment.get_store_reader(64).map_err(|e| self.err(e.into()))?;
            for doc_id in segment.doc_ids_alive() {
                let doc: TantivyDocument = store.get(doc_id).map_err(|e| self.err(e))?;
                let hit = self.hit(&doc, 0.0);
                out.insert(hit.surt, hit.key);
            }
        }
        Ok(out)
    }

    /// Number of live documents.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    fn hit(&self, doc: &TantivyDocument, score: f32) -> IndexHit {
        let text = |f: Field| doc.get_first(f).and_then(|v| v.as_str()).unwrap_or("").to_string();
        let key = doc.get_first(self.fields.key).and_then(|v| v.as_bytes()).unwrap_or(&[]).to_vec();
        IndexHit {
            surt: text(self.fields.surt),
            key,
            url: text(self.fields.url),
            title: text(self.fields.title),
            score,
            focus: None,
        }
    }

    fn err(&self, e: tantivy::TantivyError) -> Error {
        index_error(&self.path, e)
    }
}

pub(super) fn index_error(path: &Path, e: tantivy::TantivyError) -> Error {
    Error::Index { path: path.to_path_buf(), message: e.to_string() }
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
