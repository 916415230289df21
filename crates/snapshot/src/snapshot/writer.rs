//! [`SnapshotWriter`]: the one way captures get into a snapshot. Each capture is one RocksDB WriteBatch
//! (record, blob, text and counters together), so a crash never leaves half a capture; the tantivy index follows
//! and is rebuilt from the database when a crash left it behind.
use std::path::{Path, PathBuf};

use super::canon::SearchRequest;
use super::index::{PageIndex, PageIndexWriter, Ranking};
use super::manifest::{now_rfc3339, Counts, Manifest};
use super::prepared::{PreparedPage, PutOutcome};
use super::record::{self, HttpCapture, PageCapture, SearchCapture};
use super::state::State;
use super::store::{self, Store, CF_BLOBS, CF_HTTP, CF_META, CF_PAGES, CF_READER, CF_SEARCH, CF_TEXT};
use super::{digest, rebuild};
use crate::error::{Error, Result};

/// Writes captures into a snapshot. Only one writer per snapshot at a time (RocksDB and tantivy lock files).
pub struct SnapshotWriter {
    dir: PathBuf,
    store: Store,
    index: PageIndex,
    index_writer: PageIndexWriter,
    manifest: Manifest,
    state: State,
    /// Documents indexed when `open` found the index behind the database and rebuilt it.
    rebuilt_on_open: Option<u64>,
}

