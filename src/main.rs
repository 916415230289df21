//! The `webtape` command line: parses flags into library calls and prints results. Errors are printed once,
//! with their cause chain, and the process exits non-zero.
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

mod cli;

/// mimalloc instead of glibc's malloc for every Rust allocation of the binary (libtorch and RocksDB's C++ keep
/// their own): `serve` answers many small JSON requests, and glibc's malloc was about 30 % of its CPU.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use cli::record::RecordArgs;
use cli::serve::ServeArgs;
use cli::sim::SimCommand;
use cli::snapshot::SnapshotCommand;

/// Record the web once, replay it byte for byte: reproducible RL training of deep-research agents.
#[derive(Parser)]
#[command(name = "webtape", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Record a question set from a live search provider into a snapshot: searches, the top result pages
    /// (raw bytes + extracted text), failures included. Resumable after Ctrl-C or a crash.
    Record(RecordArgs),
    /// Serve web_search / browse tool calls over HTTP: `/retrieve` (Search-R1, veRL), `/search` (Serper-style),
    /// `/browse`, `/healthz`, `/metrics`. Replay from a snapshot (deterministic, no network), or live, or record.
    Serve(ServeArgs),
    /// Record and replay any agent's web traffic with no change to it: an HTTP(S) forward proxy with a local CA
    /// (`HTTPS_PROXY`) whose search API calls, pages and chat completions land in a snapshot; `proxy ca` writes
    /// the CA certificate clients trust.
    Proxy(cli::proxy::ProxyArgs),
    /// The built-in synthetic web (a loopback test web with search APIs and fault injection).
    #[command(subcommand)]
    Sim(SimCommand),
    /// Create, fill, inspect, check and export snapshots (RocksDB + tantivy folders of recorded web captures).
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Generate a reply with a Hugging Face checkpoint (Qwen2/Qwen2.5/Qwen3/Llama): chat template, seeded
    /// sampling, stop strings; CPU or CUDA.
    #[cfg(feature = "train")]
    Generate(cli::generate::GenerateArgs),
    /// Train a policy with GRPO (after an optional SFT warm start) against a snapshot, the live web or a remote
    /// `webtape serve`; checkpoints, metrics.jsonl and curves.png in the run folder; `--resume` continues exactly.
    #[cfg(feature = "train")]
    Train(cli::train::TrainArgs),
    /// Evaluate a checkpoint on a question set against a snapshot: F1 / EM / format errors / tool calls per dataset.
    #[cfg(feature = "train")]
    Eval(cli::train::EvalArgs),
    /// Write the scripted expert's trajectories (search, browse, answer in the policy's exact chat format)
    /// against a snapshot: the SFT warm-start data for `[data] sft`.
    #[cfg(feature = "train")]
    Expert(cli::train::ExpertArgs),
    /// Build model folders without a download: `model init` makes a tiny random Qwen2 checkpoint whose BPE
    /// tokenizer is trained on a snapshot's text (reproducible from a seed).
    #[cfg(feature = "train")]
    #[command(subcommand)]
    Model(cli::model::ModelCommand),
    /// Score another system's predictions (`{"id", "response"}` or `{"id", "answer"}` JSONL) against a question
    /// file with exactly the training reward (DeepResearcher's format check + token F1): a per-`data_source` table.
    Score(cli::score::ScoreArgs),
    /// Run digests of calls spread over several `webtape serve` replicas: `digest combine` adds up each one's
    /// `GET /digest` parts into the digest one server would have given.
    #[command(subcommand)]
    Digest(cli::digest::DigestCommand),
    /// Report the build: version, features, and whether libtorch (and CUDA) load.
    Doctor,
}

/// libtorch picks its CPU kernels by what the machine offers (AVX-512 where present, else AVX2) and MKL its GEMM
/// code path; different kernels round differently, so a seeded run printed other numbers on another CPU. Unless
/// the user set them, both are pinned to AVX2 (any x86-64 CPU of the last decade), so a seeded CPU run gives the
/// same bits on AVX2 and AVX-512 machines. Set `ATEN_CPU_CAPABILITY` (e.g. `avx512`) / `MKL_CBWR` to choose.
fn pin_cpu_kernels() {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        for (var, value) in [("ATEN_CPU_CAPABILITY", "avx2"), ("MKL_CBWR", "AVX2,STRICT")] {
            if std::env::var_os(var).is_none() {
                // Before any thread or libtorch call: nothing else reads the environment yet.
                std::env::set_var(var, value);
            }
        }
    }
}

/// Subcommands of the `train` feature: an environment-only build names the build that has them.
#[cfg(not(feature = "train"))]
const TRAIN_COMMANDS: [&str; 5] = ["train", "eval", "expert", "generate", "model"];

fn main() -> ExitCode {
    pin_cpu_kernels();
    #[cfg(not(feature = "train"))]
    if let Some(command) = std::env::args().nth(1).filter(|c| TRAIN_COMMANDS.contains(&c.as_str())) {
        eprintln!(
            "error: `webtape {command}` is not in this build: it is the environment-only build (record, serve, proxy, \
             snapshot, sim, score, digest; no libtorch). Training needs the default build: `cargo install --path .` \
             (or `cargo build --release`), which also installs PyTorch's libtorch through `make deps`."
        );
        return ExitCode::from(2);
    }
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            if disk_full(&format!("{e:#}")) {
                eprintln!(
                    "error: the disk is full (no space left on the device holding the files named above). Nothing \
                     already written is lost: free space, then rerun the same command (or `webtape snapshot repair`)."
                );
            }
            ExitCode::FAILURE
        }
    }
}

/// Whether an error message says the filesystem is out of space (ENOSPC, or RocksDB's and tantivy's words for it).
fn disk_full(message: &str) -> bool {
    message.contains("No space left on device") || message.contains("os error 28") || message.contains("ENOSPC")
}

fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Snapshot(c) => cli::snapshot::run(c),
        Command::Record(a) => cli::record::run(a),
        Command::Sim(c) => cli::sim::run(c),
        Command::Serve(a) => cli::serve::run(a),
        Command::Proxy(a) => cli::proxy::run(a),
        Command::Score(a) => cli::score::score(a),
        Command::Digest(c) => cli::digest::run(c),
        #[cfg(feature = "train")]
        Command::Train(a) => cli::train::train(a),
        #[cfg(feature = "train")]
        Command::Eval(a) => cli::train::evaluate(a),
        #[cfg(feature = "train")]
        Command::Expert(a) => cli::train::expert(a),
        #[cfg(feature = "train")]
        Command::Generate(a) => cli::generate::generate(a).map(|()| ExitCode::SUCCESS),
        #[cfg(feature = "train")]
        Command::Model(c) => cli::model::run(c),
        Command::Doctor => {
            println!("webtape {}", env!("CARGO_PKG_VERSION"));
            #[cfg(feature = "train")]
            println!("{}", webtape::torch_info::describe());
            #[cfg(not(feature = "train"))]
            println!("libtorch: not built in (the `train` feature is off)");
            Ok(ExitCode::SUCCESS)
        }
    }
}
