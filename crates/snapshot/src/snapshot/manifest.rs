//! `manifest.json`: the human- and tool-readable summary at the top of a snapshot folder, and the format
//! version check made on every open.
use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The snapshot format this build writes and the newest it can read.
pub const FORMAT_VERSION: u32 = 1;
/// The `format` field that marks a webtape snapshot.
pub const FORMAT_NAME: &str = "webtape-snapshot";

/// Counts kept exactly in the `meta` column family and copied here when a writer finishes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub page_captures: u64,
    pub urls: u64,
    pub search_captures: u64,
    pub blobs: u64,
    pub blob_bytes: u64,
    pub reader_outputs: u64,
    /// HTTP exchanges recorded by `webtape proxy` (API answers that are neither pages nor search results).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub http_captures: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Contents of `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub name: String,
    pub created_at: String,
    pub updated_at: String,
    pub webtape_version: String,
    /// Where captures came from: search providers, `warc`, `jsonl`, `fetch`.
    pub providers: BTreeSet<String>,
    pub counts: Counts,
    /// Earliest and latest capture times (RFC 3339), when there are captures.
    pub first_capture: Option<String>,
    pub last_capture: Option<String>,
    /// blake3 over the snapshot's content (see `Snapshot::content_digest`).
    pub content_digest: String,
}

impl Manifest {
    /// A manifest for a new, empty snapshot.
    pub fn new(name: &str, now: &str) -> Manifest {
        Manifest {
            format: FORMAT_NAME.into(),
            format_version: FORMAT_VERSION,
            name: name.into(),
            created_at: now.into(),
            updated_at: now.into(),
            webtape_version: env!("CARGO_PKG_VERSION").into(),
            providers: BTreeSet::new(),
            counts: Counts::default(),
            first_capture: None,
            last_capture: None,
            content_digest: String::new(),
        }
    }

    /// Reads and checks `manifest.json` of the snapshot at `dir`.
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join("manifest.json");
        let bytes = match std::fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Error::NoSnapshot(dir.to_path_buf())),
            other => other.map_err(|e| Error::io(&path, e))?,
        };
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Corrupt { what: path.display().to_string(), message: e.to_string() })?;
        let found = value.get("format_version").and_then(|v| v.as_u64()).unwrap_or(u64::MAX);
        if value.get("format").and_then(|v| v.as_str()) != Some(FORMAT_NAME) || found > u64::from(FORMAT_VERSION) {
            let found = u32::try_from(found).unwrap_or(u32::MAX);
            return Err(Error::FormatVersion { path: dir.to_path_buf(), found, supported: FORMAT_VERSION });
        }
        serde_json::from_value(value)
            .map_err(|e| Error::Corrupt { what: path.display().to_string(), message: e.to_string() })
    }

    /// Writes `manifest.json` atomically (temporary file, fsync, rename).
    pub fn write(&self, dir: &Path) -> Result<()> {
        use std::io::Write;
        let path = dir.join("manifest.json");
        let tmp = dir.join("manifest.json.tmp");
        let mut text = serde_json::to_string_pretty(self).expect("manifest serializes");
        text.push('\n');
        let mut file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        file.write_all(text.as_bytes()).and_then(|_| file.sync_all()).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))
    }
}

/// The current time, RFC 3339 UTC with second precision. Only recording and bookkeeping call this; replay never does.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