impl SnapshotWriter {
    /// Creates a new, empty snapshot at `dir` (the folder may exist if empty).
    pub fn create(dir: &Path) -> Result<SnapshotWriter> {
        if dir.join("manifest.json").exists() || dir.join("db").exists() {
            return Err(Error::SnapshotExists(dir.to_path_buf()));
        }
        let index_dir = dir.join("index");
        std::fs::create_dir_all(&index_dir).map_err(|e| Error::io(&index_dir, e))?;
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "snapshot".into());
        let manifest = Manifest::new(&name, &now_rfc3339());
        let store = Store::open_rw(&dir.join("db"), true)?;
        let index = PageIndex::create(&index_dir)?;
        manifest.write(dir)?;
        Self::assemble(dir, store, index, manifest)
    }

    /// Opens the snapshot in `dir` for writing, creating it first when `dir` holds none (no `manifest.json`):
    /// what record, the proxy, the live environment and the reading-model judge all do.
    pub fn open_or_create(dir: &Path) -> Result<SnapshotWriter> {
        if dir.join("manifest.json").exists() {
            Self::open(dir)
        } else {
            Self::create(dir)
        }
    }

    /// Opens an existing snapshot for writing. If an earlier writer crashed before committing its index, the
    /// index is rebuilt from the database first.
    pub fn open(dir: &Path) -> Result<SnapshotWriter> {
        let manifest = Manifest::read(dir)?;
        let store = Store::open_rw(&dir.join("db"), false)?;
        let index = open_or_replace_index(&dir.join("index"))?;
        let mut writer = Self::assemble(dir, store, index, manifest)?;
        if writer.index.commit_payload()?.as_deref() != Some(writer.state.index_payload().as_str()) {
            writer.rebuilt_on_open = Some(writer.rebuild_index()?);
        }
        Ok(writer)
    }

    fn assemble(dir: &Path, store: Store, index: PageIndex, manifest: Manifest) -> Result<SnapshotWriter> {
        let state = State::load(&store)?;
        let index_writer = index.writer()?;
        Ok(SnapshotWriter {
            dir: dir.to_path_buf(),
            store,
            index,
            index_writer,
            manifest,
            state,
            rebuilt_on_open: None,
        })
    }

    /// Adds one page capture (see [`PreparedPage::new`]) and records `provider` (e.g. `warc`) as a source.
    pub fn put_page_capture(
        &mut self,
        capture: PageCapture,
        body: Option<&[u8]>,
        provider: &str,
    ) -> Result<PutOutcome> {
        let prepared = PreparedPage::new(capture, body, None)?;
        self.put_prepared(prepared, provider)
    }

    /// Writes a prepared page capture in one atomic batch and updates the index.
    pub fn put_prepared(&mut self, page: PreparedPage, provider: &str) -> Result<PutOutcome> {
        if self.store.contains(CF_PAGES, &page.key)? {
            return Ok(PutOutcome::Duplicate);
        }
        let siblings = self.store.scan_prefix(CF_PAGES, &record::page_prefix(&page.surt))?;
        let is_latest = siblings.last().is_none_or(|(k, _)| k.as_ref() < page.key.as_slice());
        let mut batch = self.store.batch();
        add_blob(&self.store, &mut self.state, &mut batch, page.blob.as_ref())?;
        batch.put(CF_PAGES, &page.key, &page.encoded);
        batch.put(CF_TEXT, &page.key, &record::encode(&page.text));
        self.state.counts.page_captures += 1;
        self.state.counts.urls += u64::from(siblings.is_empty());
        self.state.saw_capture(&page.capture.captured_at, provider);
        batch.put(CF_META, State::KEY, &self.state.encode());
        self.store.write(batch)?;
        if is_latest {
            self.index_writer.upsert(&page.surt, &page.key, &page.capture.url, &page.text)?;
        }
        Ok(PutOutcome::Added)
    }

    /// Adds one search capture for `request`, with the provider's raw response body.
    pub fn put_search_capture(
        &mut self,
        request: &SearchRequest,
        mut capture: SearchCapture,
        raw: Option<&[u8]>,
    ) -> Result<PutOutcome> {
        capture.request = serde_json::from_str(&request.canonical_json())
            .map_err(|e| Error::InvalidRequest(format!("canonical request: {e}")))?;
        let blob = raw.map(|b| (blake3::hash(b).to_hex().to_string(), store::compress_blob(b), b.len() as u64));
        capture.raw_digest = blob.as_ref().map(|(d, _, _)| d.clone());
        let encoded = record::encode(&capture);
        let key = record::search_key(&request.key(), &capture, &encoded)?;
        self.put_search_raw(&key, &encoded, &capture, blob)
    }

    /// Records the output of the page-reading model for `prompt`, so browse summaries replay exactly.
    pub fn put_reader_output(&mut self, model: &str, prompt: &str, output: &str) -> Result<PutOutcome> {
        self.put_reader_raw(&record::reader_key(model, prompt), output.as_bytes())
    }

    /// Copies a search capture as stored in another snapshot (merge), with its compressed raw response.
    pub fn put_search_raw(
        &mut self,
        key: &[u8],
        encoded: &[u8],
        capture: &SearchCapture,
        blob: Option<(String, Vec<u8>, u64)>,
    ) -> Result<PutOutcome> {
        let seen = (capture.captured_at.as_str(), capture.provider.as_str());
        self.put_capture_raw(CF_SEARCH, key, encoded, blob, seen, |c| c.search_captures += 1)
    }

    /// Adds one HTTP exchange recorded by the proxy under `exchange_key`, with its response body.
    pub fn put_http_capture(
        &mut self,
        exchange_key: &[u8; 32],
        mut capture: HttpCapture,
        body: &[u8],
    ) -> Result<PutOutcome> {
        let blob = (blake3::hash(body).to_hex().to_string(), store::compress_blob(body), body.len() as u64);
        capture.body_digest = Some(blob.0.clone());
        capture.body_len = body.len() as u64;
        let encoded = record::encode(&capture);
        let key = record::http_key(exchange_key, &capture, &encoded)?;
        self.put_http_raw(&key, &encoded, &capture, Some(blob))
    }

    /// Copies an HTTP capture as stored in another snapshot (merge), with its compressed body.
    pub fn put_http_raw(
        &mut self,
        key: &[u8],
        encoded: &[u8],
        capture: &HttpCapture,
        blob: Option<(String, Vec<u8>, u64)>,
    ) -> Result<PutOutcome> {
        self.put_capture_raw(CF_HTTP, key, encoded, blob, (&capture.captured_at, "proxy"), |c| c.http_captures += 1)
    }

    /// Writes an encoded capture under `key` in `cf` with its blob, counting it (`count`) and its time and provider
    /// (`seen`), in one batch with the state; a key already there is a duplicate and writes nothing.
    fn put_capture_raw(
        &mut self,
        cf: &str,
        key: &[u8],
        encoded: &[u8],
        blob: Option<(String, Vec<u8>, u64)>,
        seen: (&str, &str),
        count: fn(&mut Counts),
    ) -> Result<PutOutcome> {
        if self.store.contains(cf, key)? {
            return Ok(PutOutcome::Duplicate);
        }
        let mut batch = self.store.batch();
        add_blob(&self.store, &mut self.state, &mut batch, blob.as_ref())?;
        batch.put(cf, key, encoded);
        count(&mut self.state.counts);
        self.state.saw_capture(seen.0, seen.1);
        batch.put(CF_META, State::KEY, &self.state.encode());
        self.store.write(batch)?;
        Ok(PutOutcome::Added)
    }

    /// Recorded HTTP exchanges under `exchange_key`, oldest first.
    pub fn http_captures(&self, exchange_key: &[u8; 32]) -> Result<Vec<HttpCapture>> {
        super::handle::http_captures(&self.store, exchange_key)
    }

    /// Copies a reader output under its key (merge).
    pub fn put_reader_raw(&mut self, key: &[u8], output: &[u8]) -> Result<PutOutcome> {
        if self.store.contains(CF_READER, key)? {
            return Ok(PutOutcome::Duplicate);
        }
        let mut batch = self.store.batch();
        batch.put(CF_READER, key, output);
        self.state.counts.reader_outputs += 1;
        batch.put(CF_META, State::KEY, &self.state.encode());
        self.store.write(batch)?;
        Ok(PutOutcome::Added)
    }

    /// Adds source names to the snapshot's provider list (merge).
    pub fn add_providers(&mut self, providers: &std::collections::BTreeSet<String>) {
        self.state.providers.extend(providers.iter().cloned());
    }

    /// Whether the snapshot already has a capture of `url` (any time).
    pub fn has_page(&self, url: &str) -> Result<bool> {
        let surt = super::canon::surt_key(url)?;
        Ok(!self.store.scan_prefix(CF_PAGES, &record::page_prefix(&surt))?.is_empty())
    }

    /// A stored blob, decompressed (importers use it to resolve WARC revisit records).
    pub fn blob(&self, digest_hex: &str) -> Result<Option<Vec<u8>>> {
        self.store.get_blob(digest_hex)
    }

    /// Page captures of `url`, oldest first.
    pub fn page_captures(&self, url: &str) -> Result<Vec<(Vec<u8>, PageCapture)>> {
        super::handle::captures_of(&self.store, url)
    }

    /// The capture of `url` replay would serve (the latest, or the closest to `at`) with its text, so a recording
    /// answers what it already holds exactly as its replay will.
    pub fn get_page(&self, url: &str, at: Option<&str>) -> Result<Option<super::PageView>> {
        super::handle::page_view(&self.store, url, at)
    }

    /// The recorded reader output for `(model, prompt)`.
    pub fn reader_output(&self, model: &str, prompt: &str) -> Result<Option<String>> {
        super::handle::reader_output(&self.store, model, prompt)
    }

    /// Recorded answers to `request`, oldest first (the recorder reuses them when it resumes).
    pub fn search_captures(&self, request: &SearchRequest) -> Result<Vec<SearchCapture>> {
        let rows = self.store.scan_prefix(CF_SEARCH, &request.key())?;
        rows.iter().map(|(k, v)| record::decode("search capture", k, v)).collect()
    }

    /// Stores a bookkeeping value in `meta` (e.g. the recorder's resume cursor). `state` is reserved.
    pub fn put_meta(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        if key == State::KEY {
            return Err(Error::Config("the meta key `state` is reserved".into()));
        }
        let mut batch = self.store.batch();
        batch.put(CF_META, key, value);
        self.store.write(batch)
    }

    /// A bookkeeping value from `meta`.
    pub fn get_meta(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.store.get(CF_META, key)
    }

    /// Number of `meta` keys starting with `prefix`.
    pub fn count_meta(&self, prefix: &[u8]) -> Result<u64> {
        Ok(self.store.scan_prefix(CF_META, prefix)?.len() as u64)
    }

    /// Makes everything written so far searchable and durable in the index.
    pub fn commit(&mut self) -> Result<()> {
        self.index_writer.commit(&self.state.index_payload())
    }

    /// Commits, flushes and writes `manifest.json` with fresh counts and content digest.
    pub fn finish(mut self) -> Result<Manifest> {
        self.commit()?;
        self.store.flush()?;
        self.manifest.counts = self.state.counts.clone();
        self.manifest.providers = self.state.providers.clone();
        self.manifest.first_capture = self.state.first_capture.clone();
        self.manifest.last_capture = self.state.last_capture.clone();
        self.manifest.content_digest = digest::content_digest(&self.store)?;
        self.manifest.updated_at = now_rfc3339();
        self.manifest.write(&self.dir)?;
        self.index_writer.finish()?;
        Ok(self.manifest)
    }

    /// Rebuilds the tantivy index from the database (after a crash, or on request).
    pub fn rebuild_index(&mut self) -> Result<u64> {
        let n = rebuild::reindex(&self.store, &self.index_writer)?;
        self.commit()?;
        self.index.reload()?;
        Ok(n)
    }

    /// Replaces the index with one built from the database by [`Ranking::CURRENT`] (an index keeps the ranking
    /// it was made with until then, so old snapshots replay as recorded); returns the number of pages indexed.
    /// A crash midway leaves an index that `open` rebuilds.
    pub fn reindex(&mut self) -> Result<u64> {
        let index_dir = self.dir.join("index");
        // Let go of the old index first (its writer's lock file lives in the folder about to be removed).
        let stand_in = PageIndex::in_memory()?;
        self.index_writer = stand_in.writer()?;
        self.index = stand_in;
        std::fs::remove_dir_all(&index_dir).map_err(|e| Error::io(&index_dir, e))?;
        std::fs::create_dir_all(&index_dir).map_err(|e| Error::io(&index_dir, e))?;
        self.index = PageIndex::create(&index_dir)?;
        self.index_writer = self.index.writer()?;
        self.rebuild_index()
    }

    /// The ranking rule of the snapshot's index.
    pub fn ranking(&self) -> Ranking {
        self.index.ranking()
    }

    /// Merges the index into one segment and compacts the database into one sorted run per family (after the last
    /// import, before serving); returns the index's segment count before.
    pub fn optimize_index(&mut self) -> Result<usize> {
        self.commit()?;
        let before = self.index_writer.merge_all(&self.index)?;
        self.index.reload()?;
        self.store.compact();
        Ok(before)
    }

    /// How many documents `open` indexed when it had to rebuild a stale index (`None` when it was current).
    pub fn rebuilt_on_open(&self) -> Option<u64> {
        self.rebuilt_on_open
    }

    /// The snapshot folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Opens the index; one that cannot be opened (a damaged segment or meta file) is replaced by an empty one, which
/// `open` then rebuilds from the database: the index is derived data. Only called with the database lock held,
/// so no other writer is using it.
fn open_or_replace_index(index_dir: &Path) -> Result<PageIndex> {
    match PageIndex::open(index_dir) {
        Ok(index) => Ok(index),
        Err(_) => {
            std::fs::remove_dir_all(index_dir).map_err(|e| Error::io(index_dir, e))?;
            std::fs::create_dir_all(index_dir).map_err(|e| Error::io(index_dir, e))?;
            PageIndex::create(index_dir)
        }
    }
}

/// Adds a blob to `batch` unless the store has it already (identical bodies are stored once).
fn add_blob(
    store: &Store,
    state: &mut State,
    batch: &mut store::Batch<'_>,
    blob: Option<&(String, Vec<u8>, u64)>,
) -> Result<()> {
    if let Some((digest, z, raw_len)) = blob {
        let key = store::digest_key(digest)?;
        if !store.contains(CF_BLOBS, &key)? {
            batch.put(CF_BLOBS, &key, z);
            state.counts.blobs += 1;
            state.counts.blob_bytes += raw_len;
        }
    }
    Ok(())
}
