//! The recorder: question file → search provider → top result pages → snapshot. Bounded concurrency, a
//! progress bar, and resumable: a query is marked done in `meta` only after its search and pages are written,
//! searches already recorded are reused and pages already captured are not fetched again, so a rerun after
//! Ctrl-C or a crash finishes the job without recording anything twice.
mod stats;

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use stats::Counters;
pub use stats::RecordSummary;

use crate::data::Question;
use crate::error::{Error, Result};
use crate::snapshot::{surt_key, PreparedPage, SearchRequest, SnapshotWriter};
use crate::web::{FetchConfig, Fetcher, Searcher};

/// Prefix of the `meta` keys that mark finished queries (the resume cursor); the rest is the request key in hex.
pub const DONE_PREFIX: &[u8] = b"recorder/done/";

/// How to record.
#[derive(Debug, Clone)]
pub struct RecordConfig {
    /// Result pages fetched per query (the top ones).
    pub pages_per_query: usize,
    /// Queries in flight, and page fetches in flight, at most.
    pub concurrency: usize,
    /// Results asked of the provider per query.
    pub num_results: u32,
    pub fetch: FetchConfig,
    /// Draw a progress bar (stderr, only on a terminal).
    pub progress: bool,
    /// Stop cleanly on the first Ctrl-C (the second one exits at once).
    pub handle_ctrl_c: bool,
}

impl Default for RecordConfig {
    fn default() -> Self {
        RecordConfig {
            pages_per_query: 5,
            concurrency: 32,
            num_results: 10,
            fetch: FetchConfig::default(),
            progress: true,
            handle_ctrl_c: true,
        }
    }
}

/// Records `questions` into the snapshot at `dir` (created when missing, resumed when present).
pub fn record(dir: &Path, questions: &[Question], searcher: Searcher, cfg: RecordConfig) -> Result<RecordSummary> {
    if cfg.concurrency == 0 {
        return Err(Error::Config("--concurrency must be at least 1".into()));
    }
    let writer = SnapshotWriter::open_or_create(dir)?;
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| Error::io("tokio runtime", e))?;
    let recorder = Arc::new(Recorder {
        writer: Arc::new(Mutex::new(Some(writer))),
        fetcher: Fetcher::new(cfg.fetch.clone())?,
        searcher,
        page_slots: Arc::new(Semaphore::new(cfg.concurrency)),
        claimed: Mutex::new(HashSet::new()),
        counters: Counters::default(),
        bar: if cfg.progress { crate::progress::bar(questions.len() as u64, "queries") } else { ProgressBar::hidden() },
        cfg,
    });
    let started = Instant::now();
    let result = runtime.block_on(recorder.clone().run_all(questions));
    recorder.bar.finish_and_clear();
    let finished = recorder.with_writer_sync(|w| w.commit());
    let writer = recorder.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
    result?;
    finished?;
    writer.ok_or_else(|| Error::internal("snapshot writer already closed"))?.finish()?;
    let mut summary = recorder.counters.snapshot();
    summary.queries = questions.len() as u64;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

struct Recorder {
    writer: Arc<Mutex<Option<SnapshotWriter>>>,
    searcher: Searcher,
    fetcher: Fetcher,
    page_slots: Arc<Semaphore>,
    /// SURT keys of pages this run has taken on (fetched or fetching), so each URL is fetched once.
    claimed: Mutex<HashSet<String>>,
    counters: Counters,
    bar: ProgressBar,
    cfg: RecordConfig,
}

