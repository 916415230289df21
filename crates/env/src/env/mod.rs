//! The environment the agent acts in: `web_search` and `browse_webpage` over a snapshot (`replay`, byte for byte,
//! no network, no clock), the live web (`live`), or the live web while recording everything (`record`). One
//! [`Mode`] switches. DeepResearcher's tool rules are the defaults; every call is logged for the run digest.
mod browse;
mod log;
pub mod observe;
mod search;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Mutex;

pub use browse::{BrowseResult, PageChunk};
pub use log::{Coverage, DigestParts, LogEntry, RunLog, Source};
pub use search::{QueryResult, SearchItem};

use crate::error::{Error, Result};
use crate::snapshot::{Snapshot, SnapshotWriter};
use crate::web::{Fetcher, ReaderClient, Searcher};

/// Where answers come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// From the snapshot only; never touches the network or the clock.
    Replay,
    /// From the live web; nothing recorded.
    Live,
    /// From the live web, and every capture is written to the snapshot.
    Record,
}

/// What replay answers when a search was never recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MissPolicy {
    /// BM25 over the snapshot's pages, shaped like search results.
    Bm25,
    /// A fixed "not in snapshot" observation.
    Strict,
}

/// Tool rules and limits (DeepResearcher's by default).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnvConfig {
    pub mode: Mode,
    pub miss: MissPolicy,
    /// Replay the capture closest to this time (RFC 3339 or YYYYMMDDhhmmss) instead of the first.
    pub at: Option<String>,
    /// Queries per search call; extra ones are dropped (DeepResearcher: 3).
    pub max_queries: usize,
    /// Results returned per query.
    pub top_k: usize,
    /// Results asked of the provider (and part of the recorded request key).
    pub search_num: u32,
    /// Browse only URLs from the episode's latest search results.
    pub browse_latest_only: bool,
    /// Characters per page chunk (DeepResearcher: 40,960).
    pub chunk_chars: usize,
    /// Chunks read per browsed URL.
    pub max_chunks: usize,
    /// URLs per browse call.
    pub max_urls: usize,
    /// Characters of raw chunk text returned when the reading model's output is not recorded.
    pub reader_fallback_chars: usize,
    /// BM25 fallback snippet length.
    pub snippet_chars: usize,
}

impl Default for EnvConfig {
    fn default() -> Self {
        EnvConfig {
            mode: Mode::Replay,
            miss: MissPolicy::Bm25,
            at: None,
            max_queries: 3,
            top_k: 10,
            search_num: 10,
            browse_latest_only: true,
            chunk_chars: 40_960,
            max_chunks: 1,
            max_urls: 3,
            reader_fallback_chars: 4_000,
            snippet_chars: 200,
        }
    }
}

impl EnvConfig {
    /// Rejects zero sizes.
    pub fn validate(&self) -> Result<()> {
        let sizes = [
            ("max_queries", self.max_queries),
            ("top_k", self.top_k),
            ("search_num", self.search_num as usize),
            ("chunk_chars", self.chunk_chars),
            ("max_chunks", self.max_chunks),
            ("max_urls", self.max_urls),
        ];
        for (name, value) in sizes {
            if value == 0 {
                return Err(Error::Config(format!("env.{name} must be at least 1")));
            }
        }
        if let Some(at) = &self.at {
            crate::snapshot::when::parse_at(at)?;
        }
        Ok(())
    }
}

/// One agent episode: the URLs its latest search returned (browse is limited to them) and its log.
#[derive(Debug, Clone, Default)]
pub struct Episode {
    pub allowed_urls: BTreeSet<String>,
    pub log: Vec<LogEntry>,
}

/// The live-web parts used by `live` and `record` modes.
pub struct LiveWeb {
    pub searcher: Searcher,
    pub fetcher: Fetcher,
}

