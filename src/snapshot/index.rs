//! The snapshot's tantivy index: one document per URL (its latest page capture) with url, title and body,
//! BM25 search with deterministic ranking (ties broken by SURT key) and snippets. Owns `index/`; never reads
//! RocksDB itself (callers pass text in).
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, EmptyQuery, EnableScoring, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, STORED, STRING};
use tantivy::tokenizer::{AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer};
use tantivy::{DocAddress, Index, IndexReader, ReloadPolicy, Searcher, TantivyDocument, Term};

use crate::error::{Error, Result};

const TOKENIZER: &str = "webtape";
/// How much of a page's text is scanned for the snippet.
const SNIPPET_SCAN_BYTES: usize = 64 << 10;
/// English function words left out of queries (not of the index), as BM25 retrievers such as bm25s do.
const STOPWORDS: [&str; 33] = [
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of",
    "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
];
/// Memory the indexer may use before it writes a segment.
const WRITER_MEMORY: usize = 192 << 20;

/// Field handles of the schema.
#[derive(Clone, Copy)]
struct Fields {
    surt: Field,
    key: Field,
    url: Field,
    title: Field,
    body: Field,
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
}

/// Relative score margin within which documents near the k-th are fetched and rescored (see [`PageIndex::search`]).
const SCORE_MARGIN: f32 = 1e-4;

/// A parsed query, kept so snippets can highlight its terms.
pub struct ParsedQuery {
    query: Box<dyn Query>,
    /// Its term clauses in query order, for [`PageIndex::search`]'s rescoring.
    terms: Vec<Term>,
}

/// The tantivy index of a snapshot.
pub struct PageIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    path: PathBuf,
}

impl PageIndex {
    /// Creates an empty index in `dir` (which must exist and be empty).
    pub fn create(dir: &Path) -> Result<PageIndex> {
        let index = Index::create_in_dir(dir, schema()).map_err(|e| index_error(dir, e))?;
        Self::wrap(index, dir)
    }

    /// Opens the index in `dir`.
    pub fn open(dir: &Path) -> Result<PageIndex> {
        // Through `IndexDir`, so a snapshot on a read-only filesystem opens (tantivy's reader takes a lock file).
        let directory = super::ro_dir::IndexDir::open(dir).map_err(|e| index_error(dir, e.into()))?;
        let index = Index::open(directory).map_err(|e| index_error(dir, e))?;
        Self::wrap(index, dir)
    }

    fn wrap(index: Index, dir: &Path) -> Result<PageIndex> {
        let analyzer = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(40))
            .filter(LowerCaser)
            .filter(AsciiFoldingFilter)
            .build();
        index.tokenizers().register(TOKENIZER, analyzer);
        let schema = index.schema();
        let field = |name: &str| schema.get_field(name).map_err(|e| index_error(dir, e));
        let fields = Fields {
            surt: field("surt")?,
            key: field("key")?,
            url: field("url")?,
            title: field("title")?,
            body: field("body")?,
        };
        let reader =
            index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().map_err(|e| index_error(dir, e))?;
        Ok(PageIndex { index, reader, fields, path: dir.to_path_buf() })
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

    /// Turns free text into a query: every distinct word (as the index tokenizes it, at most 32) may match in the
    /// title or the body. Query syntax (`field:`, `-`, quotes) is not interpreted, agents type plain text. The
    /// query is one flat union of term queries, which tantivy scores with block-max WAND.
    pub fn parse(&self, query: &str) -> ParsedQuery {
        let f = self.fields;
        let mut analyzer = self.index.tokenizers().get(TOKENIZER).expect("tokenizer registered at open");
        let mut stream = analyzer.token_stream(query);
        let mut words: Vec<String> = Vec::new();
        while let Some(token) = stream.next() {
            if !words.contains(&token.text) && words.len() < 32 {
                words.push(token.text.clone());
            }
        }
        // Function words match nearly every page and only slow ranking down; keep them when nothing else is left.
        if words.iter().any(|w| !STOPWORDS.contains(&w.as_str())) {
            words.retain(|w| !STOPWORDS.contains(&w.as_str()));
        }
        if words.is_empty() {
            return ParsedQuery { query: Box::new(EmptyQuery), terms: Vec::new() };
        }
        let terms: Vec<Term> =
            words.iter().flat_map(|word| [f.title, f.body].map(|field| Term::from_field_text(field, word))).collect();
        let clauses: Vec<(Occur, Box<dyn Query>)> = terms
            .iter()
            .map(|t| {
                (Occur::Should, Box::new(TermQuery::new(t.clone(), IndexRecordOption::WithFreqs)) as Box<dyn Query>)
            })
            .collect();
        ParsedQuery { query: Box::new(BooleanQuery::new(clauses)), terms }
    }

