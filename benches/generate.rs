//! Generation throughput of the tch policy model vs Hugging Face transformers on the same tiny checkpoint,
//! measured in the same run: batched sampling at batch 1, 16 and 64, and prefill (full-sequence forward).
//!
//! `cargo bench --bench generate`. Environment: `WEBTAPE_BENCH_MODEL` (checkpoint folder; default: build the
//! tiny Qwen2 of `tests/py/make_tiny_models.py`), `WEBTAPE_BENCH_DEVICE` (cpu | cuda | auto; default cpu),
//! `WEBTAPE_BENCH_NEW_TOKENS` (default 64), `WEBTAPE_BENCH_PROMPT` (prompt tokens, default 32),
//! `WEBTAPE_BENCH_THREADS` (intra-op threads for both sides, default 1: on a shared 2-core machine more threads
//! only measure the neighbours' load).
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{ensure, Context};
use tch::{Kind, Tensor};
use webtape::agent::generator::{GenRequest, SamplingParams};
use webtape::model::generate::generate;
use webtape::model::{parse_device, Policy};

const BATCHES: [usize; 3] = [1, 16, 64];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Best wall time of `runs` calls after one warm-up call.
fn best_of(runs: usize, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    f()?;
    let mut best = f64::INFINITY;
    for _ in 0..runs {
        let start = Instant::now();
        f()?;
        best = best.min(start.elapsed().as_secs_f64());
    }
    Ok(best)
}

/// Deterministic pseudo-random prompts of `len` tokens in `[10, vocab)`.
fn prompts(batch: usize, len: usize, vocab: u32) -> Vec<GenRequest> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..batch as u64)
        .map(|stream| {
            let prompt = (0..len)
                .map(|_| {
                    state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                    10 + ((state >> 33) as u32) % (vocab - 10)
                })
                .collect();
            GenRequest { prompt, stream }
        })
        .collect()
}

fn model_dir(scratch: &Path) -> anyhow::Result<PathBuf> {
    if let Ok(dir) = std::env::var("WEBTAPE_BENCH_MODEL") {
        return Ok(dir.into());
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/make_tiny_models.py");
    let status = Command::new("python3").arg(script).arg(scratch).status().context("python3 runs")?;
    ensure!(status.success(), "make_tiny_models.py failed");
    Ok(scratch.join("qwen2"))
}

/// Tokens per second of `policy` for each batch size: (generate, prefill).
fn ours(policy: &Policy, prompt_len: usize, new: usize) -> anyhow::Result<Vec<(f64, f64)>> {
    let params = SamplingParams { max_new_tokens: new, temperature: 0.7, top_p: 0.95, seed: 0, ..Default::default() };
    let vocab = policy.decoder().config.vocab_size as u32;
    let mut rows = Vec::new();
    for b in BATCHES {
        let requests = prompts(b, prompt_len, vocab);
        let gen = best_of(3, || {
            let out = generate(policy.decoder(), policy.tokenizer(), &[], &requests, &params)?;
            ensure!(out.iter().all(|o| o.tokens.len() == new), "every sequence runs to max_new_tokens");
            Ok(())
        })?;
        let ids: Vec<i64> = requests.iter().flat_map(|r| r.prompt.iter().map(|&t| t as i64)).collect();
        let ids = Tensor::from_slice(&ids).reshape([b as i64, prompt_len as i64]).to_device(policy.decoder().device());
        let mask = ids.ones_like();
        let pre = best_of(3, || {
            let logits = tch::no_grad(|| policy.decoder().forward_logits(&ids, &mask))?;
            let _ = logits.to_kind(Kind::Float).sum(Kind::Float).double_value(&[]);
            Ok(())
        })?;
        rows.push(((b * new) as f64 / gen, (b * prompt_len) as f64 / pre));
    }
    Ok(rows)
}

fn main() -> anyhow::Result<()> {
    let scratch = tempfile::tempdir()?;
    let dir = model_dir(scratch.path())?;
    let device = parse_device(&std::env::var("WEBTAPE_BENCH_DEVICE").unwrap_or_else(|_| "cpu".into()))?;
    let (prompt_len, new) = (env_usize("WEBTAPE_BENCH_PROMPT", 32), env_usize("WEBTAPE_BENCH_NEW_TOKENS", 64));
    let threads = env_usize("WEBTAPE_BENCH_THREADS", 1);
    tch::set_num_threads(threads as i32);
    let policy = Policy::load(&dir, device, Some(Kind::Float))?;
    println!(
        "model {} on {device:?}, f32, {} threads, prompt {prompt_len}, new {new}",
        dir.display(),
        tch::get_num_threads()
    );
    let ours = ours(&policy, prompt_len, new)?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/py/hf_generate.py");
    let mut args = vec![dir.display().to_string(), prompt_len.to_string(), new.to_string()];
    args.extend(BATCHES.iter().map(|b| b.to_string()));
    let out = Command::new("python3")
        .arg(script)
        .args(&args)
        .env("WEBTAPE_BENCH_THREADS", threads.to_string())
        .output()
        .context("python3 runs")?;
    ensure!(out.status.success(), "hf_generate.py failed: {}", String::from_utf8_lossy(&out.stderr));
    let hf: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    println!("transformers {} (torch {}, {} threads, CPU)", hf["transformers"], hf["torch"], hf["threads"]);
    println!("| batch | webtape gen tok/s | HF gen tok/s | ratio | webtape prefill tok/s | HF prefill tok/s | ratio |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for (b, (gen, pre)) in BATCHES.iter().zip(ours) {
        let hf_gen = hf["generate"][b.to_string()].as_f64().unwrap_or(f64::NAN);
        let hf_pre = hf["prefill"][b.to_string()].as_f64().unwrap_or(f64::NAN);
        println!(
            "| {b} | {gen:.0} | {hf_gen:.0} | {:.2}x | {pre:.0} | {hf_pre:.0} | {:.2}x |",
            gen / hf_gen,
            pre / hf_pre
        );
    }
    Ok(())
}