/// The environment: a snapshot and/or the live web, a reading model, the tool rules and the run log.
pub struct Environment {
    cfg: EnvConfig,
    snapshot: Option<Snapshot>,
    /// The recording (record mode); taken out by [`Environment::close`].
    writer: Mutex<Option<SnapshotWriter>>,
    live: Option<LiveWeb>,
    reader: Option<ReaderClient>,
    /// Model id used for reader lookups in replay (the recording's `--reader-model`).
    reader_model: Option<String>,
    log: RunLog,
}

impl Environment {
    /// Replay from the snapshot at `dir` (opened read-only). `reader_model` names the reading model whose recorded
    /// outputs browse serves (`None`: browse returns page text).
    pub fn replay(dir: &Path, cfg: EnvConfig, reader_model: Option<String>) -> Result<Environment> {
        cfg.validate()?;
        let snapshot = Snapshot::open(dir)?;
        let cfg = EnvConfig { mode: Mode::Replay, ..cfg };
        Ok(Environment {
            cfg,
            snapshot: Some(snapshot),
            writer: Mutex::new(None),
            live: None,
            reader: None,
            reader_model,
            log: RunLog::default(),
        })
    }

    /// Live web; with `record_into`, every capture is written to that snapshot (created if missing).
    pub fn live(
        live: LiveWeb,
        cfg: EnvConfig,
        reader: Option<ReaderClient>,
        record_into: Option<&Path>,
    ) -> Result<Environment> {
        cfg.validate()?;
        let writer = record_into.map(SnapshotWriter::open_or_create).transpose()?;
        let mode = if writer.is_some() { Mode::Record } else { Mode::Live };
        let reader_model = reader.as_ref().map(|r| r.model().to_string());
        let cfg = EnvConfig { mode, ..cfg };
        Ok(Environment {
            cfg,
            snapshot: None,
            writer: Mutex::new(writer),
            live: Some(live),
            reader,
            reader_model,
            log: RunLog::default(),
        })
    }

    pub fn config(&self) -> &EnvConfig {
        &self.cfg
    }

    pub fn mode(&self) -> Mode {
        self.cfg.mode
    }

    /// The run log (digest and coverage).
    pub fn run_log(&self) -> &RunLog {
        &self.log
    }

    /// The replayed snapshot's manifest (none in live and record modes).
    pub fn manifest(&self) -> Option<&crate::snapshot::Manifest> {
        self.snapshot.as_ref().map(|s| s.manifest())
    }

    /// The snapshot's date (its first capture, else its creation), the "today" of replayed prompts.
    pub fn snapshot_date(&self) -> Option<String> {
        let m = self.snapshot.as_ref()?.manifest();
        Some(m.first_capture.clone().unwrap_or_else(|| m.created_at.clone()).chars().take(10).collect())
    }

    /// Makes what was recorded so far searchable and durable (record mode); a no-op otherwise.
    pub fn commit(&self) -> Result<()> {
        self.record(|w| w.commit()).map(|_| ())
    }

    /// Finishes the recording (record mode: commit, flush, manifest). Later record-mode calls fail.
    pub fn close(&self) -> Result<()> {
        let writer = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(writer) = writer {
            writer.finish()?;
        }
        Ok(())
    }

    fn record<T>(&self, f: impl FnOnce(&mut SnapshotWriter) -> Result<T>) -> Result<Option<T>> {
        if self.cfg.mode != Mode::Record {
            return Ok(None);
        }
        let mut guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let writer = guard.as_mut().ok_or_else(|| Error::internal("the recording was already closed"))?;
        f(writer).map(Some)
    }

    fn logged(&self, episode: Option<&mut Episode>, entry: LogEntry) {
        self.log.add(&entry);
        if let Some(ep) = episode {
            ep.log.push(entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::EnvConfig;

    #[test]
    fn an_unparsable_at_is_refused_before_any_search() {
        let cfg = EnvConfig { at: Some("last tuesday".into()), ..EnvConfig::default() };
        assert!(cfg.validate().unwrap_err().to_string().contains("--at \"last tuesday\""));
        assert!(EnvConfig { at: Some("20260101120000".into()), ..EnvConfig::default() }.validate().is_ok());
    }
}
