//! GRPO's loss as veRL's `core_algos` defines it: PPO-clipped policy term on the ratio to the sampling
//! policy, `low_var_kl` penalty to the frozen reference, optional entropy bonus, each a token mean over the
//! trained tokens of the whole batch; plus the step configuration and statistics.
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use crate::TorchResult;
use crate::{Error, Result};

/// Hyper-parameters of a GRPO / SFT step (YAML/JSON `train:` section; every field has a default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GrpoConfig {
    /// PPO clip range ε: the ratio is clipped to [1 − ε, 1 + ε].
    pub clip_eps: f64,
    /// Weight of the `low_var_kl` term.
    pub kl_coef: f64,
    /// Weight of the entropy bonus (subtracted from the loss).
    pub entropy_coef: f64,
    /// Rollout temperature: log-probs are of `softmax(logits / temperature)`.
    pub temperature: f64,
    /// Sequences per forward/backward pass (gradients accumulate; the result does not depend on it).
    pub micro_batch: usize,
    pub lr: f64,
    pub weight_decay: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    /// Global gradient L2 norm cap.
    pub max_grad_norm: f64,
    /// Weight of a cross-entropy term on the SFT expert trajectories (`[data] sft`) added to every GRPO step
    /// (InstructGPT's "PPO-ptx"): it holds skills the reward cannot see from drifting under noisy advantages
    /// (a small policy's copying of names and URLs). 0 = plain GRPO.
    pub sft_coef: f64,
    /// Optimizer updates per rollout batch (veRL's `ppo_mini_batch_size` = batch ÷ this): the batch is cut, at
    /// group boundaries and in order, into this many parts, each one update. After the first the policy is
    /// off the sampler's, so the ratio and its clip matter. 1 = one on-policy update per step.
    pub mini_batches: usize,
    /// Passes over the rollout batch per step (veRL's `ppo_epochs`).
    pub epochs: usize,
}

impl Default for GrpoConfig {
    fn default() -> Self {
        GrpoConfig {
            clip_eps: 0.2,
            kl_coef: 0.001,
            entropy_coef: 0.0,
            temperature: 1.0,
            micro_batch: 4,
            lr: 1e-6,
            weight_decay: 0.01,
            betas: (0.9, 0.999),
            eps: 1e-8,
            max_grad_norm: 1.0,
            sft_coef: 0.0,
            mini_batches: 1,
            epochs: 1,
        }
    }
}

impl GrpoConfig {
    pub fn validate(&self) -> Result<()> {
        let finite =
            [self.clip_eps, self.kl_coef, self.entropy_coef, self.temperature, self.max_grad_norm, self.sft_coef];
        if finite.iter().any(|x| !x.is_finite()) {
            return Err(Error::Config(format!("non-finite value in training settings {self:?}")));
        }
        if !(self.clip_eps > 0.0 && self.clip_eps < 1.0) {
            return Err(Error::Config(format!("clip_eps must be in (0, 1), got {}", self.clip_eps)));
        }
        if self.kl_coef < 0.0 || self.sft_coef < 0.0 || self.temperature <= 0.0 || self.max_grad_norm <= 0.0 {
            return Err(Error::Config("kl_coef and sft_coef must be >= 0, temperature and max_grad_norm > 0".into()));
        }
        if self.micro_batch == 0 {
            return Err(Error::Config("micro_batch must be at least 1".into()));
        }
        if self.mini_batches == 0 || self.epochs == 0 {
            return Err(Error::Config("mini_batches and epochs must be at least 1".into()));
        }
        Ok(())
    }
}

/// What one step did (token means over the trained tokens of the batch).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StepStats {
    /// The optimised objective (`pg_loss + kl_coef·kl − entropy_coef·entropy`; cross-entropy for SFT).
    pub loss: f64,
    pub pg_loss: f64,
    /// Mean `low_var_kl` to the reference.
    pub kl: f64,
    pub entropy: f64,
    /// Share of trained tokens whose policy term was clipped.
    pub clip_frac: f64,
    /// Global gradient norm before clipping (NaN/inf: the update was skipped).
    pub grad_norm: f64,
    /// Cross-entropy of the expert batch mixed into a GRPO step (`sft_coef` > 0), else 0.
    pub sft_loss: f64,
    /// Trained tokens.
    pub tokens: usize,
    pub sequences: usize,
}

