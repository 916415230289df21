//! [`Trainer`]: owns the optimizer and the KL reference — a frozen copy of the reference weights, or, for a
//! policy with LoRA adapters, the policy's own frozen base with its adapters switched off (no second copy) — and
//! runs GRPO and SFT steps on a [`Policy`]: micro-batched forward/backward passes whose accumulated gradient
//! equals the gradient of one token-mean loss over the whole batch, then gradient-norm clipping and an AdamW
//! update of the trainable parameters only.
use std::path::Path;

use serde::{Deserialize, Serialize};
use tch::nn::VarStore;
use tch::{Kind, Tensor};

use super::batch::{Sequence, TrainBatch};
use super::grpo::{loss_terms, GrpoConfig, StepStats, TermSums};
use super::logprobs::{pack, token_logprobs, Entropy};
use super::optim::{clip_grad_norm, zero_grads, AdamW, AdamWConfig};
use crate::model::config::ModelConfig;
use crate::model::decoder::Decoder;
use crate::model::weights::load_weights;
use crate::model::Policy;
use crate::TorchResult;
use crate::{Error, Result};

const OPTIMIZER_FILE: &str = "optimizer.safetensors";
const STATE_FILE: &str = "trainer_state.json";

/// The model the KL term compares the policy with.
#[derive(Debug)]
enum Reference {
    /// A frozen decoder of its own; the store keeps its weights alive (the decoder holds shallow handles).
    Frozen { _store: VarStore, decoder: Box<Decoder> },
    /// The policy's base weights: its decoder with the LoRA adapters switched off.
    PolicyBase,
}

/// GRPO/SFT training state of one policy.
#[derive(Debug)]
pub struct Trainer {
    cfg: GrpoConfig,
    reference: Reference,
    optim: AdamW,
    steps: u64,
}

/// `trainer_state.json`.
#[derive(Debug, Serialize, Deserialize)]
struct SavedState {
    steps: u64,
    config: GrpoConfig,
}

impl Trainer {
    /// A trainer whose KL reference is a frozen copy of `policy`'s current weights; for a policy with LoRA
    /// adapters, its base weights with the adapters switched off (the same model, as the adapters start at zero).
    pub fn new(policy: &Policy, cfg: GrpoConfig) -> Result<Self> {
        if policy.lora().is_some() {
            return Self::build(Reference::PolicyBase, cfg);
        }
        let d = policy.decoder();
        let mut store = VarStore::new(d.device());
        let decoder = Decoder::new(store.root(), &d.config, d.kind());
        store.copy(policy.var_store()).torch()?;
        store.freeze();
        Self::build(Reference::Frozen { _store: store, decoder: Box::new(decoder) }, cfg)
    }

    /// A trainer whose KL reference is loaded from the checkpoint in `reference_dir` (e.g. the initial
    /// checkpoint when resuming a run), in `policy`'s dtype and device; its parameters must match the policy's.
    pub fn with_reference(policy: &Policy, reference_dir: &Path, cfg: GrpoConfig) -> Result<Self> {
        let d = policy.decoder();
        let config = ModelConfig::from_dir(reference_dir)?;
        let store = VarStore::new(d.device());
        let reference = Decoder::new(store.root(), &config, d.kind());
        load_weights(&store, reference_dir, &config)?;
        let mine = policy.var_store().variables();
        let theirs = store.variables();
        let fits =
            mine.len() == theirs.len() && mine.iter().all(|(n, t)| theirs.get(n).is_some_and(|r| r.size() == t.size()));
        if !fits {
            return Err(Error::checkpoint(reference_dir, "reference parameters do not match the policy's"));
        }
        let mut store = store;
        store.freeze();
        Self::build(Reference::Frozen { _store: store, decoder: Box::new(reference) }, cfg)
    }

    fn build(reference: Reference, cfg: GrpoConfig) -> Result<Self> {
        cfg.validate()?;
        let optim = AdamW::new(adamw_config(&cfg))?;
        Ok(Trainer { cfg, reference, optim, steps: 0 })
    }

    pub fn config(&self) -> &GrpoConfig {
        &self.cfg
    }

    /// Whether the KL reference is the policy's own base (adapters off) rather than a separate frozen copy.
    pub fn reference_is_policy_base(&self) -> bool {
        matches!(self.reference, Reference::PolicyBase)
    }

    /// Optimizer steps taken (skipped non-finite updates do not count).
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Changes the learning rate (for schedules).
    pub fn set_lr(&mut self, lr: f64) -> Result<()> {
        let config = AdamWConfig { lr, ..self.optim.config };
        config.validate()?;
        self.cfg.lr = lr;
        self.optim.config = config;
        Ok(())
    }

    /// One GRPO update: see [`Trainer::grpo_backward`], then gradient clipping and an AdamW step.
    pub fn grpo_step(&mut self, policy: &mut Policy, batch: &TrainBatch) -> Result<StepStats> {
        self.grpo_step_with_sft(policy, batch, None)
    }

