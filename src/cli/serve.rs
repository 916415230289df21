//! `webtape serve`: the environment over HTTP for external trainers (veRL / Search-R1 `/retrieve`, Serper-style
//! `/search`, `/browse`), from a snapshot (`--mode replay`) or the live web (`live`, `record`).
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use webtape::env::{EnvConfig, Environment, LiveWeb, MissPolicy, Mode};
use webtape::server::auth::Token;
use webtape::server::{self, AppState, ServerConfig};
use webtape::web::{Fetcher, ReaderClient};

use super::web_args::WebArgs;

#[derive(Args)]
pub struct ServeArgs {
    /// Snapshot folder: read in replay (read-only, shareable by many servers), written in record.
    #[arg(long)]
    snapshot: Option<PathBuf>,
    /// replay: answers only from the snapshot, no network; live: the live web; record: live, recording everything.
    #[arg(long, value_enum, default_value = "replay")]
    mode: Mode,
    /// Replay's answer to a search never recorded: BM25 over the snapshot, or a fixed "not in snapshot".
    #[arg(long, value_enum, default_value = "bm25")]
    miss: MissPolicy,
    /// Replay the captures closest to this time (RFC 3339 or YYYYMMDDhhmmss) instead of the first.
    #[arg(long)]
    at: Option<String>,
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// Address to listen on. Beyond loopback, `live` and `record` need `--token` (an open server spends your
    /// search credits and fetches any URL for anyone); replay-only servers should have one too.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Bearer token every request must send (`Authorization: Bearer <token>`, or `X-API-KEY` as Serper clients
    /// do); at least 16 characters. Better given as the WEBTAPE_TOKEN environment variable, which keeps it out
    /// of the process list. Never printed.
    #[arg(long)]
    token: Option<String>,
    /// Results per `/retrieve` query when the request sends no `topk` / `top_k` (Search-R1's retriever default).
    #[arg(long, default_value_t = 3)]
    top_k: usize,
    /// Results asked of the search provider per query. It is part of a recorded search's key, so replay a
    /// snapshot with the `--num` it was recorded with (`webtape record --num`): with another value every search
    /// misses and falls back to BM25 (`--miss`). Answers are then cut to the `top_k` asked.
    #[arg(long, default_value_t = 10)]
    search_num: u32,
    /// Characters per browse page (chunk).
    #[arg(long, default_value_t = 40_960)]
    chunk_chars: usize,
    /// OpenAI-compatible reading model for browse (live/record: called and recorded; replay: outputs served).
    #[arg(long)]
    reader_endpoint: Option<String>,
    /// The reading model's id (in replay: the id its recorded outputs were made with).
    #[arg(long)]
    reader_model: Option<String>,
    /// Requests handled at once; more get 429 with Retry-After.
    #[arg(long, default_value_t = 8192)]
    max_concurrency: usize,
    /// Largest request body, bytes (8 MiB: room for --max-batch queries of a few hundred bytes each).
    #[arg(long, default_value_t = 8 << 20)]
    max_body_bytes: usize,
    /// Queries per /retrieve call (Search-R1's default config sends up to 2,560 at once).
    #[arg(long, default_value_t = 4096)]
    max_batch: usize,
    #[command(flatten)]
    web: WebArgs,
}

fn environment(a: &ServeArgs) -> Result<Environment> {
    let cfg = EnvConfig {
        miss: a.miss,
        at: a.at.clone(),
        top_k: a.top_k,
        search_num: a.search_num,
        chunk_chars: a.chunk_chars,
        ..EnvConfig::default()
    };
    if a.mode == Mode::Replay {
        let dir = a.snapshot.as_ref().context("--mode replay needs --snapshot DIR")?;
        return Ok(Environment::replay(dir, cfg, a.reader_model.clone())?);
    }
    let (searcher, fetch) = a.web.build()?;
    let live = LiveWeb { searcher, fetcher: Fetcher::new(fetch)? };
    let reader = match (&a.reader_endpoint, &a.reader_model) {
        (Some(endpoint), Some(model)) => Some(ReaderClient::from_env(endpoint, model, Duration::from_secs(120))?),
        (None, None) => None,
        _ => anyhow::bail!("--reader-endpoint and --reader-model go together"),
    };
    let record_into = match a.mode {
        Mode::Record => Some(a.snapshot.as_deref().context("--mode record needs --snapshot DIR to record into")?),
        _ => None,
    };
    Ok(Environment::live(live, cfg, reader, record_into)?)
}

/// The token the server requires, from `--token` or WEBTAPE_TOKEN; refuses an open live/record server beyond
/// loopback, and warns of an open replay one.
fn token(a: &ServeArgs) -> Result<Option<Token>> {
    let secret = a.token.clone().or_else(|| std::env::var("WEBTAPE_TOKEN").ok().filter(|t| !t.is_empty()));
    let token = secret.as_deref().map(Token::new).transpose()?;
    if token.is_none() && !a.bind.is_loopback() {
        if a.mode != Mode::Replay {
            anyhow::bail!(
                "refusing to serve {:?} mode on {} without a token: anyone who reaches it could spend your search \
                 credits and make it fetch any address. Set WEBTAPE_TOKEN (or --token), or bind 127.0.0.1",
                a.mode,
                a.bind
            );
        }
        eprintln!("warning: serving on {} without a token: anyone who reaches it can read the snapshot", a.bind);
    }
    Ok(token)
}

pub fn run(a: ServeArgs) -> Result<ExitCode> {
    let token = token(&a)?;
    let env = environment(&a)?;
    let cfg = ServerConfig {
        max_body_bytes: a.max_body_bytes,
        max_concurrency: a.max_concurrency,
        max_batch: a.max_batch,
        top_k: a.top_k,
        any_host: !a.bind.is_loopback(),
        token,
    };
    let has_token = cfg.token.is_some();
    let state = AppState::new(env, cfg);
    let addr = SocketAddr::new(a.bind, a.port);
    let runtime = tokio::runtime::Runtime::new()?;
    let served = state.clone();
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
        let source = a.snapshot.as_ref().map_or("the live web".to_string(), |d| d.display().to_string());
        let lock = if has_token { "token required; " } else { "" };
        println!(
            "webtape serve: {:?} mode over {source} at http://{} ({lock}Ctrl-C or SIGTERM to stop)",
            a.mode,
            listener.local_addr()?
        );
        std::io::Write::flush(&mut std::io::stdout())?;
        server::serve(served, listener, super::sim::stop_signal()).await?;
        anyhow::Ok(())
    })?;
    drop(runtime); // ends every connection task, so nothing is left in flight
    let log = state.env.run_log();
    let cov = log.coverage();
    println!(
        "served {} tool calls: {} exact, {} bm25, {} miss, {} live (exact share {:.1}%); run digest {}",
        log.entries(),
        cov.exact,
        cov.bm25,
        cov.miss,
        cov.live,
        100.0 * cov.exact_share(),
        log.digest()
    );
    let state =
        std::sync::Arc::try_unwrap(state).map_err(|_| anyhow::anyhow!("server state still shared at shutdown"))?;
    state.env.close()?;
    Ok(ExitCode::SUCCESS)
}
