//! Batched generation: left-padded prefill into a [`KvCache`], one token per live sequence per step, finished
//! sequences dropped from the batch, temperature / top-k / top-p / greedy picking with per-sequence seeded
//! streams, stop strings and EOS.
use tch::{Device, Kind, Tensor};

use super::attention::KvCache;
use super::decoder::Decoder;
use super::sampling::{draw, nucleus, SeqRng};
use super::tokenizer::TextTokenizer;
use crate::agent::generator::{FinishReason, GenOutput, GenRequest, SamplingParams};
use crate::TorchResult;
use crate::{Error, Result};

/// One sequence being generated.
#[derive(Debug)]
struct Seq {
    rng: SeqRng,
    next_pos: i64,
    tokens: Vec<u32>,
    logprobs: Vec<f32>,
    model_logprobs: Vec<f32>,
    finish: Option<FinishReason>,
}

/// A picked token with its sampling log-prob and its temperature-1 log-prob.
type Pick = (u32, f32, f32);

/// Continues every request (see [`crate::agent::generator::Generator::generate`]); `eos` ends a sequence.
pub fn generate(
    model: &Decoder,
    tokenizer: &TextTokenizer,
    eos: &[u32],
    requests: &[GenRequest],
    params: &SamplingParams,
) -> Result<Vec<GenOutput>> {
    if requests.is_empty() {
        return Ok(Vec::new());
    }
    let longest = requests.iter().map(|r| r.prompt.len()).max().unwrap_or(0) as i64;
    check_request(model, requests, params, longest)?;
    let capacity = longest + params.max_new_tokens as i64;
    let mut cache = KvCache::new(&model.config, requests.len() as i64, capacity, model.kind(), model.device());
    let mut seqs: Vec<Seq> = requests
        .iter()
        .map(|r| Seq {
            rng: SeqRng::new(params.seed, r.stream),
            next_pos: r.prompt.len() as i64,
            tokens: Vec::new(),
            logprobs: Vec::new(),
            model_logprobs: Vec::new(),
            finish: None,
        })
        .collect();
    let window = params.stop.iter().map(|s| s.len()).max().unwrap_or(0) + 2;
    let mut logits = tch::no_grad(|| prefill(model, requests, longest, &mut cache))?;
    let mut live: Vec<usize> = (0..requests.len()).collect();
    while !live.is_empty() {
        let picks = {
            // `live` is ascending, so rows line up with the live sequences in order.
            let mut rngs: Vec<&mut SeqRng> = seqs
                .iter_mut()
                .enumerate()
                .filter_map(|(i, s)| live.binary_search(&i).ok().map(|_| &mut s.rng))
                .collect();
            pick(&logits, params, &mut rngs)?
        };
        let mut still = Vec::with_capacity(live.len());
        for (row, (&i, pick)) in live.iter().zip(picks).enumerate() {
            if record(&mut seqs[i], pick, eos, tokenizer, params, window)? {
                still.push(row);
            }
        }
        if still.len() != live.len() {
            live = still.iter().map(|&row| live[row]).collect();
            if live.is_empty() {
                break;
            }
            let rows: Vec<i64> = still.iter().map(|&r| r as i64).collect();
            cache.retain(&rows);
        }
        logits = tch::no_grad(|| decode_step(model, &live, &seqs, &mut cache))?;
    }
    seqs.into_iter().map(|s| finish(s, tokenizer)).collect()
}

fn check_request(model: &Decoder, requests: &[GenRequest], params: &SamplingParams, longest: i64) -> Result<()> {
    if requests.iter().any(|r| r.prompt.is_empty()) {
        return Err(Error::Config("a generation request has an empty prompt".into()));
    }
    let vocab = model.config.vocab_size as u32;
    if let Some(bad) = requests.iter().flat_map(|r| &r.prompt).find(|&&t| t >= vocab) {
        return Err(Error::Config(format!("prompt token id {bad} is outside the vocabulary ({vocab})")));
    }
    if params.max_new_tokens == 0 {
        return Err(Error::Config("max_new_tokens must be at least 1".into()));
    }
    let needed = longest + params.max_new_tokens as i64;
    if needed > model.max_positions() {
        let max = model.max_positions();
        return Err(Error::Config(format!(
            "prompt ({longest}) + max_new_tokens needs {needed} positions; the model has {max}"
        )));
    }
    Ok(())
}

/// Runs all prompts, left-padded to `width`, through the model; returns last-position logits `[b, vocab]` f32.
fn prefill(model: &Decoder, requests: &[GenRequest], width: i64, cache: &mut KvCache) -> Result<Tensor> {
    let b = requests.len();
    let (mut ids, mut pos, mut valid) = (Vec::new(), Vec::new(), Vec::new());
    for r in requests {
        let pad = width - r.prompt.len() as i64;
        for j in 0..width {
            let real = j >= pad;
            ids.push(if real { r.prompt[(j - pad) as usize] as i64 } else { 0 });
            pos.push(if real { j - pad } else { 0 });
            valid.push(real);
        }
    }
    let dev = model.device();
    let shape = [b as i64, width];
    let ids = Tensor::from_slice(&ids).reshape(shape).to_device(dev);
    let pos = Tensor::from_slice(&pos).reshape(shape).to_device(dev);
    let valid = Tensor::from_slice(&valid).reshape(shape).to_device(dev);
    let hidden = model.forward_hidden(&ids, &pos, &valid, Some(cache))?;
    Ok(model.logits(&hidden.select(1, width - 1)).to_kind(Kind::Float))
}