impl Recorder {
    /// Runs `f` on the writer in the blocking pool (RocksDB and tantivy are synchronous).
    async fn with_writer<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut SnapshotWriter) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let writer = self.writer.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let mut guard = writer.lock().unwrap_or_else(|p| p.into_inner());
            f(guard.as_mut().ok_or_else(|| Error::internal("snapshot writer already closed"))?)
        });
        joined.await.map_err(|e| Error::internal(format!("the snapshot writer task died: {e}")))?
    }

    fn with_writer_sync<T>(&self, f: impl FnOnce(&mut SnapshotWriter) -> Result<T>) -> Result<T> {
        let mut guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        f(guard.as_mut().ok_or_else(|| Error::internal("snapshot writer already closed"))?)
    }

    /// Launches every query with at most `concurrency` in flight; commits the index every few seconds.
    async fn run_all(self: Arc<Self>, questions: &[Question]) -> Result<()> {
        let query_slots = Arc::new(Semaphore::new(self.cfg.concurrency));
        let mut tasks = JoinSet::new();
        let mut interrupted = std::pin::pin!(interrupt(self.cfg.handle_ctrl_c));
        let mut last_commit = Instant::now();
        for (n, q) in questions.iter().enumerate() {
            let permit = tokio::select! {
                permit = query_slots.clone().acquire_owned() => permit.expect("never closed"),
                _ = &mut interrupted => {
                    let left = (questions.len() - n) as u64;
                    self.counters.update(|c| { c.interrupted = true; c.not_started = left; });
                    break;
                }
            };
            while let Some(done) = tasks.try_join_next() {
                done.map_err(|e| Error::internal(format!("query task failed: {e}")))??;
            }
            if last_commit.elapsed() > Duration::from_secs(2) {
                self.with_writer(|w| w.commit()).await?;
                last_commit = Instant::now();
            }
            let me = self.clone();
            let question = q.question.clone();
            tasks.spawn(async move {
                let result = me.run_query(&question).await;
                me.bar.inc(1);
                drop(permit);
                result
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.map_err(|e| Error::internal(format!("query task failed: {e}")))??;
        }
        Ok(())
    }

    /// One query: search (or reuse a recorded search), record its top pages, mark it done.
    async fn run_query(self: &Arc<Self>, question: &str) -> Result<()> {
        let mut req = SearchRequest::new(question);
        req.num = self.cfg.num_results;
        let done_key = [DONE_PREFIX, hex::encode(req.key()).as_bytes()].concat();
        let key = done_key.clone();
        if self.with_writer(move |w| w.get_meta(&key)).await?.is_some() {
            self.counters.update(|c| c.resumed += 1);
            return Ok(());
        }
        let results = self.search(&req).await?;
        let mut pages = JoinSet::new();
        for result in results.into_iter().take(self.cfg.pages_per_query) {
            let me = self.clone();
            pages.spawn(async move { me.record_page(result.url).await });
        }
        while let Some(done) = pages.join_next().await {
            done.map_err(|e| Error::internal(format!("page task failed: {e}")))??;
        }
        self.with_writer(move |w| w.put_meta(&done_key, b"1")).await?;
        self.counters.update(|c| c.recorded += 1);
        Ok(())
    }

    /// The results for `req`: from an earlier successful capture, else from the provider (and recorded).
    async fn search(&self, req: &SearchRequest) -> Result<Vec<crate::snapshot::SearchResult>> {
        let lookup = req.clone();
        let earlier = self.with_writer(move |w| w.search_captures(&lookup)).await?;
        if let Some(capture) = earlier.into_iter().rev().find(|c| c.error.is_none()) {
            self.counters.update(|c| c.searches_reused += 1);
            return Ok(capture.results);
        }
        let outcome = self.searcher.search(req).await;
        let results = outcome.capture.results.clone();
        self.counters.update(|c| {
            c.searches += 1;
            if let Some(kind) = &outcome.failure {
                *c.search_failures.entry(kind.clone()).or_default() += 1;
            }
            if let Some(why) = &outcome.partial {
                c.searches_partial += 1;
                c.partial_example = Some(why.clone());
            }
        });
        let req = req.clone();
        self.with_writer(move |w| w.put_search_capture(&req, outcome.capture, outcome.raw.as_deref())).await?;
        Ok(results)
    }

    /// Fetches and stores one page unless this run or an earlier one has it.
    async fn record_page(self: Arc<Self>, url: String) -> Result<()> {
        let Ok(surt) = surt_key(&url) else {
            self.counters.update(|c| c.invalid_urls += 1);
            return Ok(());
        };
        let fresh = self.claimed.lock().unwrap_or_else(|p| p.into_inner()).insert(surt);
        let lookup = url.clone();
        if !fresh || self.with_writer(move |w| w.has_page(&lookup)).await? {
            self.counters.update(|c| c.pages_present += 1);
            return Ok(());
        }
        let _slot = self.page_slots.clone().acquire_owned().await.expect("never closed");
        let Ok(fetched) = self.fetcher.fetch(&url).await else {
            self.counters.update(|c| c.invalid_urls += 1);
            return Ok(());
        };
        let (failure, truncated) = (fetched.failure.clone(), fetched.capture.truncated);
        let prepared =
            tokio::task::spawn_blocking(move || PreparedPage::new(fetched.capture, fetched.body.as_deref(), None))
                .await
                .map_err(|e| Error::internal(format!("extraction task failed: {e}")))??;
        let bytes = prepared.capture.body_len;
        self.with_writer(move |w| w.put_prepared(prepared, "web")).await?;
        self.counters.update(|c| {
            c.pages += 1;
            c.bytes += bytes;
            c.truncated += u64::from(truncated);
            if let Some(kind) = failure {
                *c.page_failures.entry(kind).or_default() += 1;
            }
        });
        let now = self.counters.snapshot();
        self.bar.set_message(format!("{} pages, {} failed", now.pages, now.pages_failed()));
        Ok(())
    }
}

/// Resolves on the first Ctrl-C (never, when not handling it); a second Ctrl-C exits the process at once.
async fn interrupt(enabled: bool) {
    if !enabled || tokio::signal::ctrl_c().await.is_err() {
        return std::future::pending().await;
    }
    eprintln!("interrupted: finishing queries in flight (Ctrl-C again to stop now; rerun to resume)");
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });
}
