//! `webtape sim ...`: serve the built-in synthetic web on loopback, or write its questions as JSONL.
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use webtape::sim::{self, Fault, FaultConfig, SimConfig, Split, World, WorldConfig};

#[derive(Subcommand)]
pub enum SimCommand {
    /// Serve the sim web: HTML pages, robots.txt, Serper/SearXNG/Brave/Tavily-shaped search and an
    /// OpenAI-compatible reading model, all over one port. Stops on Ctrl-C or SIGTERM.
    ///
    /// Endpoints: `POST /search` (Serper `{"q"}` or Tavily `{"query"}`), `GET /search?q=&format=json` (SearXNG),
    /// `GET /res/v1/web/search?q=` (Brave), `POST /v1/chat/completions`, pages at their paths, plus test paths
    /// `/redirect?to=URL`, `/status/CODE` and `/__sim/stats` (requests seen per path).
    Serve {
        /// Port to listen on (0 picks a free one; the first line printed says which).
        #[arg(long, default_value_t = 8088)]
        port: u16,
        /// Address to bind.
        #[arg(long, default_value = "127.0.0.1")]
        bind: IpAddr,
        #[command(flatten)]
        world: WorldArgs,
        /// Misbehaviours to inject (comma-separated).
        #[arg(long, value_enum, value_delimiter = ',')]
        faults: Vec<Fault>,
        /// Share of pages and search queries that misbehave (0..1).
        #[arg(long, default_value_t = 0.0)]
        fault_rate: f64,
        /// Attempts that see a transient fault (slow, too-many, server-error, truncated) before it clears.
        #[arg(long, default_value_t = 1)]
        fault_transient: u32,
        /// Delay of `slow` answers, milliseconds.
        #[arg(long, default_value_t = 3000)]
        slow_ms: u64,
        /// Seconds in `Retry-After` of 429 answers.
        #[arg(long, default_value_t = 1)]
        retry_after: u64,
        /// Demand this key from search and reader clients (each in its provider's own header).
        #[arg(long)]
        api_key: Option<String>,
        /// Answer searches with what real providers return beside the results, built from the top hits: Serper's
        /// answerBox, knowledgeGraph, peopleAlsoAsk and relatedSearches, Tavily's answer, SearXNG's answers,
        /// infoboxes, suggestions and an unresponsive engine (a partial failure)
        #[arg(long)]
        side_data: bool,
        /// Base URL search results link to (e.g. `https://sim.test` when the sim sits behind a TLS front under
        /// that name); default: `http://` and the Host the client used.
        #[arg(long)]
        link_base: Option<String>,
    },
    /// Write the sim world's questions as JSONL: `{"id", "question", "answers", "hops", "split", "support",
    /// "expert_queries", "expert_notes"}` (support: the pages holding the facts; expert_queries: one search per hop
    /// that finds them; expert_notes: per hop, the infobox fact read there, e.g. `Employer: Zas Motorenwerke`).
    Questions {
        #[command(flatten)]
        world: WorldArgs,
        /// Which questions.
        #[arg(long, value_enum, default_value = "all")]
        split: SplitArg,
        /// Output file (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write every page of the sim world as JSONL `{"path", "title"}` (the titles make a query file whose
    /// recording captures the whole world).
    Pages {
        #[command(flatten)]
        world: WorldArgs,
        /// Output file (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Args)]
pub struct WorldArgs {
    /// Seed of the world (same seed, same pages and questions).
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Number of entities (people, places, organisations, works).
    #[arg(long, default_value_t = 300)]
    entities: usize,
}

impl WorldArgs {
    fn config(&self) -> WorldConfig {
        WorldConfig { seed: self.seed, entities: self.entities, ..WorldConfig::default() }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SplitArg {
    Train,
    Test,
    All,
}

pub fn run(command: SimCommand) -> Result<ExitCode> {
    match command {
        SimCommand::Serve {
            port,
            bind,
            world,
            faults,
            fault_rate,
            fault_transient,
            slow_ms,
            retry_after,
            api_key,
            side_data,
            link_base,
        } => {
            let fault_seed = world.seed;
            let faults = FaultConfig {
                rate: fault_rate,
                kinds: faults,
                transient: fault_transient,
                slow_ms,
                retry_after,
                seed: fault_seed,
            };
            let cfg = SimConfig { world: world.config(), faults, api_key, side_data, link_base };
            serve(&cfg, SocketAddr::new(bind, port))
        }
        SimCommand::Questions { world, split, out } => {
            let world = World::generate(&world.config())?;
            let mut text = String::new();
            for q in world.questions.iter().filter(|q| match split {
                SplitArg::All => true,
                SplitArg::Train => q.split == Split::Train,
                SplitArg::Test => q.split == Split::Test,
            }) {
                let line = serde_json::json!({"id": q.id, "question": q.question, "answers": q.answers,
                    "hops": q.hops, "split": q.split, "data_source": "sim", "support": q.support,
                    "expert_queries": q.expert_queries, "expert_notes": q.expert_notes});
                text.push_str(&line.to_string());
                text.push('\n');
            }
            write_out(out, &text)
        }
        SimCommand::Pages { world, out } => {
            let world = World::generate(&world.config())?;
            let text: String = world
                .pages
                .iter()
                .map(|p| format!("{}\n", serde_json::json!({"path": p.path, "title": p.title})))
                .collect();
            write_out(out, &text)
        }
    }
}

/// Writes to the file, or to stdout (a closed pipe, as from `| head`, ends quietly).
fn write_out(out: Option<PathBuf>, text: &str) -> Result<ExitCode> {
    match out {
        Some(path) => std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?,
        None => match std::io::stdout().lock().write_all(text.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other?,
        },
    }
    Ok(ExitCode::SUCCESS)
}

fn serve(cfg: &SimConfig, addr: SocketAddr) -> Result<ExitCode> {
    let state = std::sync::Arc::new(sim::SimState::new(cfg)?);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
        let local = listener.local_addr()?;
        println!(
            "sim web: {} pages, {} questions at http://{local} (Ctrl-C to stop)",
            state.world.pages.len(),
            state.world.questions.len()
        );
        std::io::stdout().flush()?;
        sim::server::serve(state, listener, stop_signal()).await?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Ctrl-C or SIGTERM.
pub async fn stop_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
}
