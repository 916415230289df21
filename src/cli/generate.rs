//! `webtape generate`: sample a reply from a Hugging Face checkpoint (Qwen2/Qwen2.5/Qwen3/Llama) with the policy
//! model, on CPU or CUDA, reproducibly from a seed.
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use webtape::agent::generator::{ChatCodec, ChatMessage, GenRequest, Generator, SamplingParams};
use webtape::model::{parse_device, parse_kind, Policy};

#[derive(Args)]
pub struct GenerateArgs {
    /// Checkpoint folder (config.json, *.safetensors, tokenizer.json, tokenizer_config.json).
    #[arg(long)]
    model: PathBuf,
    /// The user message (rendered with the checkpoint's chat template unless --raw).
    #[arg(long)]
    prompt: String,
    /// Optional system message.
    #[arg(long)]
    system: Option<String>,
    /// Feed the prompt text as is, without the chat template.
    #[arg(long)]
    raw: bool,
    #[arg(long, default_value_t = 256)]
    max_new_tokens: usize,
    /// 0 = greedy.
    #[arg(long, default_value_t = 0.7)]
    temperature: f32,
    #[arg(long, default_value_t = 0.95)]
    top_p: f32,
    /// 0 = off.
    #[arg(long, default_value_t = 0)]
    top_k: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Number of samples (streams 0..n, generated as one batch).
    #[arg(long, default_value_t = 1)]
    num_samples: usize,
    /// Stop string (repeatable), e.g. --stop '</tool_call>'.
    #[arg(long)]
    stop: Vec<String>,
    /// cpu, cuda, cuda:N or auto.
    #[arg(long, default_value = "auto")]
    device: String,
    /// auto (the checkpoint's), bf16, f16 or f32.
    #[arg(long, default_value = "auto")]
    dtype: String,
    /// Print JSON (tokens, log-probs, text, finish reason) instead of the text.
    #[arg(long)]
    json: bool,
}

pub fn generate(args: GenerateArgs) -> anyhow::Result<()> {
    let device = parse_device(&args.device)?;
    let kind = if args.dtype == "auto" { None } else { Some(parse_kind(&args.dtype)?) };
    let started = Instant::now();
    let mut policy =
        Policy::load(&args.model, device, kind).with_context(|| format!("loading {}", args.model.display()))?;
    eprintln!("loaded {} on {device:?} in {:.1}s", args.model.display(), started.elapsed().as_secs_f64());
    let text = if args.raw {
        args.prompt.clone()
    } else {
        let mut messages = Vec::new();
        if let Some(system) = &args.system {
            messages.push(ChatMessage::new("system", system));
        }
        messages.push(ChatMessage::new("user", &args.prompt));
        policy.render_chat(&messages, &[], true)?
    };
    let prompt = policy.encode(&text)?;
    let requests: Vec<GenRequest> =
        (0..args.num_samples as u64).map(|stream| GenRequest { prompt: prompt.clone(), stream }).collect();
    let params = SamplingParams {
        max_new_tokens: args.max_new_tokens,
        temperature: args.temperature,
        top_p: args.top_p,
        top_k: args.top_k,
        stop: args.stop.clone(),
        seed: args.seed,
    };
    let started = Instant::now();
    let outputs = policy.generate(&requests, &params)?;
    let secs = started.elapsed().as_secs_f64();
    let total: usize = outputs.iter().map(|o| o.tokens.len()).sum();
    eprintln!("{total} new tokens ({} prompt tokens) in {secs:.2}s: {:.1} tokens/s", prompt.len(), total as f64 / secs);
    for out in &outputs {
        if args.json {
            println!("{}", serde_json::to_string(out)?);
        } else {
            println!("{}", out.text);
            eprintln!("[finish: {:?}]", out.finish);
        }
    }
    Ok(())
}
