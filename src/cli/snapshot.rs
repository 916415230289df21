//! `webtape snapshot ...`: create, import, inspect, verify, search, export, merge and repair snapshots.
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use webtape::snapshot::{self, JsonlOptions, Ranking, Snapshot, SnapshotWriter};

#[derive(Subcommand)]
pub enum SnapshotCommand {
    /// Create an empty snapshot folder.
    Create { dir: PathBuf },
    /// Import WARC 1.0/1.1 or legacy ARC v1 files (plain, or gzip per record) into a snapshot, creating it if needed.
    ///
    /// response, resource and revisit records become page captures; request, metadata and warcinfo records are
    /// passed over. ARC files (told by their first bytes, `filedesc://...`) become page captures with their HTTP
    /// status. Malformed records are skipped and counted; good records are always kept. A record whose
    /// Content-Length is wrong but which is whole up to the next record is kept, and so is a body whose chunked
    /// encoding is broken (as sent); both are counted as warnings.
    ImportWarc {
        dir: PathBuf,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Import a Search-R1 / FlashRAG JSONL corpus (`{"id": .., "contents": "\"Title\"\ntext"}` per line).
    ImportJsonl {
        dir: PathBuf,
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Capture time given to every document (RFC 3339); corpora carry none.
        #[arg(long, default_value = "1970-01-01T00:00:00Z")]
        captured_at: String,
        /// URL prefix for documents without a `url` field (default `https://corpus.invalid/<file stem>/`).
        #[arg(long)]
        url_base: Option<String>,
    },
    /// Show counts, size, date range, providers and content digest.
    Info {
        dir: PathBuf,
        /// Print the manifest and live counts as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check every blob digest, every record, and that the index agrees with the database. Exits 2 on damage.
    Verify { dir: PathBuf },
    /// BM25 search over the latest capture of each page.
    Search {
        dir: PathBuf,
        query: String,
        /// Number of results.
        #[arg(short, default_value_t = 10)]
        k: usize,
        /// Print results as JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// Show a page capture: extracted text (default), or the raw body bytes with --raw.
    Get {
        dir: PathBuf,
        url: String,
        /// Write the body bytes exactly as captured.
        #[arg(long)]
        raw: bool,
        /// Pick the capture closest to this time (RFC 3339 or YYYYMMDDhhmmss); default: the latest.
        #[arg(long)]
        at: Option<String>,
        /// Print the capture record as JSON instead of the text.
        #[arg(long, conflicts_with = "raw")]
        json: bool,
    },
    /// Export all page captures as WARC 1.1 (gzip per record when OUT ends in .gz) plus a CDXJ index beside it.
    ExportWarc { dir: PathBuf, out: PathBuf },
    /// Export the text of every page (latest good capture) as a Search-R1 / FlashRAG JSONL corpus:
    /// `{"id": url, "contents": "\"Title\"\ntext"}` per line.
    ExportText { dir: PathBuf, out: PathBuf },
    /// Merge snapshots into a new one; identical captures are stored once.
    Merge {
        #[arg(required = true)]
        sources: Vec<PathBuf>,
        #[arg(long)]
        into: PathBuf,
    },
    /// Rebuild the search index from the database and rewrite the manifest (after a crash or interruption).
    Repair { dir: PathBuf },
    /// Rebuild the search index with the current ranking (v4: v3's scores and collapsed near-duplicates, with
    /// translations, code listings and identifier titles weighed). Snapshots made before keep their ranking (v1,
    /// v2 or v3), so searches replay exactly as recorded, until this: afterwards BM25 answers (unrecorded
    /// searches) change.
    Reindex { dir: PathBuf },
    /// Merge the search index into one segment and compact the database into one sorted run per column family:
    /// faster BM25 and lookups on a snapshot that is done growing (before serving).
    Optimize { dir: PathBuf },
}

pub fn run(command: SnapshotCommand) -> Result<ExitCode> {
    match command {
        SnapshotCommand::Create { dir } => {
            SnapshotWriter::create(&dir)?.finish()?;
            println!("created snapshot {}", dir.display());
        }
        SnapshotCommand::ImportWarc { dir, files } => {
            let mut writer = SnapshotWriter::open_or_create(&dir)?;
            let report = snapshot::import_warc(&mut writer, &files)?;
            writer.finish()?;
            return Ok(print_import(&report));
        }
        SnapshotCommand::ImportJsonl { dir, files, captured_at, url_base } => {
            let mut writer = SnapshotWriter::open_or_create(&dir)?;
            let report = snapshot::import_jsonl(&mut writer, &files, &JsonlOptions { captured_at, url_base })?;
            writer.finish()?;
            return Ok(print_import(&report));
        }
        SnapshotCommand::Info { dir, json } => info(&dir, json)?,
        SnapshotCommand::Verify { dir } => return verify(&dir),
        SnapshotCommand::Search { dir, query, k, json } => search(&dir, &query, k, json)?,
        SnapshotCommand::Get { dir, url, raw, at, json } => return get(&dir, &url, raw, at.as_deref(), json),
        SnapshotCommand::ExportWarc { dir, out } => {
            let snap = Snapshot::open(&dir)?;
            let r = snapshot::export_warc(&snap, &out)?;
            println!(
                "wrote {} records ({} bytes) to {} and index {}",
                r.records,
                r.bytes,
                r.warc.display(),
                r.cdxj.display()
            );
        }
        SnapshotCommand::ExportText { dir, out } => {
            let n = snapshot::export_text(&Snapshot::open(&dir)?, &out)?;
            println!("wrote {n} documents to {}", out.display());
        }
        SnapshotCommand::Merge { sources, into } => {
            let (r, m) = snapshot::merge(&sources, &into)?;
            println!(
                "merged {} snapshots into {}: {} page captures, {} search captures, {} reader outputs, {} duplicates stored once; digest {}",
                sources.len(), into.display(), r.page_captures, r.search_captures, r.reader_outputs, r.duplicates, m.content_digest
            );
        }
        SnapshotCommand::Optimize { dir } => {
            let mut writer = SnapshotWriter::open(&dir)?;
            let before = writer.optimize_index()?;
            writer.finish()?;
            println!("optimized {}: {before} index segments merged into 1, database compacted", dir.display());
        }
        SnapshotCommand::Repair { dir } => {
            let mut writer = SnapshotWriter::open(&dir)?;
            // Opening already rebuilt a stale index; otherwise rebuild it once here.
            let docs = match writer.rebuilt_on_open() {
                Some(docs) => docs,
                None => writer.rebuild_index()?,
            };
            let ranking = writer.ranking();
            let m = writer.finish()?;
            println!(
                "repaired {}: {docs} pages indexed, {} captures, digest {}",
                dir.display(),
                m.counts.page_captures,
                m.content_digest
            );
            if ranking != Ranking::CURRENT {
                println!("{}", old_ranking_note(&dir, ranking));
            }
        }
        SnapshotCommand::Reindex { dir } => {
            let mut writer = SnapshotWriter::open(&dir)?;
            let before = writer.ranking();
            let docs = writer.reindex()?;
            writer.finish()?;
            println!(
                "reindexed {}: {docs} pages, ranking {} -> {}",
                dir.display(),
                before.name(),
                Ranking::CURRENT.name()
            );
            if before != Ranking::CURRENT {
                println!("BM25 answers (searches the snapshot did not record) now follow ranking {}; runs replayed before may differ where they used them", Ranking::CURRENT.name());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_import(report: &snapshot::ImportReport) -> ExitCode {
    println!("{report}");
    for example in &report.skip_examples {
        eprintln!("skipped: {example}");
    }
    for example in &report.warning_examples {
        eprintln!("kept with a warning: {example}");
    }
    if report.failed_files.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn info(dir: &std::path::Path, json: bool) -> Result<()> {
    let snap = Snapshot::open(dir)?;
    let m = snap.manifest();
    let size = dir_size(dir);
    if json {
        let value = serde_json::json!({"manifest": m, "indexed_pages": snap.indexed_pages(), "size_bytes": size, "ranking": snap.ranking().name()});
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let c = &m.counts;
    println!("snapshot      {} ({})", m.name, dir.display());
    println!("format        {} v{} (webtape {})", m.format, m.format_version, m.webtape_version);
    println!("created       {}   updated {}", m.created_at, m.updated_at);
    println!("providers     {}", m.providers.iter().cloned().collect::<Vec<_>>().join(", "));
    println!("pages         {} captures of {} URLs ({} indexed)", c.page_captures, c.urls, snap.indexed_pages());
    println!("searches      {} captures", c.search_captures);
    println!("reader        {} outputs", c.reader_outputs);
    println!("bodies        {} unique, {} raw, {} on disk in all", c.blobs, human(c.blob_bytes), human(size));
    println!(
        "captured      {} .. {}",
        m.first_capture.as_deref().unwrap_or("-"),
        m.last_capture.as_deref().unwrap_or("-")
    );
    println!("digest        {}", m.content_digest);
    println!("ranking       {}", snap.ranking().name());
    if snap.ranking() != Ranking::CURRENT {
        println!("{}", old_ranking_note(dir, snap.ranking()));
    }
    Ok(())
}

/// What a snapshot whose index ranks by an older rule means, and how to move it on.
fn old_ranking_note(dir: &std::path::Path, ranking: Ranking) -> String {
    format!(
        "note: the search index ranks by {} (kept so BM25 answers replay as recorded); `webtape snapshot reindex {}` moves it to {}",
        ranking.name(),
        dir.display(),
        Ranking::CURRENT.name()
    )
}

fn verify(dir: &std::path::Path) -> Result<ExitCode> {
    let snap = Snapshot::open(dir)?;
    let report = snapshot::verify(&snap)?;
    for p in &report.problems {
        println!("DAMAGED {}: {}", p.what, p.message);
    }
    println!(
        "checked {} page captures, {} search captures, {} blobs, {} indexed pages: {}",
        report.page_captures,
        report.search_captures,
        report.blobs,
        report.indexed_pages,
        if report.ok() { "ok".to_string() } else { format!("{} problem(s)", report.problems.len()) }
    );
    Ok(if report.ok() { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

fn search(dir: &std::path::Path, query: &str, k: usize, json: bool) -> Result<()> {
    let snap = Snapshot::open(dir)?;
    for (i, hit) in snap.search(query, k, 200)?.into_iter().enumerate() {
        if json {
            let v = serde_json::json!({"rank": i + 1, "score": hit.score, "url": hit.url, "title": hit.title, "snippet": hit.snippet});
            println!("{v}");
        } else {
            println!(
                "{:>2}. [{:.3}] {}\n    {}\n    {}\n",
                i + 1,
                hit.score,
                hit.title,
                hit.url,
                mark(&hit.snippet, &hit.highlights)
            );
        }
    }
    Ok(())
}

fn get(dir: &std::path::Path, url: &str, raw: bool, at: Option<&str>, json: bool) -> Result<ExitCode> {
    let snap = Snapshot::open(dir)?;
    let Some(page) = snap.get_page(url, at)? else {
        eprintln!("error: {url} is not in snapshot {}", dir.display());
        return Ok(ExitCode::FAILURE);
    };
    let mut out = std::io::stdout().lock();
    if raw {
        let body = snap.body(&page.capture)?.unwrap_or_default();
        out.write_all(&body).context("writing the body to stdout")?;
    } else if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&page.capture)?)?;
    } else {
        writeln!(
            out,
            "# {}\n{} ({}, captured {})\n\n{}",
            page.text.title,
            page.capture.url,
            page.capture.status.map_or("no status".into(), |s| s.to_string()),
            page.capture.captured_at,
            page.text.text
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `snippet` with matched terms wrapped in `**`.
fn mark(snippet: &str, highlights: &[std::ops::Range<usize>]) -> String {
    let mut out = String::with_capacity(snippet.len() + highlights.len() * 4);
    let mut last = 0;
    for r in highlights {
        if r.start < last || r.end > snippet.len() {
            continue;
        }
        out.push_str(&snippet[last..r.start]);
        out.push_str("**");
        out.push_str(&snippet[r.clone()]);
        out.push_str("**");
        last = r.end;
    }
    out.push_str(&snippet[last..]);
    out.replace('\n', " ")
}

fn dir_size(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let (mut value, mut unit) = (bytes as f64, 0);
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}
