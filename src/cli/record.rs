//! `webtape record`: search every question of a query file with a provider, fetch the top result pages, and
//! store everything in a snapshot. Resumable: the same command again finishes an interrupted recording.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use webtape::recorder::{self, RecordConfig};
use webtape::web::{parse_rate, FetchConfig, Guard, ProviderKind, RetryPolicy, Searcher};

#[derive(Args)]
pub struct RecordArgs {
    /// Search API. Keys come from SERPER_API_KEY, BRAVE_API_KEY, TAVILY_API_KEY; SearXNG needs SEARXNG_URL
    /// or --endpoint. Keys are sent, never stored.
    #[arg(long, value_enum)]
    provider: ProviderKind,
    /// Question file: JSONL (`question`, optional `id`, `answers`), plain text lines, or parquet.
    #[arg(long)]
    queries: PathBuf,
    /// Snapshot folder (created if missing, resumed if present).
    #[arg(long)]
    snapshot: PathBuf,
    /// Base URL of the provider's API instead of its public one (e.g. `webtape sim serve`'s address).
    #[arg(long)]
    endpoint: Option<String>,
    /// Top result pages fetched per query.
    #[arg(long, default_value_t = 5)]
    pages_per_query: usize,
    /// Results asked of the provider per query.
    #[arg(long, default_value_t = 10)]
    num: u32,
    /// Queries in flight, and page fetches in flight, at most.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Provider calls per second at most, e.g. `10/s`, `600/min`, `none`.
    #[arg(long, default_value = "10/s")]
    rate: String,
    /// Requests in flight to one web host at most (0 = no limit).
    #[arg(long, default_value_t = 4)]
    host_concurrency: usize,
    /// Request starts per second to one web host, e.g. `5/s` or `none`.
    #[arg(long, default_value = "5/s")]
    host_rate: String,
    /// Per-attempt timeout in seconds.
    #[arg(long, default_value_t = 20.0)]
    timeout: f64,
    /// Retries after a 429, 5xx, timeout or connection error (exponential backoff with jitter, Retry-After honoured).
    #[arg(long, default_value_t = 3)]
    retries: u32,
    /// Backoff before the first retry, in milliseconds (doubles each retry).
    #[arg(long, default_value_t = 500)]
    backoff_ms: u64,
    /// Longest wait between retries, in seconds (also caps Retry-After).
    #[arg(long, default_value_t = 30.0)]
    max_backoff: f64,
    /// Page bodies beyond this many bytes are cut and marked truncated (suffixes k, M: `5M`).
    #[arg(long, default_value = "5M")]
    max_body: String,
    /// Do not ask robots.txt.
    #[arg(long)]
    ignore_robots: bool,
    /// Allow pages on loopback, private, link-local and other internal addresses (local testing only).
    #[arg(long)]
    allow_private: bool,
    /// Allow this one internal address (IP:PORT) while keeping the guard on for everything else; repeatable.
    #[arg(long)]
    allow_addr: Vec<SocketAddr>,
    /// Record only the first N questions.
    #[arg(long)]
    limit: Option<usize>,
    /// Seed of the retry jitter.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_size(text: &str) -> Result<u64> {
    let t = text.trim();
    let (num, mult) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        None => (t, 1u64),
        Some((i, _)) => {
            let mult = match t[i..].to_ascii_lowercase().as_str() {
                "k" | "kb" | "kib" => 1 << 10,
                "m" | "mb" | "mib" => 1 << 20,
                "g" | "gb" | "gib" => 1 << 30,
                other => anyhow::bail!("--max-body {text:?}: unknown unit {other:?} (use k, M or G)"),
            };
            (&t[..i], mult)
        }
    };
    let n: f64 = num.trim().parse().with_context(|| format!("--max-body {text:?} is not a size"))?;
    anyhow::ensure!(n > 0.0, "--max-body must be positive");
    Ok((n * mult as f64) as u64)
}

pub fn run(a: RecordArgs) -> Result<ExitCode> {
    let mut questions = webtape::data::read_questions(&a.queries)?;
    if let Some(limit) = a.limit {
        questions.truncate(limit);
    }
    anyhow::ensure!(a.timeout > 0.0 && a.max_backoff >= 0.0, "--timeout must be positive, --max-backoff not negative");
    let retry = RetryPolicy {
        retries: a.retries,
        base: Duration::from_millis(a.backoff_ms),
        max_wait: Duration::from_secs_f64(a.max_backoff),
        seed: a.seed,
    };
    let timeout = Duration::from_secs_f64(a.timeout);
    let provider = a.provider.from_env(a.endpoint.as_deref())?;
    let rate = parse_rate(&a.rate).map_err(|m| anyhow::anyhow!("--rate: {m}"))?;
    let searcher = Searcher::new(provider, timeout, retry.clone(), rate)?;
    let fetch = FetchConfig {
        timeout,
        max_body: parse_size(&a.max_body)?,
        max_redirects: 10,
        retry,
        robots: !a.ignore_robots,
        host_concurrency: a.host_concurrency,
        host_rate: parse_rate(&a.host_rate).map_err(|m| anyhow::anyhow!("--host-rate: {m}"))?,
        guard: Guard { allow_private: a.allow_private, allow_addrs: a.allow_addr },
    };
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
