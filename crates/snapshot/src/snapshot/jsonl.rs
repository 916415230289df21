//! `snapshot import-jsonl`: a Search-R1 / FlashRAG corpus (`{"id": .., "contents": "\"Title\"\ntext"}` per line)
//! becomes page captures whose body is the `contents` string, so `/retrieve` can return it byte for byte.
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::prepared::{PreparedPage, PutOutcome};
use super::record::{PageCapture, PageText};
use super::report::ImportReport;
use super::writer::SnapshotWriter;
use crate::error::{Error, Result};
use crate::progress;

const BATCH_LINES: usize = 2048;

/// How corpus documents are turned into captures.
#[derive(Debug, Clone)]
pub struct JsonlOptions {
    /// The capture time given to every document (corpora have none): RFC 3339.
    pub captured_at: String,
    /// Documents without a `url` field get `<url_base><id>`; by default `https://corpus.invalid/<file stem>/`.
    pub url_base: Option<String>,
}

impl Default for JsonlOptions {
    fn default() -> Self {
        JsonlOptions { captured_at: "1970-01-01T00:00:00Z".into(), url_base: None }
    }
}

/// Imports the JSONL corpora at `paths`.
pub fn import_jsonl(writer: &mut SnapshotWriter, paths: &[PathBuf], options: &JsonlOptions) -> Result<ImportReport> {
    let captured_at = super::warc_import::normalize_date(&options.captured_at).map_err(Error::Config)?;
    let mut report = ImportReport::default();
    let total: u64 = paths.iter().map(|p| std::fs::metadata(p).map_or(0, |m| m.len())).sum();
    let bar = progress::bytes_bar(total, "importing");
    for path in paths {
        report.files += 1;
        let base = options.url_base.clone().unwrap_or_else(|| {
            let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            format!(
                "https://corpus.invalid/{}/",
                url::form_urlencoded::byte_serialize(stem.as_bytes()).collect::<String>()
            )
        });
        if let Err(e) = import_file(writer, path, &base, &captured_at, &mut report, &bar) {
            report.failed_files.push((path.display().to_string(), e.to_string()));
        }
    }
    writer.commit()?;
    bar.finish_and_clear();
    Ok(report)
}

fn import_file(
    writer: &mut SnapshotWriter,
    path: &Path,
    base: &str,
    captured_at: &str,
    report: &mut ImportReport,
    bar: &indicatif::ProgressBar,
) -> Result<()> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    if file.metadata().map_err(|e| Error::io(path, e))?.len() == 0 {
        return Err(Error::bad_input(path.display().to_string(), "the file is empty"));
    }
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let name = path.display().to_string();
    let mut line_no = 0u64;
    loop {
        let mut lines = Vec::with_capacity(BATCH_LINES);
        while lines.len() < BATCH_LINES {
            let mut line = Vec::new();
            if reader.read_until(b'\n', &mut line).map_err(|e| Error::io(path, e))? == 0 {
                break;
            }
            bar.inc(line.len() as u64);
            line_no += 1;
            lines.push((line_no, line));
        }
        if lines.is_empty() {
            return Ok(());
        }
        let prepared: Vec<(u64, std::result::Result<Option<PreparedPage>, String>)> =
            lines.into_par_iter().map(|(n, line)| (n, prepare_line(&line, n, base, captured_at))).collect();
        for (n, result) in prepared {
            match result {
                Ok(None) => {}
                Ok(Some(page)) => {
                    report.records += 1;
                    match writer.put_prepared(page, "jsonl")? {
                        PutOutcome::Added => report.imported += 1,
                        PutOutcome::Duplicate => report.duplicates += 1,
                    }
                }
                Err(reason) => {
                    report.records += 1;
                    report.skip(&name, n, &reason);
                }
            }
        }
    }
}

/// One corpus line → a capture; `Ok(None)` for blank lines.
fn prepare_line(
    line: &[u8],
    line_no: u64,
    base: &str,
    captured_at: &str,
) -> std::result::Result<Option<PreparedPage>, String> {
    let text = std::str::from_utf8(line).map_err(|_| "line is not UTF-8".to_string())?.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("bad JSON: {e}"))?;
    let obj = value.as_object().ok_or("line is not a JSON object")?;
    let contents =
        obj.get("contents").or_else(|| obj.get("text")).and_then(|v| v.as_str()).ok_or("no \"contents\" string")?;
    let id = match obj.get("id") {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        None => line_no.to_string(),
        Some(_) => return Err("\"id\" is neither a string nor a number".into()),
    };
    let url = match obj.get("url").and_then(|v| v.as_str()) {
        Some(u) => u.to_string(),
        None => format!("{base}{}", url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()),
    };
    let (title, body_text) = split_title(contents);
    let title = obj.get("title").and_then(|v| v.as_str()).map(str::to_string).unwrap_or(title);
    let capture = PageCapture {
        final_url: url.clone(),
        url,
        redirects: Vec::new(),
        status: None,
        headers: Vec::new(),
        content_type: Some("text/plain; charset=utf-8".into()),
        body_digest: None,
        body_len: 0,
        truncated: false,
        captured_at: captured_at.to_string(),
        fetch_error: None,
        doc_id: Some(id),
    };
    let text = PageText { title, text: body_text.to_string(), lang: None };
    PreparedPage::new(capture, Some(contents.as_bytes()), Some(text)).map(Some).map_err(|e| e.to_string())
}

/// Search-R1 corpora put the title on the first line in double quotes.
fn split_title(contents: &str) -> (String, &str) {
    let (first, rest) = contents.split_once('\n').unwrap_or((contents, ""));
    let first = first.trim();
    if first.len() >= 2 && first.starts_with('"') && first.ends_with('"') {
        (first[1..first.len() - 1].to_string(), rest)
    } else {
        (String::new(), contents)
    }
}