/// Feeds each live sequence its last token; returns the next logits `[live, vocab]` f32.
fn decode_step(model: &Decoder, live: &[usize], seqs: &[Seq], cache: &mut KvCache) -> Result<Tensor> {
    let dev = model.device();
    let n = live.len() as i64;
    let ids: Vec<i64> = live.iter().map(|&i| *seqs[i].tokens.last().expect("one token picked") as i64).collect();
    let pos: Vec<i64> = live.iter().map(|&i| seqs[i].next_pos - 1).collect();
    let ids = Tensor::from_slice(&ids).reshape([n, 1]).to_device(dev);
    let pos = Tensor::from_slice(&pos).reshape([n, 1]).to_device(dev);
    let valid = Tensor::ones([n, 1], (Kind::Bool, dev));
    let hidden = model.forward_hidden(&ids, &pos, &valid, Some(cache))?;
    Ok(model.logits(&hidden.select(1, 0)).to_kind(Kind::Float))
}

/// Appends a pick to `seq` and decides whether it goes on (false once it has a finish reason).
fn record(
    seq: &mut Seq,
    (token, lp, model_lp): Pick,
    eos: &[u32],
    tokenizer: &TextTokenizer,
    params: &SamplingParams,
    window: usize,
) -> Result<bool> {
    seq.tokens.push(token);
    seq.logprobs.push(lp);
    seq.model_logprobs.push(model_lp);
    seq.next_pos += 1;
    seq.finish = if eos.contains(&token) {
        Some(FinishReason::Eos)
    } else if let Some(stop) = stop_hit(tokenizer, &seq.tokens, &params.stop, window)? {
        Some(FinishReason::Stop(stop))
    } else if seq.tokens.len() >= params.max_new_tokens {
        Some(FinishReason::Length)
    } else {
        None
    };
    Ok(seq.finish.is_none())
}

/// The stop string that the newest token completed, looking at the last `window` tokens' text.
fn stop_hit(tokenizer: &TextTokenizer, tokens: &[u32], stops: &[String], window: usize) -> Result<Option<String>> {
    if stops.is_empty() {
        return Ok(None);
    }
    let text = tokenizer.decode(&tokens[tokens.len().saturating_sub(window)..])?;
    Ok(stops.iter().find(|s| !s.is_empty() && text.contains(s.as_str())).cloned())
}

fn finish(seq: Seq, tokenizer: &TextTokenizer) -> Result<GenOutput> {
    let finish = seq.finish.unwrap_or(FinishReason::Length);
    let body = if finish == FinishReason::Eos { &seq.tokens[..seq.tokens.len() - 1] } else { &seq.tokens[..] };
    let mut text = tokenizer.decode(body)?;
    if let FinishReason::Stop(s) = &finish {
        if let Some(at) = text.find(s.as_str()) {
            text.truncate(at + s.len());
        }
    }
    Ok(GenOutput { tokens: seq.tokens, logprobs: seq.logprobs, model_logprobs: seq.model_logprobs, text, finish })
}

/// Picks one token per row of `logits` `[rows, vocab]` (f32), row `r` drawing from `rngs[r]`.
fn pick(logits: &Tensor, params: &SamplingParams, rngs: &mut [&mut SeqRng]) -> Result<Vec<Pick>> {
    let model_lp = logits.log_softmax(-1, Kind::Float);
    let (tokens, sample_lp): (Vec<i64>, Vec<f32>) = if params.temperature <= 0.0 {
        let tokens = to_vec_i64(&logits.argmax(-1, false))?;
        let lps = gather(&model_lp, &tokens)?;
        (tokens, lps)
    } else {
        let lps = if params.temperature == 1.0 {
            model_lp.shallow_clone()
        } else {
            (logits / params.temperature as f64).log_softmax(-1, Kind::Float)
        };
        sample_rows(&lps, params, rngs)?
    };
    let model_lps = if params.temperature == 1.0 || params.temperature <= 0.0 {
        sample_lp.clone()
    } else {
        gather(&model_lp, &tokens)?
    };
    Ok(tokens.iter().zip(sample_lp).zip(model_lps).map(|((&t, lp), mlp)| (t as u32, lp, mlp)).collect())
}

/// Draws a token per row from `lps` (log-softmax of the temperature-scaled logits), after top-k / top-p.
/// Returns the tokens and their log-probs under the unfiltered distribution.
fn sample_rows(lps: &Tensor, params: &SamplingParams, rngs: &mut [&mut SeqRng]) -> Result<(Vec<i64>, Vec<f32>)> {
    if lps.device() == Device::Cpu {
        let vocab = lps.size2().torch()?.1 as usize;
        return Ok(sample_rows_cpu(&to_vec_f32(lps)?, vocab, params, rngs));
    }
    sample_rows_device(lps, params, rngs)
}