/// The loss's parts as token means (see [`grpo_loss`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LossParts {
    pub pg_loss: f64,
    pub kl: f64,
    pub entropy: f64,
    pub clip_frac: f64,
    pub tokens: usize,
}

/// Masked sums of the loss terms of one micro-batch (before dividing by the batch's token count).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct TermSums {
    pub pg: f64,
    pub kl: f64,
    pub entropy: f64,
    pub clipped: f64,
    pub tokens: f64,
}

impl TermSums {
    pub fn add(&mut self, o: &TermSums) {
        self.pg += o.pg;
        self.kl += o.kl;
        self.entropy += o.entropy;
        self.clipped += o.clipped;
        self.tokens += o.tokens;
    }

    pub fn means(&self) -> LossParts {
        let n = self.tokens.max(1.0);
        LossParts {
            pg_loss: self.pg / n,
            kl: self.kl / n,
            entropy: self.entropy / n,
            clip_frac: self.clipped / n,
            tokens: self.tokens as usize,
        }
    }
}

/// GRPO loss of per-token log-probs `[B, T]` (new: differentiable; old: sampling policy; reference), one
/// advantage per row `[B]`, and the trained-token mask `[B, T]` (1 = trained), token-meaned over the mask:
/// `ratio = exp(new − old)`, `pg = max(−A·ratio, −A·clip(ratio, 1 − ε, 1 + ε))`,
/// `kl = clamp(exp(ref − new) − (ref − new) − 1, −10, 10)`,
/// `loss = mean(pg) + kl_coef·mean(kl) − entropy_coef·mean(entropy)`.
/// Cells with mask 0 get exactly zero gradient whatever their old/reference values.
pub fn grpo_loss(
    new_lp: &Tensor,
    old_lp: &Tensor,
    ref_lp: &Tensor,
    adv: &Tensor,
    mask: &Tensor,
    entropy: Option<&Tensor>,
    cfg: &GrpoConfig,
) -> Result<(Tensor, LossParts)> {
    let tokens = mask.gt(0).sum(Kind::Float).to_device(Device::Cpu).f_double_value(&[]).torch()?;
    if tokens == 0.0 {
        return Err(Error::bad_input("GRPO loss", "the mask selects no tokens"));
    }
    let (loss, sums) = loss_terms(new_lp, old_lp, ref_lp, adv, mask, entropy, cfg, tokens)?;
    Ok((loss, sums.means()))
}

/// [`grpo_loss`] with the token mean taken over `denom` tokens (the whole batch's count when this is one
/// micro-batch of it), so micro-batch losses add up to the batch's loss. Returns the masked sums too.
#[allow(clippy::too_many_arguments)]
pub(crate) fn loss_terms(
    new_lp: &Tensor,
    old_lp: &Tensor,
    ref_lp: &Tensor,
    adv: &Tensor,
    mask: &Tensor,
    entropy: Option<&Tensor>,
    cfg: &GrpoConfig,
    denom: f64,
) -> Result<(Tensor, TermSums)> {
    check_shapes(new_lp, old_lp, ref_lp, adv, mask, entropy)?;
    let keep = mask.gt(0);
    let m = keep.to_kind(Kind::Float);
    let new = new_lp.to_kind(Kind::Float);
    let frozen = new.detach();
    // Untrained cells take the new values (ratio 1, kl 0) so nothing non-finite can reach the gradient.
    let old = old_lp.to_kind(Kind::Float).where_self(&keep, &frozen);
    let reference = ref_lp.to_kind(Kind::Float).where_self(&keep, &frozen);
    let neg_adv = -adv.to_kind(Kind::Float).unsqueeze(1);
    let ratio = (&new - old).exp();
    let pg1 = &neg_adv * &ratio;
    let pg2 = &neg_adv * ratio.clamp(1.0 - cfg.clip_eps, 1.0 + cfg.clip_eps);
    let pg = pg1.maximum(&pg2);
    let clipped = pg2.gt_tensor(&pg1).to_kind(Kind::Float);
    let d = reference - &new;
    let kl = (d.exp() - &d - 1.0).clamp(-10.0, 10.0);
    let pg_sum = (&pg * &m).sum(Kind::Float);
    let kl_sum = (&kl * &m).sum(Kind::Float);
    let loss = &pg_sum / denom + &kl_sum * (cfg.kl_coef / denom);
    let (loss, ent_sum) = match entropy {
        Some(ent) => {
            let s = (ent.to_kind(Kind::Float) * &m).sum(Kind::Float);
            let value = scalar(&s)?;
            if cfg.entropy_coef != 0.0 {
                (loss - s * (cfg.entropy_coef / denom), value)
            } else {
                (loss, value)
            }
        }
        None => (loss, 0.0),
    };
    let sums = TermSums {
        pg: scalar(&pg_sum)?,
        kl: scalar(&kl_sum)?,
        entropy: ent_sum,
        clipped: scalar(&(clipped * &m).sum(Kind::Float))?,
        tokens: scalar(&m.sum(Kind::Float))?,
    };
    Ok((loss, sums))
}

