//! Packing training sequences into right-padded tensors, and per-token log-probs and entropies of given
//! tokens under a [`Decoder`] at a sampling temperature (veRL's `logits / T` before the softmax).
//!
//! Layout: row `b` holds `prompt ++ response` from column 0, padded on the right with id 0 (attention mask 0).
//! Per-token tensors are `[B, L]` "score grids": column `c` scores the token at position `start + c + 1` from
//! the logits at position `start + c`, where `start` = shortest prompt − 1, so prompts are (mostly) skipped
//! before the LM head. Grid cells outside a response, on padding or on tool-observation tokens have mask 0.
use tch::{Device, Kind, Tensor};

use super::batch::Sequence;
use crate::model::decoder::Decoder;
use crate::TorchResult;
use crate::{Error, Result};

/// A micro-batch of sequences as tensors on one device.
#[derive(Debug)]
pub struct Packed {
    /// Token ids `[B, W]` (i64), right-padded with 0.
    pub ids: Tensor,
    /// 1 = token, 0 = padding `[B, W]` (i64).
    pub attention: Tensor,
    /// Position whose logits score grid column 0.
    pub start: i64,
    /// The scored tokens `[B, L]` (i64): `ids[b, start + c + 1]`.
    pub labels: Tensor,
    /// 1 = trained token `[B, L]` (f32).
    pub mask: Tensor,
    /// Old log-probs on the grid `[B, L]` (f32), 0 where not given or not trained.
    pub old: Tensor,
    /// Per row: whether the sequence carried old log-probs.
    pub has_old: Vec<bool>,
    /// Advantages `[B]` (f32).
    pub adv: Tensor,
    /// Per row: grid column of the first response token, and the response length.
    pub spans: Vec<(usize, usize)>,
}

impl Packed {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.spans.len()
    }

    /// Number of trained tokens.
    pub fn tokens(&self) -> Result<f64> {
        Ok(self.mask.sum(Kind::Float).to_device(Device::Cpu).f_double_value(&[]).torch()?)
    }
}

/// Packs `seqs` (already validated, see [`Sequence::validate`]) onto `device`.
pub fn pack(seqs: &[Sequence], device: Device) -> Result<Packed> {
    if seqs.is_empty() {
        return Err(Error::bad_input("training batch", "no sequences to pack"));
    }
    if let Some(i) = seqs.iter().position(|s| s.prompt_ids.is_empty()) {
        return Err(Error::bad_input(format!("training sequence {i}"), "empty prompt"));
    }
    let b = seqs.len();
    let width = seqs.iter().map(Sequence::len).max().unwrap_or(0);
    let start = seqs.iter().map(|s| s.prompt_ids.len()).min().unwrap_or(1) - 1;
    let cols = (width - 1 - start).max(1);
    let mut ids = vec![0i64; b * width];
    let mut attention = vec![0i64; b * width];
    let (mut mask, mut old) = (vec![0f32; b * cols], vec![0f32; b * cols]);
    let mut spans = Vec::with_capacity(b);
    for (r, s) in seqs.iter().enumerate() {
        for (j, &t) in s.prompt_ids.iter().chain(&s.response_ids).enumerate() {
            ids[r * width + j] = t as i64;
            attention[r * width + j] = 1;
        }
        let first = s.prompt_ids.len() - 1 - start;
        for (j, &m) in s.loss_mask.iter().enumerate() {
            let cell = r * cols + first + j;
            mask[cell] = if m == 1 { 1.0 } else { 0.0 };
            if m == 1 && !s.old_logprobs.is_empty() {
                old[cell] = s.old_logprobs[j];
            }
        }
        spans.push((first, s.response_ids.len()));
    }
    let ids = Tensor::from_slice(&ids).reshape([b as i64, width as i64]).to_device(device);
    let labels = if width - 1 > start {
        ids.narrow(1, start as i64 + 1, cols as i64)
    } else {
        Tensor::zeros([b as i64, 1], (Kind::Int64, device))
    };
    let grid = |v: &[f32]| Tensor::from_slice(v).reshape([b as i64, cols as i64]).to_device(device);
    Ok(Packed {
        attention: Tensor::from_slice(&attention).reshape([b as i64, width as i64]).to_device(device),
        labels,
        ids,
        start: start as i64,
        mask: grid(&mask),
        old: grid(&old),
        has_old: seqs.iter().map(|s| !s.old_logprobs.is_empty()).collect(),
        adv: Tensor::from_slice(&seqs.iter().map(|s| s.advantage).collect::<Vec<f32>>()).to_device(device),
        spans,
    })
}

/// Whether and how to compute per-token entropy alongside the log-probs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entropy {
    /// Not at all.
    Skip,
    /// Detached from the graph, row by row (for statistics; bounded memory).
    Detached,
    /// Differentiable (for an entropy bonus in the loss).
    WithGrad,
}

