//! `webtape model logits` and `webtape model bench-generate`: a checkpoint's logits for given token ids (to hold
//! against `transformers`), and timed fixed-length generation at several batch sizes (throughput).
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};
use clap::Args;
use tch::Tensor;
use webtape::model::probe::{sequence_logits, timed_generation, Picking};
use webtape::model::{parse_device, parse_kind, Policy};

#[derive(Args)]
pub struct LogitsArgs {
    /// Checkpoint folder (config.json, *.safetensors, tokenizer.json).
    #[arg(long)]
    model: PathBuf,
    /// JSON file holding a list of token id lists, e.g. `[[151644, 872], [9707]]`; each list runs alone.
    #[arg(long)]
    ids: PathBuf,
    /// Where to write the logits: a safetensors file with one f32 tensor `logits.N` `[tokens, vocab]` per list.
    #[arg(long)]
    out: PathBuf,
    /// cpu, cuda, cuda:N or auto.
    #[arg(long, default_value = "auto")]
    device: String,
    /// auto (the checkpoint's), bf16, f16 or f32.
    #[arg(long, default_value = "auto")]
    dtype: String,
}

#[derive(Args)]
pub struct BenchGenerateArgs {
    /// Checkpoint folder.
    #[arg(long)]
    model: PathBuf,
    /// JSON file holding a list of prompts (token id lists); batch size B uses the first B.
    #[arg(long)]
    prompts: PathBuf,
    /// Batch sizes to time, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64,256")]
    batch_sizes: Vec<usize>,
    /// New tokens per sequence (end-of-sequence tokens do not stop a sequence).
    #[arg(long, default_value_t = 256)]
    new_tokens: usize,
    /// Tokens generated once per batch size before timing (kernel selection, allocator warm-up).
    #[arg(long, default_value_t = 8)]
    warmup_tokens: usize,
    /// 0 = greedy.
    #[arg(long, default_value_t = 0.0)]
    temperature: f32,
    #[arg(long, default_value_t = 1.0)]
    top_p: f32,
    /// 0 = off.
    #[arg(long, default_value_t = 0)]
    top_k: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// cpu, cuda, cuda:N or auto.
    #[arg(long, default_value = "auto")]
    device: String,
    /// auto (the checkpoint's), bf16, f16 or f32.
    #[arg(long, default_value = "auto")]
    dtype: String,
    /// Write the results (seconds, tokens/s and every generated token per batch size) as JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn load(model: &Path, device: &str, dtype: &str) -> Result<Policy> {
    let device = parse_device(device)?;
    let kind = if dtype == "auto" { None } else { Some(parse_kind(dtype)?) };
    let started = Instant::now();
    let policy = Policy::load(model, device, kind).with_context(|| format!("loading {}", model.display()))?;
    eprintln!("loaded {} on {device:?} in {:.1}s", model.display(), started.elapsed().as_secs_f64());
    Ok(policy)
}

/// A JSON list of token id lists.
fn read_id_lists(path: &Path) -> Result<Vec<Vec<u32>>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{}: expected a JSON list of token id lists, e.g. [[1, 2], [3]]", path.display()))
}

pub fn logits(args: LogitsArgs) -> Result<ExitCode> {
    let ids = read_id_lists(&args.ids)?;
    let policy = load(&args.model, &args.device, &args.dtype)?;
    let started = Instant::now();
    let logits = sequence_logits(&policy, &ids)?;
    let seconds = started.elapsed().as_secs_f64();
    let named: Vec<(String, Tensor)> =
        logits.into_iter().enumerate().map(|(i, t)| (format!("logits.{i}"), t)).collect();
    Tensor::write_safetensors(&named, &args.out).with_context(|| format!("writing {}", args.out.display()))?;
    let tokens: usize = ids.iter().map(Vec::len).sum();
    println!("{}", serde_json::json!({"sequences": ids.len(), "tokens": tokens, "seconds": seconds, "out": args.out}));
    Ok(ExitCode::SUCCESS)
}

pub fn bench_generate(args: BenchGenerateArgs) -> Result<ExitCode> {
    let prompts = read_id_lists(&args.prompts)?;
    ensure!(!args.batch_sizes.is_empty(), "--batch-sizes is empty");
    if let Some(&b) = args.batch_sizes.iter().find(|&&b| b == 0 || b > prompts.len()) {
        bail!("batch size {b} needs {b} prompts; {} holds {}", args.prompts.display(), prompts.len());
    }
    ensure!(args.new_tokens > 0, "--new-tokens must be at least 1");
    ensure!(args.temperature >= 0.0 && args.temperature.is_finite(), "--temperature must be >= 0");
    ensure!(args.top_p > 0.0 && args.top_p <= 1.0, "--top-p must be in (0, 1]");
    let policy = load(&args.model, &args.device, &args.dtype)?;
    let picking = Picking { temperature: args.temperature, top_p: args.top_p, top_k: args.top_k, seed: args.seed };
    let mut rows = Vec::new();
    for &b in &args.batch_sizes {
        let timed = timed_generation(&policy, &prompts[..b], args.new_tokens, args.warmup_tokens, picking)
            .with_context(|| format!("batch size {b}"))?;
        eprintln!(
            "batch {b:>4} × {} new tokens: {:.3}s ({:.3}s prefill), {:.1} tokens/s",
            args.new_tokens, timed.seconds, timed.prefill_seconds, timed.tokens_per_s
        );
        rows.push(timed);
    }
    let report = serde_json::json!({
        "model": args.model, "device": args.device, "dtype": args.dtype, "picking": picking,
        "prompt_tokens": prompts.iter().map(Vec::len).collect::<Vec<_>>(), "runs": rows,
    });
    match &args.out {
        Some(path) => {
            std::fs::write(path, serde_json::to_vec(&report)?).with_context(|| format!("writing {}", path.display()))?
        }
        None => println!("{report}"),
    }
    Ok(ExitCode::SUCCESS)
}
