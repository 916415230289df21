//! The replay log: one entry per tool call (tool, request, where the answer came from, digest of the returned
//! bytes), per episode, and a run digest over all of them that does not depend on the order concurrent calls
//! finished in - two runs are identical iff their digests are. The digest covers what the agent was given, not
//! where it came from: a recording run (answers `live`) and its replay (answers `exact`) have the same digest.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A recorded capture of exactly this request.
    Exact,
    /// Not recorded; answered by BM25 over the snapshot's pages.
    Bm25,
    /// Not recorded; answered with the fixed "not in snapshot" observation (or refused by a tool rule).
    Miss,
    /// From the live web (live and record modes).
    Live,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Exact => "exact",
            Source::Bm25 => "bm25",
            Source::Miss => "miss",
            Source::Live => "live",
        }
    }

    /// The source named by [`Source::as_str`] (a server's `x-webtape-source` header).
    pub fn parse(name: &str) -> Option<Source> {
        [Source::Exact, Source::Bm25, Source::Miss, Source::Live].into_iter().find(|s| s.as_str() == name)
    }
}

/// One tool call as logged.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogEntry {
    /// `search`, `browse` or `reader`.
    pub tool: String,
    /// The request in canonical text (query, URL + page).
    pub request: String,
    pub source: Source,
    /// blake3 (hex) of the bytes returned (without the source: see [`LogEntry::new`]).
    pub digest: String,
}

impl LogEntry {
    /// An entry for `returned`, the bytes of the answer without its source, so that the same answer replayed
    /// from a recording digests like the live answer it recorded.
    pub fn new(tool: &str, request: impl Into<String>, source: Source, returned: &[u8]) -> LogEntry {
        LogEntry {
            tool: tool.to_string(),
            request: request.into(),
            source,
            digest: blake3::hash(returned).to_hex().to_string(),
        }
    }

    fn hash(&self) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        for part in [&self.tool, &self.request, &self.digest] {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        *h.finalize().as_bytes()
    }
}

/// The bytes a tool answer is logged by: its JSON without the `source` field (where it came from is counted
/// apart, not digested).
pub(crate) fn answer_bytes<T: serde::Serialize>(answer: &T) -> crate::Result<Vec<u8>> {
    let mut value = serde_json::to_value(answer).map_err(|e| crate::Error::json("tool result", e))?;
    if let Some(map) = value.as_object_mut() {
        map.remove("source");
    }
    Ok(value.to_string().into_bytes())
}

/// The multiset sum a run digest is computed from: entry hashes summed lane-wise (mod 2^64) and the entry count.
/// Sums of disjoint sets of calls add up, so replicas' parts [`DigestParts::combine`] into the digest one server
/// would have given for all the calls, in any order; a later state minus an earlier one ([`DigestParts::since`])
/// is the part of the calls made in between.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DigestParts {
    pub lanes: [u64; 4],
    pub entries: u64,
}

impl DigestParts {
    /// The run digest of these parts (`blake3:` + hex).
    pub fn digest(&self) -> String {
        let mut h = blake3::Hasher::new();
        h.update(b"webtape-run-v1");
        for lane in self.lanes {
            h.update(&lane.to_le_bytes());
        }
        h.update(&self.entries.to_le_bytes());
        format!("blake3:{}", h.finalize().to_hex())
    }

    /// The parts of all these calls together.
    pub fn combine<'a>(parts: impl IntoIterator<Item = &'a DigestParts>) -> DigestParts {
        parts.into_iter().fold(DigestParts::default(), |mut acc, p| {
            for (a, b) in acc.lanes.iter_mut().zip(p.lanes) {
                *a = a.wrapping_add(b);
            }
            acc.entries += p.entries;
            acc
        })
    }

    /// The parts of the calls made after `earlier` (a state of the same log).
    pub fn since(&self, earlier: &DigestParts) -> DigestParts {
        let mut out = *self;
        for (a, b) in out.lanes.iter_mut().zip(earlier.lanes) {
            *a = a.wrapping_sub(b);
        }
        out.entries = self.entries.saturating_sub(earlier.entries);
        out
    }

    /// `{"format": "webtape-run-parts-v1", "lanes": [4 × 16 hex digits], "entries", "digest"}`.
    pub fn to_json(&self) -> serde_json::Value {
        let lanes: Vec<String> = self.lanes.iter().map(|l| format!("{l:016x}")).collect();
        serde_json::json!({"format": PARTS_FORMAT, "lanes": lanes, "entries": self.entries, "digest": self.digest()})
    }

    /// Reads [`DigestParts::to_json`]'s shape (its `digest`, when present, must agree).
    pub fn from_json(v: &serde_json::Value) -> crate::Result<DigestParts> {
        let bad = |why: &str| crate::Error::bad_input("digest parts", why.to_string());
        if v.get("format").and_then(|f| f.as_str()) != Some(PARTS_FORMAT) {
            return Err(bad(&format!("`format` must be {PARTS_FORMAT:?}")));
        }
        let lanes = v
            .get("lanes")
            .and_then(|l| l.as_array())
            .filter(|l| l.len() == 4)
            .ok_or_else(|| bad("`lanes` must be 4 hex strings"))?;
        let mut out = DigestParts::default();
        for (lane, text) in out.lanes.iter_mut().zip(lanes) {
            let hex = text.as_str().ok_or_else(|| bad("`lanes` must be 4 hex strings"))?;
            *lane = u64::from_str_radix(hex, 16).map_err(|_| bad(&format!("lane {hex:?} is not 16 hex digits")))?;
        }
        out.entries = v.get("entries").and_then(|e| e.as_u64()).ok_or_else(|| bad("`entries` must be a count"))?;
        match v.get("digest").and_then(|d| d.as_str()) {
            Some(d) if d != out.digest() => Err(bad(&format!("`digest` {d} does not match its lanes and entries"))),
            _ => Ok(out),
        }
    }
}