fn check_shapes(
    new: &Tensor,
    old: &Tensor,
    reference: &Tensor,
    adv: &Tensor,
    mask: &Tensor,
    entropy: Option<&Tensor>,
) -> Result<()> {
    let shape = new.size();
    let named = [("old log-probs", old), ("reference log-probs", reference), ("mask", mask)];
    let mut mismatched: Vec<(&str, Vec<i64>)> =
        named.iter().filter(|(_, t)| t.size() != shape).map(|(n, t)| (*n, t.size())).collect();
    if let Some(e) = entropy.filter(|e| e.size() != shape) {
        mismatched.push(("entropy", e.size()));
    }
    if shape.len() != 2 || adv.size() != [shape[0]] {
        mismatched.push(("advantages", adv.size()));
    }
    match mismatched.first() {
        None => Ok(()),
        Some((name, got)) => Err(Error::bad_input(
            "GRPO loss",
            format!("{name} have shape {got:?}; new log-probs are {shape:?} (advantages must be [rows])"),
        )),
    }
}

fn scalar(t: &Tensor) -> Result<f64> {
    Ok(t.detach().to_device(Device::Cpu).f_double_value(&[]).torch()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_has_defaults_and_refuses_unknown_fields() {
        let cfg: GrpoConfig = serde_json::from_str(r#"{"lr": 2e-6, "micro_batch": 2}"#).unwrap();
        assert_eq!(cfg, GrpoConfig { lr: 2e-6, micro_batch: 2, ..Default::default() });
        assert!(serde_json::from_str::<GrpoConfig>(r#"{"learning_rate": 1.0}"#).is_err());
        assert!(GrpoConfig { micro_batch: 0, ..Default::default() }.validate().is_err());
        assert!(GrpoConfig { clip_eps: 1.5, ..Default::default() }.validate().is_err());
    }

    #[test]
    fn mismatched_shapes_and_empty_masks_are_errors() {
        let t = |shape: &[i64]| Tensor::zeros(shape, (Kind::Float, Device::Cpu));
        let cfg = GrpoConfig::default();
        let (new, mask, adv) = (t(&[2, 3]), Tensor::ones([2, 3], (Kind::Float, Device::Cpu)), t(&[2]));
        assert!(grpo_loss(&new, &new, &new, &adv, &mask, None, &cfg).is_ok());
        let err = grpo_loss(&new, &t(&[2, 4]), &new, &adv, &mask, None, &cfg).unwrap_err().to_string();
        assert!(err.contains("old log-probs"), "{err}");
        assert!(grpo_loss(&new, &new, &new, &t(&[3]), &mask, None, &cfg).is_err());
        assert!(grpo_loss(&new, &new, &new, &adv, &mask, Some(&t(&[3])), &cfg).is_err());
        assert!(grpo_loss(&new, &new, &new, &adv, &t(&[2, 3]), None, &cfg).is_err());
    }
}
