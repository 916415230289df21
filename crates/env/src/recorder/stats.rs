//! Counters the recorder keeps while it runs and the summary it prints at the end.
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

/// What a recording did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RecordSummary {
    /// Questions in the query file.
    pub queries: u64,
    /// Queries finished by an earlier run (skipped on resume).
    pub resumed: u64,
    /// Queries finished by this run.
    pub recorded: u64,
    /// Queries not started because the run was interrupted.
    pub not_started: u64,
    /// Search calls made, and how many gave an error capture (by class).
    pub searches: u64,
    /// Searches answered from a capture an earlier run made (resume after a crash mid-query).
    pub searches_reused: u64,
    pub search_failures: BTreeMap<String, u64>,
    /// Searches answered only in part (SearXNG engines that did not answer), and the latest such reason.
    pub searches_partial: u64,
    pub partial_example: Option<String>,
    /// Page fetches made; pages skipped because the snapshot (or this run) has them already.
    pub pages: u64,
    pub pages_present: u64,
    /// Pages that did not give a 2xx answer, by class (`http 5xx`, `timeout`, `blocked`, `robots`, ...).
    pub page_failures: BTreeMap<String, u64>,
    /// Result URLs that were not URLs at all (nothing to record).
    pub invalid_urls: u64,
    /// Body bytes recorded.
    pub bytes: u64,
    /// Pages cut at the size limit.
    pub truncated: u64,
    #[serde(skip)]
    pub elapsed: Duration,
    pub interrupted: bool,
}

impl RecordSummary {
    /// Failed page fetches in all.
    pub fn pages_failed(&self) -> u64 {
        self.page_failures.values().sum()
    }
}

fn classes(map: &BTreeMap<String, u64>) -> String {
    if map.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = map.iter().map(|(k, v)| format!("{v} {k}")).collect();
    format!(" ({})", parts.join(", "))
}

impl fmt::Display for RecordSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        writeln!(
            f,
            "queries: {} recorded, {} already done, {} not started, of {}",
            self.recorded, self.resumed, self.not_started, self.queries
        )?;
        let failed: u64 = self.search_failures.values().sum();
        write!(
            f,
            "searches: {} made, {} reused from the snapshot, {failed} failed{}",
            self.searches,
            self.searches_reused,
            classes(&self.search_failures)
        )?;
        match (&self.partial_example, self.searches_partial) {
            (Some(why), n) if n > 0 => writeln!(f, ", {n} answered in part (latest: {why})")?,
            _ => writeln!(f)?,
        }
        writeln!(
            f,
            "pages: {} fetched ({:.0}/s), {} already present, {} failed{}, {} truncated, {} invalid URLs",
            self.pages,
            self.pages as f64 / secs,
            self.pages_present,
            self.pages_failed(),
            classes(&self.page_failures),
            self.truncated,
            self.invalid_urls
        )?;
        write!(f, "bytes: {:.1} MB in {:.1} s", self.bytes as f64 / 1e6, secs)?;
        if self.interrupted {
            write!(f, "\ninterrupted: run the same command again to resume")?;
        }
        Ok(())
    }
}

/// Shared counters, updated by the recording tasks.
#[derive(Default)]
pub struct Counters(Mutex<RecordSummary>);

impl Counters {
    /// Applies `f` to the counters.
    pub fn update(&self, f: impl FnOnce(&mut RecordSummary)) {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// A copy of the counters now.
    pub fn snapshot(&self) -> RecordSummary {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
