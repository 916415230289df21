//! `webtape model`: model folders without a download — `init` builds a tiny random Qwen2 checkpoint whose BPE
//! tokenizer is trained on a snapshot's text; `pretrain` builds a small pretrained base from seeded sim worlds;
//! `merge` folds a LoRA adapter into its base as a full checkpoint; `logits` and `bench-generate` measure one
//! (see `model_probe`).
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use tch::Device;
use webtape::model::init::{corpus_from_snapshot, init_model, parameter_count, InitSpec};
use webtape::model::policy::DEFAULT_SHARD_BYTES;
use webtape::model::tokenizer::TextTokenizer;
use webtape::model::{ModelConfig, Policy};
use webtape::snapshot::Snapshot;
use webtape::train::pretrain::PretrainConfig;

#[derive(Subcommand)]
pub enum ModelCommand {
    /// Build a tiny random Qwen2 checkpoint (config, safetensors, tokenizer, Qwen2.5 chat template) with a byte-level
    /// BPE tokenizer trained on the snapshot's page text. Same snapshot + spec → byte-identical files; rerunning
    /// into a finished folder does nothing.
    Init(InitArgs),
    /// Build a small pretrained base from seeds alone (the demo's `models/sim-base`): serve and record seeded sim
    /// worlds, train a tokenizer and a tiny Qwen2 policy on them, and train it on the scripted expert's turn
    /// windows, so it can copy names, URLs and facts from its context. Same config, same CPU kernels → the same
    /// bytes (see `webtape doctor` for the kernels in use). Takes about half an hour on 2 cores at the committed
    /// config; everything but the base itself goes to `work_dir`.
    Pretrain(PretrainArgs),
    /// Fold a LoRA adapter (a PEFT folder: adapter_config.json + adapter_model.safetensors, e.g. a `[lora]` run's
    /// step-NNNNNN) into its base weights, W + alpha/r · B A, and write a full checkpoint that `transformers`,
    /// `webtape eval` and `webtape generate` load like any other.
    Merge(MergeArgs),
    /// Write the logits a checkpoint gives for lists of token ids (each list alone, f32, safetensors): the
    /// numbers to hold against another implementation, e.g. `transformers`, on CPU or CUDA, in any dtype.
    Logits(super::model_probe::LogitsArgs),
    /// Time generation of exactly N new tokens (EOS ignored) for batches of given prompts, at several batch
    /// sizes, after a warm-up: seconds, prefill seconds, tokens/s, and the tokens (greedy by default).
    BenchGenerate(super::model_probe::BenchGenerateArgs),
}

