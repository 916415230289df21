//! [`Snapshot`]: the read-only handle on a snapshot (exact lookups, BM25 search, search captures, recorded reading-model outputs).
//! Opened read-only, so any number of processes can share one snapshot folder.
use std::path::{Path, PathBuf};

use super::canon::{self, SearchRequest};
use super::index::{PageIndex, ParsedQuery};
use super::manifest::Manifest;
use super::record::{self, HttpCapture, PageCapture, PageText, SearchCapture};
use super::store::{Store, CF_HTTP, CF_PAGES, CF_READER, CF_SEARCH, CF_TEXT};
use crate::error::{Error, Result};

/// One page capture with its extracted text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageView {
    pub key: Vec<u8>,
    pub capture: PageCapture,
    pub text: PageText,
}

/// One BM25 hit with a snippet of its text.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub url: String,
    pub title: String,
    pub snippet: String,
    /// Byte ranges of matched query terms inside `snippet`.
    pub highlights: Vec<std::ops::Range<usize>>,
    pub score: f32,
    pub surt: String,
    pub key: Vec<u8>,
}

/// A snapshot opened for reading.
pub struct Snapshot {
    dir: PathBuf,
    store: Store,
    index: PageIndex,
    manifest: Manifest,
}

impl Snapshot {
    /// Opens the snapshot at `dir` read-only, checking its format version.
    pub fn open(dir: &Path) -> Result<Snapshot> {
        let manifest = Manifest::read(dir)?;
        let store = Store::open_ro(&dir.join("db"))?;
        let index = PageIndex::open(&dir.join("index"))?;
        Ok(Snapshot { dir: dir.to_path_buf(), store, index, manifest })
    }

    /// The manifest as last written by a writer.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The snapshot folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every capture of `url`, oldest first.
    pub fn page_captures(&self, url: &str) -> Result<Vec<(Vec<u8>, PageCapture)>> {
        captures_of(&self.store, url)
    }

    /// The capture of `url` replay serves ([`super::when`]): the first, or the one closest to `at` (RFC 3339 or
    /// 14 digits; earlier wins a tie).
    pub fn get_page(&self, url: &str, at: Option<&str>) -> Result<Option<PageView>> {
        page_view(&self.store, url, at)
    }

    /// The body of a capture, decompressed; `None` for captures without one.
    pub fn body(&self, capture: &PageCapture) -> Result<Option<Vec<u8>>> {
        let Some(digest) = &capture.body_digest else { return Ok(None) };
        match self.store.get_blob(digest)? {
            Some(body) => Ok(Some(body)),
            None => Err(Error::Corrupt {
                what: format!("capture of {}", capture.url),
                message: format!("blob {digest} is missing"),
            }),
        }
    }

    /// The raw provider response of a search capture, byte for byte as received.
    pub fn search_raw(&self, capture: &SearchCapture) -> Result<Option<Vec<u8>>> {
        let Some(digest) = &capture.raw_digest else { return Ok(None) };
        self.store.get_blob(digest)?.map(Some).ok_or_else(|| Error::Corrupt {
            what: format!("search capture of {}", capture.request),
            message: format!("raw response blob {digest} is missing"),
        })
    }

    /// The extracted text stored for a capture key.
    pub fn text(&self, key: &[u8]) -> Result<Option<PageText>> {
        self.store.get(CF_TEXT, key)?.map(|b| record::decode("page text", key, &b)).transpose()
    }