const PARTS_FORMAT: &str = "webtape-run-parts-v1";

/// Counts by source, and the order-independent run digest (a sum of entry hashes, lane-wise mod 2^64).
#[derive(Default)]
pub struct RunLog {
    lanes: Mutex<[u64; 4]>,
    entries: AtomicU64,
    by_source: [AtomicU64; 4],
}

/// Counts of a run by source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Coverage {
    pub exact: u64,
    pub bm25: u64,
    pub miss: u64,
    pub live: u64,
}

impl Coverage {
    /// The counts `count` gives for each source.
    pub fn by(count: impl Fn(Source) -> u64) -> Coverage {
        Coverage {
            exact: count(Source::Exact),
            bm25: count(Source::Bm25),
            miss: count(Source::Miss),
            live: count(Source::Live),
        }
    }

    /// Share of answers that were exact recorded hits (1.0 when nothing was asked).
    pub fn exact_share(&self) -> f64 {
        let total = self.exact + self.bm25 + self.miss;
        if total == 0 {
            1.0
        } else {
            self.exact as f64 / total as f64
        }
    }
}

impl RunLog {
    /// Adds an entry to the run digest and counts.
    pub fn add(&self, entry: &LogEntry) {
        let h = entry.hash();
        let mut lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
        for (i, lane) in lanes.iter_mut().enumerate() {
            let part = u64::from_le_bytes(h[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
            *lane = lane.wrapping_add(part);
        }
        self.entries.fetch_add(1, Ordering::Relaxed);
        self.by_source[entry.source as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The run digest: equal for two runs that logged the same entries, in any order.
    pub fn digest(&self) -> String {
        self.parts().digest()
    }

    /// What the digest is made of; parts of several logs (servers) combine into the digest of all their calls.
    pub fn parts(&self) -> DigestParts {
        let lanes = *self.lanes.lock().unwrap_or_else(|p| p.into_inner());
        DigestParts { lanes, entries: self.entries.load(Ordering::Relaxed) }
    }

    /// Tool calls logged.
    pub fn entries(&self) -> u64 {
        self.entries.load(Ordering::Relaxed)
    }

    pub fn coverage(&self) -> Coverage {
        Coverage::by(|s| self.by_source[s as usize].load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_of_disjoint_calls_combine_into_one_digest_and_round_trip() {
        let entry = |i: usize| LogEntry::new("search", format!("q{i}"), Source::Exact, format!("a{i}").as_bytes());
        let (one, a, b) = (RunLog::default(), RunLog::default(), RunLog::default());
        for i in 0..10 {
            one.add(&entry(i));
            if i % 3 == 0 {
                a.add(&entry(9 - i))
            } else {
                b.add(&entry(9 - i))
            }
        }
        let combined = DigestParts::combine(&[a.parts(), b.parts()]);
        assert_eq!(combined.digest(), one.digest(), "two servers' parts give one server's digest");
        assert_eq!(DigestParts::from_json(&combined.to_json()).unwrap(), combined);
        let mark = one.parts();
        one.add(&entry(42));
        let solo = RunLog::default();
        solo.add(&entry(42));
        assert_eq!(one.parts().since(&mark), solo.parts(), "the calls after a mark");
        let mut tampered = combined.to_json();
        tampered["entries"] = serde_json::json!(3);
        assert!(DigestParts::from_json(&tampered).unwrap_err().to_string().contains("does not match"));
    }

    #[test]
    fn digest_ignores_order_but_not_content() {
        let a = LogEntry::new("search", "q1", Source::Exact, b"r1");
        let b = LogEntry::new("browse", "u1", Source::Bm25, b"r2");
        let (x, y, z) = (RunLog::default(), RunLog::default(), RunLog::default());
        x.add(&a);
        x.add(&b);
        y.add(&b);
        y.add(&a);
        z.add(&a);
        z.add(&LogEntry::new("browse", "u1", Source::Bm25, b"r3"));
        assert_eq!(x.digest(), y.digest());
        assert_ne!(x.digest(), z.digest());
        let twice = RunLog::default();
        twice.add(&a);
        twice.add(&a);
        assert_ne!(twice.digest(), RunLog::default().digest(), "repeats count");
        assert_eq!(x.coverage(), Coverage { exact: 1, bm25: 1, miss: 0, live: 0 });
        assert_eq!(x.coverage().exact_share(), 0.5);
    }

    #[test]
    fn a_recorded_answer_digests_like_its_replay() {
        let (live, replayed) = (RunLog::default(), RunLog::default());
        live.add(&LogEntry::new("search", "q1", Source::Live, b"r1"));
        replayed.add(&LogEntry::new("search", "q1", Source::Exact, b"r1"));
        assert_eq!(live.digest(), replayed.digest());
        assert_ne!(live.coverage(), replayed.coverage(), "the counts still tell where answers came from");
    }
}
