//! File-backed targets: WARC/ARC import (plain, and re-framed as one gzip member per record) into a scratch
//! snapshot, training configs, question files. [`Scratch`] owns the scratch folder; nothing outside it is written.
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{rejected, split_variant, Verdict};
use crate::error::{Error, Result};
use crate::snapshot::{import_warc, ImportReport, SnapshotWriter};

/// Imports into one snapshot are counted; past this many the snapshot is started afresh, so it stays small.
const IMPORTS_PER_SNAPSHOT: u32 = 500;

/// Scratch space for the targets that read files or need a snapshot: a folder the caller owns (a temp dir).
pub struct Scratch {
    dir: PathBuf,
    writer: Option<SnapshotWriter>,
    imports: u32,
    pub(super) server: Option<super::routes::Server>,
}

impl Scratch {
    /// Scratch space under `dir` (created when missing).
    pub fn new(dir: &Path) -> Result<Scratch> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        Ok(Scratch { dir: dir.to_path_buf(), writer: None, imports: 0, server: None })
    }

    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    /// `data` written to `name` in the scratch folder.
    fn file(&self, name: &str, data: &[u8]) -> Result<PathBuf> {
        let path = self.dir.join(name);
        std::fs::write(&path, data).map_err(|e| Error::io(&path, e))?;
        Ok(path)
    }

    /// The scratch snapshot's writer, started afresh every [`IMPORTS_PER_SNAPSHOT`] imports.
    fn writer(&mut self) -> Result<&mut SnapshotWriter> {
        if self.imports >= IMPORTS_PER_SNAPSHOT {
            self.writer = None;
            self.imports = 0;
        }
        self.imports += 1;
        let writer = match self.writer.take() {
            Some(w) => w,
            None => {
                let dir = self.dir.join("import-snapshot");
                if dir.exists() {
                    std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                }
                SnapshotWriter::create(&dir)?
            }
        };
        Ok(self.writer.insert(writer))
    }
}

/// A WARC (or ARC) file's bytes, imported into the scratch snapshot. Damage is skipped and reported, never fatal.
pub fn warc(scratch: &mut Scratch, data: &[u8]) -> Verdict {
    let name = if looks_like_arc(data) { "input.arc" } else { "input.warc" };
    import_file(scratch, name, data)
}

/// Plain WARC records, each compressed as its own gzip member (the usual `.warc.gz` framing), then imported.
pub fn warc_gzip(scratch: &mut Scratch, data: &[u8]) -> Verdict {
    let mut starts: Vec<usize> =
        memchr::memmem::find_iter(data, b"WARC/").filter(|&i| i == 0 || data[i - 1] == b'\n').collect();
    if starts.first() != Some(&0) {
        starts.insert(0, 0);
    }
    starts.push(data.len());
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    for pair in starts.windows(2) {
        let mut gz = flate2::write::GzEncoder::new(&mut out, flate2::Compression::fast());
        if let Err(e) = gz.write_all(&data[pair[0]..pair[1]]).and_then(|()| gz.finish().map(|_| ())) {
            return Verdict::Broken(format!("gzip into memory failed: {e}"));
        }
    }
    let name = if looks_like_arc(data) { "input.arc.gz" } else { "input.warc.gz" };
    import_file(scratch, name, &out)
}

fn looks_like_arc(data: &[u8]) -> bool {
    data.starts_with(b"filedesc:")
}

fn import_file(scratch: &mut Scratch, name: &str, data: &[u8]) -> Verdict {
    let report = scratch.file(name, data).and_then(|path| {
        let writer = scratch.writer()?;
        import_warc(writer, &[path])
    });
    match report {
        Ok(report) => check_report(&report),
        Err(e) => {
            scratch.writer = None;
            rejected(e.to_string())
        }
    }
}

/// Every failed file and skipped record says why. What was skipped, ignored or imported is the verdict's message
/// (so the fuzz driver can tell inputs that reach different paths apart).
fn check_report(report: &ImportReport) -> Verdict {
    if let Some((file, _)) = report.failed_files.iter().find(|(_, why)| why.trim().is_empty()) {
        return Verdict::Broken(format!("{file} failed without a reason"));
    }
    if report.skipped.keys().any(|reason| reason.trim().is_empty()) {
        return Verdict::Broken("a record skipped without a reason".into());
    }
    if let Some((_, why)) = report.failed_files.first() {
        return Verdict::Rejected(why.clone());
    }
    let mut parts: Vec<String> = report.skipped.keys().cloned().collect();
    parts.extend(report.ignored.keys().map(|kind| format!("ignored {kind}")));
    if report.imported > 0 {
        parts.push("imported".into());
    }
    match parts.is_empty() {
        true => Verdict::Accepted,
        false => Verdict::Rejected(parts.join("; ")),
    }
}

/// A training config (TOML). Lines `#set KEY=VALUE` (TOML comments) are applied as command-line overrides. An
/// accepted config written back as TOML reads back to the same TOML.
#[cfg(feature = "train")]
pub fn config(scratch: &mut Scratch, data: &[u8]) -> Verdict {
    use crate::config::TrainConfig;
    let text = String::from_utf8_lossy(data);
    let overrides: Vec<String> =
        text.lines().filter_map(|l| l.trim().strip_prefix("#set ")).map(|s| s.trim().to_string()).collect();
    let cfg = match scratch.file("config.toml", data).and_then(|p| TrainConfig::from_file_with(&p, &overrides)) {
        Ok(cfg) => cfg,
        Err(e) => return rejected(e.to_string()),
    };
    let Ok(written) = toml::to_string(&cfg) else { return Verdict::Accepted };
    match toml::from_str::<TrainConfig>(&written).map(|again| toml::to_string(&again)) {
        Ok(Ok(again)) if again == written => Verdict::Accepted,
        Ok(Ok(again)) => Verdict::Broken(format!("config TOML changes when read back:\n{written}\n---\n{again}")),
        Ok(Err(e)) => Verdict::Broken(format!("config read back cannot be written: {e}")),
        Err(e) => Verdict::Broken(format!("config written as TOML is refused: {e}\n{written}")),
    }
}

/// Without the `train` feature there are no training configs to read.
#[cfg(not(feature = "train"))]
pub fn config(_scratch: &mut Scratch, _data: &[u8]) -> Verdict {
    Verdict::Accepted
}

/// First line `parquet` (the rest is a parquet file) or `jsonl`/`txt` (the rest is a line file); else the whole
/// input is a line file. Every question read has text and an id.
pub fn questions(scratch: &mut Scratch, data: &[u8]) -> Verdict {
    let (variant, rest) = split_variant(data);
    let (name, bytes) = match variant.as_str() {
        "parquet" => ("questions.parquet", rest),
        "jsonl" | "txt" => ("questions.jsonl", rest),
        _ => ("questions.jsonl", data),
    };
    match scratch.file(name, bytes).and_then(|p| crate::data::read_questions(&p)) {
        Ok(qs) if qs.iter().any(|q| q.question.trim().is_empty() || q.id.is_empty()) => {
            Verdict::Broken("a question without text or id".into())
        }
        Ok(_) => Verdict::Accepted,
        Err(e) => rejected(e.to_string()),
    }
}