    /// BM25 search over the latest capture of each page, with snippets of about `snippet_chars` characters.
    pub fn search(&self, query: &str, k: usize, snippet_chars: usize) -> Result<Vec<SearchHit>> {
        let parsed: ParsedQuery = self.index.parse(query);
        let hits = self.index.search(&parsed, k)?;
        let texts = hits.iter().map(|h| Ok(self.text(&h.key)?.unwrap_or_default().text)).collect::<Result<Vec<_>>>()?;
        let refs: Vec<(&str, Option<u32>)> = texts.iter().zip(&hits).map(|(t, h)| (t.as_str(), h.focus)).collect();
        let snippets = self.index.snippets(&parsed, &refs, snippet_chars)?;
        let mut out = Vec::with_capacity(hits.len());
        for (hit, (snippet, highlights)) in hits.into_iter().zip(snippets) {
            out.push(SearchHit {
                url: hit.url,
                title: hit.title,
                snippet,
                highlights,
                score: hit.score,
                surt: hit.surt,
                key: hit.key,
            });
        }
        Ok(out)
    }

    /// Recorded answers to `request`, oldest first.
    pub fn search_captures(&self, request: &SearchRequest) -> Result<Vec<SearchCapture>> {
        let rows = self.store.scan_prefix(CF_SEARCH, &request.key())?;
        rows.iter().map(|(k, v)| record::decode("search capture", k, v)).collect()
    }

    /// The recorded reader output for `(model, prompt)`.
    pub fn reader_output(&self, model: &str, prompt: &str) -> Result<Option<String>> {
        reader_output(&self.store, model, prompt)
    }

    /// HTTP exchanges the proxy recorded under `exchange_key`, oldest first.
    pub fn http_captures(&self, exchange_key: &[u8; 32]) -> Result<Vec<HttpCapture>> {
        http_captures(&self.store, exchange_key)
    }

    /// A stored body by its blake3 digest (hex), decompressed; `None` when absent.
    pub fn blob(&self, digest_hex: &str) -> Result<Option<Vec<u8>>> {
        self.store.get_blob(digest_hex)
    }

    /// The ranking rule of the snapshot's search index.
    pub fn ranking(&self) -> super::Ranking {
        self.index.ranking()
    }

    /// Number of documents in the search index.
    pub fn indexed_pages(&self) -> u64 {
        self.index.num_docs()
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn index(&self) -> &PageIndex {
        &self.index
    }
}

/// The capture of `url` that replay serves (the snapshot's one time rule, [`super::when`]: the first, or the
/// closest to `at`) with its text: one rule for the reader and for a writer serving its own recording.
pub(crate) fn page_view(store: &Store, url: &str, at: Option<&str>) -> Result<Option<PageView>> {
    let captures = captures_of(store, url)?;
    let at = at.map(super::when::parse_at).transpose()?;
    let index = super::when::choose(captures.iter().map(|(_, c)| c.captured_at.as_str()), at);
    let chosen = index.and_then(|i| captures.into_iter().nth(i));
    let Some((key, capture)) = chosen else { return Ok(None) };
    let text = store.get(CF_TEXT, &key)?.map(|b| record::decode("page text", &key, &b)).transpose()?;
    Ok(Some(PageView { key, capture, text: text.unwrap_or_default() }))
}

/// The reader output recorded in `store` for `(model, prompt)`.
pub(crate) fn reader_output(store: &Store, model: &str, prompt: &str) -> Result<Option<String>> {
    let key = record::reader_key(model, prompt);
    Ok(store.get(CF_READER, &key)?.map(|b| String::from_utf8_lossy(&b).into_owned()))
}

/// The HTTP captures in `store` under `exchange_key`, oldest first.
pub(crate) fn http_captures(store: &Store, exchange_key: &[u8; 32]) -> Result<Vec<HttpCapture>> {
    let rows = store.scan_prefix(CF_HTTP, exchange_key)?;
    rows.iter().map(|(k, v)| record::decode("http capture", k, v)).collect()
}

/// Every capture of `url` in `store`, oldest first.
pub(crate) fn captures_of(store: &Store, url: &str) -> Result<Vec<(Vec<u8>, PageCapture)>> {
    let surt = canon::surt_key(url)?;
    let rows = store.scan_prefix(CF_PAGES, &record::page_prefix(&surt))?;
    rows.into_iter().map(|(k, v)| Ok((k.to_vec(), record::decode("page capture", &k, &v)?))).collect()
}
