//! `webtape record`: search every question of a query file with a provider, fetch the top result pages, and
//! store everything in a snapshot. Resumable: the same command again finishes an interrupted recording.
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use webtape::recorder::{self, RecordConfig};

use super::web_args::WebArgs;

#[derive(Args)]
pub struct RecordArgs {
    /// Question file: JSONL (`question`, optional `id`, `answers`), plain text lines, or parquet.
    #[arg(long)]
    queries: PathBuf,
    /// Snapshot folder (created if missing, resumed if present).
    #[arg(long)]
    snapshot: PathBuf,
    #[command(flatten)]
    web: WebArgs,
    /// Top result pages fetched per query.
    #[arg(long, default_value_t = 5)]
    pages_per_query: usize,
    /// Results asked of the provider per query.
    #[arg(long, default_value_t = 10)]
    num: u32,
    /// Queries in flight, and page fetches in flight, at most.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Record only the first N questions.
    #[arg(long)]
    limit: Option<usize>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(a: RecordArgs) -> Result<ExitCode> {
    let mut questions = webtape::data::read_questions(&a.queries)?;
    if let Some(limit) = a.limit {
        questions.truncate(limit);
    }
    let (searcher, fetch) = a.web.build()?;
    let cfg = RecordConfig {
        pages_per_query: a.pages_per_query,
        concurrency: a.concurrency,
        num_results: a.num,
        fetch,
        progress: true,
        handle_ctrl_c: true,
    };
    let summary = recorder::record(&a.snapshot, &questions, searcher, cfg)?;
    if a.json {
        let mut v = serde_json::to_value(&summary)?;
        v["elapsed_s"] = serde_json::json!(summary.elapsed.as_secs_f64());
        println!("{v}");
    } else {
        println!("{summary}");
        println!("snapshot: {}", a.snapshot.display());
    }
    Ok(if summary.interrupted { ExitCode::from(130) } else { ExitCode::SUCCESS })
}