/// Log-probs `[B, L]` (f32) of the grid's labels under `model` at `temperature`, and per-token entropy of the
/// same distributions when asked; both are computed at trained cells only (mask 1) and are 0 elsewhere, so the
/// LM head and the softmax run on the trained tokens alone (in SFT a small share of the sequence). Differentiable
/// unless called under `tch::no_grad`; the temperature divides the hidden states before the LM head, which
/// equals dividing the logits (veRL's `logits / T`).
pub fn token_logprobs(
    model: &Decoder,
    packed: &Packed,
    temperature: f64,
    entropy: Entropy,
) -> Result<(Tensor, Option<Tensor>)> {
    let hidden = grid_hidden(model, packed, temperature)?;
    let (b, l, h) = hidden.size3().torch()?;
    let cells = packed.mask.reshape([-1]).gt(0).nonzero().squeeze_dim(1);
    let picked = hidden.reshape([b * l, h]).index_select(0, &cells);
    let logits = float_logits(model, &picked);
    let labels = packed.labels.reshape([-1]).index_select(0, &cells);
    let spread = |values: Tensor| {
        let zeros = Tensor::zeros([b * l], (Kind::Float, values.device()));
        zeros.index_add(0, &cells, &values).reshape([b, l])
    };
    let lp = spread(logprobs_from_logits(&logits, &labels)?);
    let ent = match entropy {
        Entropy::Skip => None,
        Entropy::WithGrad => Some(spread(entropy_from_logits(&logits))),
        Entropy::Detached => Some(spread(tch::no_grad(|| detached_entropy(&logits)))),
    };
    Ok((lp, ent))
}

/// Log-probs `[B, L]` of the grid's labels at every cell (trained or not), without gradients.
fn all_logprobs(model: &Decoder, packed: &Packed, temperature: f64) -> Result<Tensor> {
    tch::no_grad(|| {
        let logits = float_logits(model, &grid_hidden(model, packed, temperature)?);
        logprobs_from_logits(&logits, &packed.labels)
    })
}

/// Logits (f32, whatever the model's dtype) for hidden states `[.., H]`.
fn float_logits(model: &Decoder, hidden: &Tensor) -> Tensor {
    let logits = model.logits(hidden);
    if logits.kind() == Kind::Float {
        logits
    } else {
        logits.to_kind(Kind::Float)
    }
}

/// Final hidden states `[B, L, H]` at the grid's scoring positions, divided by `temperature`.
fn grid_hidden(model: &Decoder, packed: &Packed, temperature: f64) -> Result<Tensor> {
    if !(temperature > 0.0 && temperature.is_finite()) {
        return Err(Error::Config(format!("temperature must be > 0, got {temperature}")));
    }
    let (_, width) = packed.ids.size2().torch()?;
    let hidden = model.forward_hidden_right_padded(&packed.ids)?;
    let cols = packed.labels.size()[1];
    let hidden = hidden.narrow(1, packed.start, cols.min(width - packed.start));
    Ok(if temperature == 1.0 { hidden } else { hidden / temperature })
}

/// `log_softmax(logits)[.., label]` for logits `[.., V]` and labels `[..]`, as `logit[label] − logsumexp`
/// (no second `[.., V]` tensor in the forward pass).
pub fn logprobs_from_logits(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    let picked = logits.f_gather(-1, &labels.unsqueeze(-1), false).torch()?.squeeze_dim(-1);
    Ok(picked - logits.logsumexp([-1], false))
}

/// Entropy of logits `[N, V]` without gradient, 512 rows at a time (bounded extra memory).
fn detached_entropy(logits: &Tensor) -> Tensor {
    const CHUNK: i64 = 512;
    let rows = logits.size()[0];
    let parts: Vec<Tensor> = (0..rows)
        .step_by(CHUNK as usize)
        .map(|c| entropy_from_logits(&logits.narrow(0, c, CHUNK.min(rows - c))))
        .collect();
    match parts.is_empty() {
        true => Tensor::zeros([0], (Kind::Float, logits.device())),
        false => Tensor::cat(&parts, 0),
    }
}

/// Entropy of `softmax(logits)` over the last dimension: `logsumexp(z) − Σ softmax(z)·z` (veRL's formula).
pub fn entropy_from_logits(logits: &Tensor) -> Tensor {
    let p = logits.softmax(-1, Kind::Float);
    logits.logsumexp([-1], false) - (p * logits).sum_dim_intlist(-1, false, Kind::Float)
}

/// Log-probs of every response token of `seqs` under `model` at `temperature`, without gradients, one
/// vector per sequence (tool-observation tokens included). Runs `batch` sequences at a time.
pub fn response_logprobs(model: &Decoder, seqs: &[Sequence], temperature: f64, batch: usize) -> Result<Vec<Vec<f32>>> {
    let mut out = Vec::with_capacity(seqs.len());
    for chunk in seqs.chunks(batch.max(1)) {
        let packed = pack(chunk, model.device())?;
        let lp = all_logprobs(model, &packed, temperature)?;
        out.extend(unpack(&lp, &packed.spans)?);
    }
    Ok(out)
}

/// Per-row response values out of a `[B, L]` grid.
pub fn unpack(grid: &Tensor, spans: &[(usize, usize)]) -> Result<Vec<Vec<f32>>> {
    let cols = grid.size2().torch()?.1 as usize;
    let values =
        Vec::<f32>::try_from(grid.detach().to_kind(Kind::Float).reshape([-1]).to_device(Device::Cpu)).torch()?;
    Ok(spans
        .iter()
        .enumerate()
        .map(|(r, &(first, n))| values[r * cols + first..r * cols + first + n].to_vec())
        .collect())
}