#[derive(Args)]
pub struct PretrainArgs {
    /// The pretraining config (TOML: out, work_dir, [worlds] seeds/entities/port, [init], [env] date and rules,
    /// [rollout], [train] sft_*); see configs/sim-base.toml.
    #[arg(long)]
    config: PathBuf,
    /// Write the base here instead of the config's `out`.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
pub struct MergeArgs {
    /// The adapter folder.
    #[arg(long)]
    adapter: PathBuf,
    /// The base checkpoint (default: the adapter's base_model_name_or_path).
    #[arg(long)]
    base: Option<PathBuf>,
    /// Where to write the merged checkpoint.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
pub struct InitArgs {
    /// Snapshot whose page titles and texts train the tokenizer (default with --config: its [env] snapshot).
    #[arg(long, required_unless_present = "config")]
    snapshot: Option<PathBuf>,
    /// Checkpoint folder to create (default with --config: its [model] path).
    #[arg(long, required_unless_present = "config")]
    out: Option<PathBuf>,
    /// TOML file of the model spec (keys: vocab_size, hidden_size, num_hidden_layers, num_attention_heads,
    /// num_key_value_heads, intermediate_size, max_position_embeddings, rope_theta, tie_word_embeddings, seed,
    /// init_std, max_corpus_chars, agent_repeats); flags below override it.
    #[arg(long, conflicts_with = "config")]
    spec: Option<PathBuf>,
    /// A training config: snapshot = [env] snapshot, out = [model] path, spec = its [init] section.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Vocabulary size, special and tool tokens included.
    #[arg(long)]
    vocab_size: Option<usize>,
    /// Width of the residual stream.
    #[arg(long)]
    hidden_size: Option<usize>,
    /// Transformer blocks.
    #[arg(long)]
    layers: Option<usize>,
    /// Attention heads.
    #[arg(long)]
    heads: Option<usize>,
    /// Key/value heads (grouped-query attention).
    #[arg(long)]
    kv_heads: Option<usize>,
    /// MLP width.
    #[arg(long)]
    intermediate_size: Option<usize>,
    /// Longest sequence (prompt + response) the model supports.
    #[arg(long)]
    max_positions: Option<usize>,
    /// Seed of the random weights.
    #[arg(long)]
    seed: Option<u64>,
    /// Most characters of page text used to train the tokenizer.
    #[arg(long)]
    max_corpus_chars: Option<usize>,
}

pub fn run(cmd: ModelCommand) -> Result<ExitCode> {
    match cmd {
        ModelCommand::Init(args) => init(args),
        ModelCommand::Pretrain(args) => pretrain(args),
        ModelCommand::Merge(args) => merge(args),
        ModelCommand::Logits(args) => super::model_probe::logits(args),
        ModelCommand::BenchGenerate(args) => super::model_probe::bench_generate(args),
    }
}

fn pretrain(args: PretrainArgs) -> Result<ExitCode> {
    let mut cfg = PretrainConfig::from_file(&args.config)?;
    if let Some(out) = args.out {
        cfg.out = out;
    }
    let started = Instant::now();
    let say = |what: &str| eprintln!("[{:>5.0}s] {what}", started.elapsed().as_secs_f64());
    let report =
        webtape::train::pretrain::pretrain(&cfg, &say).with_context(|| format!("pretraining {}", cfg.out.display()))?;
    println!(
        "pretrained {}: {} parameters, vocab {}; {} worlds, {} pages, {} questions, {} expert trajectories; \
         loss {:.3} -> {:.3} in {} steps{}; {:.0}s",
        cfg.out.display(),
        report.parameters,
        report.vocab,
        cfg.worlds.seeds.len(),
        report.pages,
        report.questions,
        report.trajectories,
        report.first_loss,
        report.final_loss,
        cfg.train.sft_steps,
        cfg.finish.as_ref().map_or(String::new(), |f| format!(" + {} finishing steps on whole episodes", f.sft_steps)),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

fn merge(args: MergeArgs) -> Result<ExitCode> {
    let mut policy = Policy::load_adapter(&args.adapter, args.base.as_deref(), Device::Cpu, None)
        .with_context(|| format!("loading adapter {}", args.adapter.display()))?;
    let lora = policy.lora().cloned().context("no adapter loaded")?;
    policy.merge_lora()?;
    policy.save(&args.out, DEFAULT_SHARD_BYTES).with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "merged adapter {} (r {}, alpha {}, {}) with base {}: wrote {}",
        args.adapter.display(),
        lora.rank,
        lora.alpha,
        lora.sorted_targets().join(","),
        policy.base_dir().display(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn init(args: InitArgs) -> Result<ExitCode> {
    let (snapshot, out, spec) = resolve(&args)?;
    spec.validate()?;
    let started = Instant::now();
    let existed = out.join("init_spec.json").exists();
    let spinner = webtape::progress::spinner("model init");
    spinner.enable_steady_tick(Duration::from_millis(200));
    spinner.set_message("reading snapshot text");
    let snap = Snapshot::open(&snapshot).with_context(|| format!("opening snapshot {}", snapshot.display()))?;
    let corpus = corpus_from_snapshot(&snap, spec.max_corpus_chars, spec.agent_repeats)?;
    spinner.set_message("training tokenizer and writing weights");
    let done = init_model(&spec, &corpus, &out);
    spinner.finish_and_clear();
    done.with_context(|| format!("initialising {}", out.display()))?;
    let vocab = TextTokenizer::from_dir(&out)?.vocab_size();
    let config = ModelConfig::from_dir(&out)?;
    println!(
        "{} {}: vocab {vocab} (embedding rows {}), {} parameters ({} layers, hidden {}), {} corpus texts, {:.1}s",
        if existed { "unchanged" } else { "initialised" },
        out.display(),
        config.vocab_size,
        parameter_count(&config),
        config.num_layers,
        config.hidden_size,
        corpus.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Snapshot, output folder and spec from --config or --spec, with flags applied.
fn resolve(args: &InitArgs) -> Result<(PathBuf, PathBuf, InitSpec)> {
    let (mut snapshot, mut out, mut spec) = (args.snapshot.clone(), args.out.clone(), InitSpec::default());
    if let Some(path) = &args.config {
        let cfg = webtape::config::TrainConfig::from_file(path)?;
        spec = cfg.init.clone().with_context(|| format!("{}: no [init] section (the model spec)", path.display()))?;
        snapshot = snapshot.or(cfg.env.snapshot.clone());
        out = out.or(Some(cfg.model.path.clone()));
    } else if let Some(path) = &args.spec {
        spec = read_spec(path)?;
    }
    let overrides = [
        (&mut spec.vocab_size, args.vocab_size),
        (&mut spec.hidden_size, args.hidden_size),
        (&mut spec.num_hidden_layers, args.layers),
        (&mut spec.num_attention_heads, args.heads),
        (&mut spec.num_key_value_heads, args.kv_heads),
        (&mut spec.intermediate_size, args.intermediate_size),
        (&mut spec.max_position_embeddings, args.max_positions),
        (&mut spec.max_corpus_chars, args.max_corpus_chars),
    ];
    for (field, flag) in overrides {
        if let Some(v) = flag {
            *field = v;
        }
    }
    spec.seed = args.seed.unwrap_or(spec.seed);
    let snapshot = snapshot.context("no snapshot: pass --snapshot (or set [env] snapshot in the config)")?;
    let out = out.context("no output folder: pass --out")?;
    Ok((snapshot, out, spec))
}

fn read_spec(path: &Path) -> Result<InitSpec> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("{}: not a valid model spec", path.display()))
}