    /// The `k` best documents for `query` by BM25, ties broken by SURT key so the order is deterministic.
    ///
    /// Block-max WAND adds up a document's term scores in an order that follows document ids, i.e. the order
    /// pages were indexed in, so two recordings of the same pages can score a document one bit apart (and
    /// order near-ties differently). So the documents within [`SCORE_MARGIN`] of the k-th are all fetched and
    /// rescored term by term in query order: the same pages give the same scores and ranking bit for bit.
    pub fn search(&self, query: &ParsedQuery, k: usize) -> Result<Vec<IndexHit>> {
        if k == 0 {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        let mut fetch = k + 1;
        loop {
            let top = searcher
                .search(&*query.query, &TopDocs::with_limit(fetch).order_by_score())
                .map_err(|e| self.err(e))?;
            let exhausted = top.len() < fetch;
            // Near-ties that straddle the cut could be cut arbitrarily: fetch more until the last is clearly below.
            if !exhausted && top.len() > k && top[top.len() - 1].0 >= top[k - 1].0 * (1.0 - SCORE_MARGIN) {
                fetch *= 4;
                continue;
            }
            let addresses: Vec<DocAddress> = top.iter().map(|(_, a)| *a).collect();
            let scores = self.rescore(&searcher, &query.terms, &addresses)?;
            let mut hits = Vec::with_capacity(top.len());
            for (address, score) in addresses.into_iter().zip(scores) {
                let doc: TantivyDocument = searcher.doc(address).map_err(|e| self.err(e))?;
                hits.push(self.hit(&doc, score));
            }
            hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.surt.cmp(&b.surt)));
            hits.truncate(k);
            return Ok(hits);
        }
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
    /// ranges of matched terms.
    pub fn snippets(
        &self,
        query: &ParsedQuery,
        texts: &[&str],
        max_chars: usize,
    ) -> Result<Vec<(String, Vec<std::ops::Range<usize>>)>> {
        let searcher = self.reader.searcher();
        let mut generator = tantivy::snippet::SnippetGenerator::create(&searcher, &*query.query, self.fields.body)
            .map_err(|e| self.err(e))?;
        generator.set_max_num_chars(max_chars);
        Ok(texts
            .iter()
            .map(|text| {
                // The best fragment is looked for in the first 64 KiB: long pages cost tokenizing time, not quality.
                let head = &text
                    [..(0..=text.len().min(SNIPPET_SCAN_BYTES)).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0)];
                let snippet = generator.snippet(head);
                (snippet.fragment().to_string(), snippet.highlighted().to_vec())
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
        }
    }

    fn err(&self, e: tantivy::TantivyError) -> Error {
        index_error(&self.path, e)
    }
}

/// Adds and replaces documents; changes become visible at [`PageIndexWriter::commit`].
pub struct PageIndexWriter {
    writer: tantivy::IndexWriter,
    fields: Fields,
    path: PathBuf,
}

impl PageIndexWriter {
    /// Makes `key` the document for `surt`, replacing any earlier one.
    pub fn upsert(&self, surt: &str, key: &[u8], url: &str, title: &str, body: &str) -> Result<()> {
        let f = self.fields;
        self.writer.delete_term(Term::from_field_text(f.surt, surt));
        let mut doc = TantivyDocument::default();
        doc.add_text(f.surt, surt);
        doc.add_bytes(f.key, key);
        doc.add_text(f.url, url);
        doc.add_text(f.title, title);
        doc.add_text(f.body, body);
        self.writer.add_document(doc).map_err(|e| index_error(&self.path, e))?;
        Ok(())
    }

    /// Removes every document (before a rebuild).
    pub fn delete_all(&self) -> Result<()> {
        self.writer.delete_all_documents().map_err(|e| index_error(&self.path, e))?;
        Ok(())
    }

    /// Commits, storing `payload` with the commit.
    pub fn commit(&mut self, payload: &str) -> Result<()> {
        let mut prepared = self.writer.prepare_commit().map_err(|e| index_error(&self.path, e))?;
        prepared.set_payload(payload);
        prepared.commit().map_err(|e| index_error(&self.path, e))?;
        Ok(())
    }

    /// Merges every segment of `index` into one (faster queries on a snapshot that is done growing); returns the
    /// number of segments before.
    pub fn merge_all(&mut self, index: &PageIndex) -> Result<usize> {
        let ids = index.index.searchable_segment_ids().map_err(|e| index_error(&self.path, e))?;
        if ids.len() > 1 {
            self.writer.merge(&ids).wait().map_err(|e| index_error(&self.path, e))?;
        }
        Ok(ids.len())
    }

    /// Waits for background merges so the index is fully written.
    pub fn finish(self) -> Result<()> {
        self.writer.wait_merging_threads().map_err(|e| index_error(&self.path, e))
    }
}

fn schema() -> Schema {
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let mut builder = Schema::builder();
    builder.add_text_field("surt", STRING | STORED);
    builder.add_bytes_field("key", STORED);
    builder.add_text_field("url", text.clone().set_stored());
    builder.add_text_field("title", text.clone().set_stored());
    builder.add_text_field("body", text);
    builder.build()
}

fn index_error(path: &Path, e: tantivy::TantivyError) -> Error {
    Error::Index { path: path.to_path_buf(), message: e.to_string() }
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
