//! \[train\] Measurements of a loaded policy that other implementations can be held against: the logits of given
//! token ids (parity with `transformers`), and timed fixed-length generation (throughput). Used by
//! `webtape model logits` and `webtape model bench-generate`; nothing here trains or changes the model.
use std::time::Instant;

use tch::{Device, Kind, Tensor};

use super::generate::generate;
use super::policy::Policy;
use crate::agent::generator::{GenRequest, SamplingParams};
use crate::{Error, Result};

/// Logits `[t, vocab]` (f32, on the CPU) of each sequence of `ids`, each run alone (no padding), as
/// `transformers` computes `model(ids).logits[0]`.
pub fn sequence_logits(policy: &Policy, ids: &[Vec<u32>]) -> Result<Vec<Tensor>> {
    let model = policy.decoder();
    check_ids(ids, model.config.vocab_size, model.max_positions())?;
    ids.iter()
        .map(|row| {
            let tokens: Vec<i64> = row.iter().map(|&t| i64::from(t)).collect();
            let input = Tensor::from_slice(&tokens).unsqueeze(0).to_device(model.device());
            let mask = Tensor::ones([1, tokens.len() as i64], (Kind::Int64, model.device()));
            let logits = tch::no_grad(|| model.forward_logits(&input, &mask))?;
            Ok(logits.squeeze_dim(0).to_kind(Kind::Float).to_device(Device::Cpu))
        })
        .collect()
}

fn check_ids(ids: &[Vec<u32>], vocab: i64, max_positions: i64) -> Result<()> {
    if ids.is_empty() {
        return Err(Error::Config("no token id lists given".into()));
    }
    for (i, row) in ids.iter().enumerate() {
        if row.is_empty() {
            return Err(Error::Config(format!("token id list {i} is empty")));
        }
        if let Some(bad) = row.iter().find(|&&t| i64::from(t) >= vocab) {
            return Err(Error::Config(format!("token id list {i}: id {bad} is outside the vocabulary ({vocab})")));
        }
        if row.len() as i64 > max_positions {
            return Err(Error::Config(format!(
                "token id list {i} has {} ids; the model has {max_positions} positions",
                row.len()
            )));
        }
    }
    Ok(())
}

/// How tokens are picked in a timed generation.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Picking {
    /// 0 = greedy.
    pub temperature: f32,
    pub top_p: f32,
    pub top_k: usize,
    pub seed: u64,
}

/// One timed generation of a batch.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TimedGeneration {
    pub batch: usize,
    pub new_tokens: usize,
    /// Wall-clock seconds of the whole call (prefill + every decode step), the device synchronised on both ends.
    pub seconds: f64,
    /// The same call with one new token: the prefill and the first pick.
    pub prefill_seconds: f64,
    /// `batch × new_tokens / seconds`.
    pub tokens_per_s: f64,
    /// The tokens of each row (exactly `new_tokens` each: end-of-sequence tokens do not stop a row).
    pub tokens: Vec<Vec<u32>>,
}

/// Generates exactly `new_tokens` tokens for each of `prompts` (one batch; EOS ignored, no stop strings) after a
/// warm-up of `warmup_tokens`, and times it; also times a one-token call (the prefill). Each sequence's stream is
/// its row number.
pub fn timed_generation(
    policy: &Policy,
    prompts: &[Vec<u32>],
    new_tokens: usize,
    warmup_tokens: usize,
    picking: Picking,
) -> Result<TimedGeneration> {
    if prompts.is_empty() || new_tokens == 0 {
        return Err(Error::Config("a timed generation needs at least one prompt and one new token".into()));
    }
    let requests: Vec<GenRequest> =
        prompts.iter().enumerate().map(|(i, p)| GenRequest { prompt: p.clone(), stream: i as u64 }).collect();
    let run = |n: usize| -> Result<(f64, Vec<Vec<u32>>)> {
        let params = SamplingParams {
            max_new_tokens: n,
            temperature: picking.temperature,
            top_p: picking.top_p,
            top_k: picking.top_k,
            stop: Vec::new(),
            seed: picking.seed,
        };
        synchronize(policy);
        let started = Instant::now();
        let outputs = generate(policy.decoder(), policy.tokenizer(), &[], &requests, &params)?;
        synchronize(policy);
        Ok((started.elapsed().as_secs_f64(), outputs.into_iter().map(|o| o.tokens).collect()))
    };
    if warmup_tokens > 0 {
        run(warmup_tokens)?;
    }
    let (prefill_seconds, _) = run(1)?;
    let (seconds, tokens) = run(new_tokens)?;
    Ok(TimedGeneration {
        batch: prompts.len(),
        new_tokens,
        seconds,
        prefill_seconds,
        tokens_per_s: (prompts.len() * new_tokens) as f64 / seconds.max(1e-9),
        tokens,
    })
}

/// Waits for the policy's device to finish queued work (nothing to wait for on the CPU).
fn synchronize(policy: &Policy) {
    if let Device::Cuda(i) = policy.decoder().device() {
        tch::Cuda::synchronize(i as i64);
    }
}