/// [`sample_rows`] on an accelerator: top-k / sort and the top-p cut on the device, so only the kept
/// candidates travel to the host (a full 150k-token row per sequence would not).
fn sample_rows_device(lps: &Tensor, params: &SamplingParams, rngs: &mut [&mut SeqRng]) -> Result<(Vec<i64>, Vec<f32>)> {
    let (rows, vocab) = lps.size2().torch()?;
    let filtered = (params.top_k > 0 && (params.top_k as i64) < vocab) || params.top_p < 1.0;
    let (vals, idx, counts) = if filtered {
        let (vals, idx) = if params.top_k > 0 && (params.top_k as i64) < vocab {
            lps.topk(params.top_k as i64, -1, true, true)
        } else {
            lps.sort_stable(true, -1, true)
        };
        let counts = if params.top_p < 1.0 {
            let probs = vals.softmax(-1, Kind::Float);
            let before = probs.cumsum(-1, Kind::Float) - &probs;
            to_vec_i64(&before.lt(params.top_p as f64).sum_dim_intlist(-1, false, Kind::Int64))?
        } else {
            vec![vals.size()[1]; rows as usize]
        };
        let counts: Vec<i64> = counts.into_iter().map(|c| c.max(1)).collect();
        let width = counts.iter().copied().max().unwrap_or(1);
        (to_vec_f32(&vals.narrow(1, 0, width))?, Some(to_vec_i64(&idx.narrow(1, 0, width))?), counts)
    } else {
        (to_vec_f32(lps)?, None, vec![vocab; rows as usize])
    };
    let width = vals.len() / rows.max(1) as usize;
    let mut tokens = Vec::with_capacity(rows as usize);
    let mut picked = Vec::with_capacity(rows as usize);
    for (r, rng) in rngs.iter_mut().enumerate() {
        let row = &vals[r * width..r * width + counts[r] as usize];
        let i = draw(row, rng.next_f64());
        tokens.push(idx.as_ref().map_or(i as i64, |idx| idx[r * width + i]));
        picked.push(row[i]);
    }
    Ok((tokens, picked))
}

/// [`sample_rows`] for rows already in host memory: candidates by [`nucleus`] (no tensor sort, which is slow
/// on the CPU), drawn best first.
fn sample_rows_cpu(
    lps: &[f32],
    vocab: usize,
    params: &SamplingParams,
    rngs: &mut [&mut SeqRng],
) -> (Vec<i64>, Vec<f32>) {
    let filtered = params.top_k > 0 || params.top_p < 1.0;
    let mut tokens = Vec::with_capacity(rngs.len());
    let mut picked = Vec::with_capacity(rngs.len());
    for (row, rng) in lps.chunks(vocab).zip(rngs.iter_mut()) {
        let token = if filtered {
            let candidates = nucleus(row, params.top_k, params.top_p);
            let cand_lps: Vec<f32> = candidates.iter().map(|&t| row[t as usize]).collect();
            candidates[draw(&cand_lps, rng.next_f64())] as usize
        } else {
            draw(row, rng.next_f64())
        };
        tokens.push(token as i64);
        picked.push(row[token]);
    }
    (tokens, picked)
}

/// `lps[r, tokens[r]]` for every row.
fn gather(lps: &Tensor, tokens: &[i64]) -> Result<Vec<f32>> {
    let idx = Tensor::from_slice(tokens).to_device(lps.device()).unsqueeze(1);
    to_vec_f32(&lps.gather(1, &idx, false))
}

fn to_vec_f32(t: &Tensor) -> Result<Vec<f32>> {
    Ok(Vec::<f32>::try_from(t.reshape([-1]).to_device(Device::Cpu).to_kind(Kind::Float)).torch()?)
}

fn to_vec_i64(t: &Tensor) -> Result<Vec<i64>> {
    Ok(Vec::<i64>::try_from(t.reshape([-1]).to_device(Device::Cpu).to_kind(Kind::Int64)).torch()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The accelerator path (run here on CPU tensors) and the host path pick the same tokens.
    #[test]
    fn device_and_host_sampling_agree() {
        tch::manual_seed(5);
        let lps = (Tensor::randn([6, 300], (Kind::Float, Device::Cpu)) * 2.0).log_softmax(-1, Kind::Float);
        let settings = [(0usize, 1.0f32), (20, 1.0), (0, 0.8), (50, 0.9), (1, 1.0), (0, 0.0)];
        for (top_k, top_p) in settings {
            let params = SamplingParams { top_k, top_p, ..Default::default() };
            let mut a: Vec<SeqRng> = (0..6).map(|s| SeqRng::new(1, s)).collect();
            let mut b = a.clone();
            let host = sample_rows(&lps, &params, &mut a.iter_mut().collect::<Vec<_>>()).unwrap();
            let device = sample_rows_device(&lps, &params, &mut b.iter_mut().collect::<Vec<_>>()).unwrap();
            assert_eq!(host.0, device.0, "top_k {top_k} top_p {top_p}");
            assert_eq!(host.1, device.1);
        }
    }
}