    /// A GRPO update whose gradient also holds `sft_coef` × the token-mean cross-entropy of `sft` (expert
    /// sequences), when given and `sft_coef` > 0; `loss` stays the GRPO objective, `sft_loss` is the CE.
    pub fn grpo_step_with_sft(
        &mut self,
        policy: &mut Policy,
        batch: &TrainBatch,
        sft: Option<&TrainBatch>,
    ) -> Result<StepStats> {
        let mut stats = self.grpo_backward(policy, batch)?;
        if let Some(sft) = sft.filter(|_| self.cfg.sft_coef > 0.0) {
            let total = sft.validate(policy.decoder().config.vocab_size as usize)? as f64;
            stats.sft_loss = self.accumulate_ce(policy, sft, total, self.cfg.sft_coef)? / total;
        }
        stats.grad_norm = self.update(policy)?;
        Ok(stats)
    }

    /// A rollout batch's updates: `epochs` passes, each cutting `batch` (groups of `group` consecutive
    /// sequences) into `mini_batches` parts in order, one [`Trainer::grpo_step_with_sft`] per part. The
    /// statistics are the updates' means (`tokens`, `sequences`: one pass's).
    pub fn grpo_updates(
        &mut self,
        policy: &mut Policy,
        batch: &TrainBatch,
        sft: Option<&TrainBatch>,
        group: usize,
    ) -> Result<StepStats> {
        let group = group.max(1);
        let groups = batch.sequences.len().div_ceil(group);
        let per_part = groups.div_ceil(self.cfg.mini_batches.max(1)).max(1) * group;
        let mut all = Vec::new();
        for _ in 0..self.cfg.epochs.max(1) {
            if per_part >= batch.sequences.len() {
                // One part: the batch itself, not a copy.
                all.push(self.grpo_step_with_sft(policy, batch, sft)?);
                continue;
            }
            for part in batch.sequences.chunks(per_part) {
                let part = TrainBatch { sequences: part.to_vec() };
                all.push(self.grpo_step_with_sft(policy, &part, sft)?);
            }
        }
        Ok(mean_stats(&all, batch))
    }

    /// The gradient of one GRPO step, left in the policy's parameters (zeroed first; nothing is updated):
    /// old log-probs (given, or recomputed without gradients where a sequence has none), reference
    /// log-probs, then micro-batches whose losses are token means over the whole batch's trained tokens.
    pub fn grpo_backward(&mut self, policy: &Policy, batch: &TrainBatch) -> Result<StepStats> {
        let total = batch.validate(policy.decoder().config.vocab_size as usize)? as f64;
        zero_grads(&policy.trainable_params());
        let mut sums = TermSums::default();
        for chunk in batch.sequences.chunks(self.cfg.micro_batch) {
            sums.add(&self.grpo_micro(policy.decoder(), chunk, total)?);
        }
        let parts = sums.means();
        let cfg = &self.cfg;
        Ok(StepStats {
            loss: parts.pg_loss + cfg.kl_coef * parts.kl - cfg.entropy_coef * parts.entropy,
            pg_loss: parts.pg_loss,
            kl: parts.kl,
            entropy: parts.entropy,
            clip_frac: parts.clip_frac,
            grad_norm: 0.0,
            sft_loss: 0.0,
            tokens: parts.tokens,
            sequences: batch.sequences.len(),
        })
    }

    /// Forward + backward of one micro-batch; its loss is divided by `total` trained tokens.
    fn grpo_micro(&self, model: &Decoder, chunk: &[Sequence], total: f64) -> Result<TermSums> {
        let cfg = &self.cfg;
        let packed = pack(chunk, model.device())?;
        let t = cfg.temperature;
        let (reference, recomputed) = tch::no_grad(|| -> Result<(Option<Tensor>, Option<Tensor>)> {
            let reference = match (&self.reference, cfg.kl_coef > 0.0) {
                (_, false) => None,
                (Reference::Frozen { decoder, .. }, true) => {
                    Some(token_logprobs(decoder, &packed, t, Entropy::Skip)?.0)
                }
                (Reference::PolicyBase, true) => {
                    Some(model.without_adapters(|base| token_logprobs(base, &packed, t, Entropy::Skip))?.0)
                }
            };
            let recomputed = match packed.has_old.iter().all(|&h| h) {
                true => None,
                false => Some(token_logprobs(model, &packed, t, Entropy::Skip)?.0),
            };
            Ok((reference, recomputed))
        })?;
        let mode = if cfg.entropy_coef != 0.0 { Entropy::WithGrad } else { Entropy::Detached };
        let (new, entropy) = token_logprobs(model, &packed, t, mode)?;
        let old = match recomputed {
            Some(rec) => {
                let has = Tensor::from_slice(&packed.has_old).to_device(rec.device()).unsqueeze(1);
                packed.old.where_self(&has, &rec)
            }
            None => packed.old.shallow_clone(),
        };
        let reference = reference.unwrap_or_else(|| new.detach());
        let (loss, sums) = loss_terms(&new, &old, &reference, &packed.adv, &packed.mask, entropy.as_ref(), cfg, total)?;
        loss.f_backward().torch()?;
        Ok(sums)
    }

    /// One supervised step (SFT warm start): token-mean cross-entropy of the trained response tokens
    /// (advantages and old log-probs are ignored), clipping and an AdamW step. `loss` is the cross-entropy.
    pub fn sft_step(&mut self, policy: &mut Policy, batch: &TrainBatch) -> Result<StepStats> {
        let mut stats = self.sft_backward(policy, batch)?;
        stats.grad_norm = self.update(policy)?;
        Ok(stats)
    }

    /// The gradient of [`Trainer::sft_step`]'s loss, left in the policy's parameters (zeroed first).
    pub fn sft_backward(&mut self, policy: &Policy, batch: &TrainBatch) -> Result<StepStats> {
        let total = batch.validate(policy.decoder().config.vocab_size as usize)? as f64;
        zero_grads(&policy.trainable_params());
        let nll = self.accumulate_ce(policy, batch, total, 1.0)?;
        Ok(StepStats {
            loss: nll / total,
            tokens: total as usize,
            sequences: batch.sequences.len(),
            ..Default::default()
        })
    }

    /// Adds the gradient of `scale` × (summed cross-entropy of `batch`'s trained tokens ÷ `total`) to the
    /// parameters' gradients (not zeroed first); returns the summed cross-entropy.
    fn accumulate_ce(&self, policy: &Policy, batch: &TrainBatch, total: f64, scale: f64) -> Result<f64> {
        let model = policy.decoder();
        let mut nll = 0.0;
        for chunk in batch.sequences.chunks(self.cfg.micro_batch) {
            let packed = pack(chunk, model.device())?;
            // The model's own distribution (temperature 1): the sampling temperature is GRPO's business.
            let (lp, _) = token_logprobs(model, &packed, 1.0, Entropy::Skip)?;
            let sum = -(lp * &packed.mask).sum(Kind::Float);
            (&sum * (scale / total)).f_backward().torch()?;
            nll += sum.double_value(&[]);
        }
        Ok(nll)
    }

    /// Clips the accumulated gradients and takes an AdamW step; returns the pre-clip norm. A non-finite
    /// norm skips the update (as veRL does) and leaves the step count alone.
    fn update(&mut self, policy: &mut Policy) -> Result<f64> {
        let params = policy.trainable_params();
        let norm = clip_grad_norm(&params, self.cfg.max_grad_norm)?;
        if norm.is_finite() {
            self.optim.step(&params)?;
            self.steps += 1;
        }
        Ok(norm)
    }

    /// Writes `optimizer.safetensors` and `trainer_state.json` (steps, settings) into `dir`. The policy's
    /// weights are saved by [`Policy::save`].
    pub fn save_state(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        self.optim.save(&dir.join(OPTIMIZER_FILE))?;
        let state = SavedState { steps: self.steps, config: self.cfg.clone() };
        let text = serde_json::to_string_pretty(&state).map_err(|e| Error::json("trainer state", e))?;
        let path = dir.join(STATE_FILE);
        std::fs::write(&path, text + "\n").map_err(|e| Error::io(&path, e))
    }

    /// Restores the optimizer state and step count saved by [`Trainer::save_state`] for `policy`'s
    /// parameters. The settings stay as this trainer was created with.
    pub fn load_state(&mut self, policy: &Policy, dir: &Path) -> Result<()> {
        let path = dir.join(STATE_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let state: SavedState = serde_json::from_str(&text).map_err(|e| Error::checkpoint(&path, e.to_string()))?;
        self.optim.load(&dir.join(OPTIMIZER_FILE), &policy.trainable_params())?;
        self.steps = state.steps;
        Ok(())
    }
}

/// The mean of several updates' statistics; `tokens` and `sequences` are `batch`'s (one pass).
fn mean_stats(all: &[StepStats], batch: &TrainBatch) -> StepStats {
    let n = all.len().max(1) as f64;
    let mean = |f: fn(&StepStats) -> f64| all.iter().map(f).sum::<f64>() / n;
    let tokens = batch.sequences.iter().map(|s| s.loss_mask.iter().filter(|&&m| m != 0).count()).sum();
    StepStats {
        loss: mean(|s| s.loss),
        pg_loss: mean(|s| s.pg_loss),
        kl: mean(|s| s.kl),
        entropy: mean(|s| s.entropy),
        clip_frac: mean(|s| s.clip_frac),
        grad_norm: mean(|s| s.grad_norm),
        sft_loss: mean(|s| s.sft_loss),
        tokens,
        sequences: batch.sequences.len(),
    }
}

fn adamw_config(cfg: &GrpoConfig) -> AdamWConfig {
    AdamWConfig { lr: cfg.lr, betas: cfg.betas, eps: cfg.eps, weight_decay: cfg.weight_decay }
}
