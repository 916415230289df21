//! Training configuration (`configs/*.toml`) with serde: every section has defaults, unknown keys are errors
//! that name the key, and [`TrainConfig::validate`] checks ranges before any work starts. CLI flags override.
use std::path::{Path, PathBuf};

use crate::agent::RolloutConfig;
use crate::env::EnvConfig;
use crate::error::{Error, Result};

/// The policy checkpoint and where it runs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// A Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer files).
    pub path: PathBuf,
    /// `auto` (CUDA when available), `cpu`, `cuda`, `cuda:N`.
    #[serde(default = "auto")]
    pub device: String,
    /// `bf16`, `f16`, `f32`; default: the checkpoint's `torch_dtype`.
    #[serde(default)]
    pub dtype: Option<String>,
}

fn auto() -> String {
    "auto".into()
}

/// Question files (JSONL, text or parquet; see `data`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    pub train: PathBuf,
    #[serde(default)]
    pub test: Option<PathBuf>,
    /// Expert trajectories (JSONL of rollouts, as `webtape eval` writes them) for the SFT warm start.
    #[serde(default)]
    pub sft: Option<PathBuf>,
}

/// Where tool calls go.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvSection {
    /// Snapshot to replay (or record into, with `--mode record`).
    #[serde(default)]
    pub snapshot: Option<PathBuf>,
    /// A `webtape serve` URL instead of an in-process environment.
    #[serde(default)]
    pub remote: Option<String>,
    /// The reading model whose recorded outputs browse serves.
    #[serde(default)]
    pub reader_model: Option<String>,
    #[serde(default)]
    pub rules: EnvConfig,
}

/// The schedule.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Schedule {
    /// GRPO steps.
    pub steps: usize,
    pub questions_per_step: usize,
    /// Rollouts per question (the GRPO group).
    pub samples_per_question: usize,
    pub seed: u64,
    /// Checkpoint every N steps (and at the end).
    pub save_every: usize,
    /// SFT warm-start steps on expert trajectories before GRPO (0 = none).
    pub sft_steps: usize,
    pub sft_questions_per_step: usize,
    /// Peak SFT learning rate.
    pub sft_lr: f64,
    /// SFT steps over which the learning rate rises linearly from 0 to `sft_lr`.
    pub sft_warmup_steps: usize,
    /// After the warm-up: `constant`, or `cosine` down to a tenth of `sft_lr` at the last SFT step.
    pub sft_schedule: LrSchedule,
}

/// The shape of a learning-rate schedule after its warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LrSchedule {
    #[default]
    Constant,
    Cosine,
}

impl Schedule {
    /// The SFT learning rate of step `step` (0-based): a pure function of the step, so a resumed run follows
    /// the same curve.
    pub fn sft_lr_at(&self, step: usize) -> f64 {
        let (peak, warm, total) = (self.sft_lr, self.sft_warmup_steps, self.sft_steps.max(1));
        if step < warm {
            return peak * (step + 1) as f64 / warm as f64;
        }
        match self.sft_schedule {
            LrSchedule::Constant => peak,
            LrSchedule::Cosine => {
                let span = total.saturating_sub(warm).max(1) as f64;
                let progress = ((step - warm) as f64 / span).min(1.0);
                let floor = peak * 0.1;
                floor + (peak - floor) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            steps: 300,
            questions_per_step: 16,
            samples_per_question: 8,
            seed: 0,
            save_every: 50,
            sft_steps: 0,
            sft_questions_per_step: 16,
            sft_lr: 1e-5,
            sft_warmup_steps: 0,
            sft_schedule: LrSchedule::Constant,
        }
    }
}

/// A whole training run.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Checkpoints, metrics and plots go here.
    pub run_dir: PathBuf,
    pub model: ModelSection,
    pub data: DataSection,
    #[serde(default)]
    pub env: EnvSection,
    #[serde(default)]
    pub rollout: RolloutConfig,
    #[serde(default)]
    pub grpo: crate::train::GrpoConfig,
    #[serde(default)]
    pub train: Schedule,
    /// A tiny model to build with `webtape model init --config` when [model] path does not exist yet.
    #[serde(default)]
    pub init: Option<crate::model::init::InitSpec>,
    /// `[lora]`: train low-rank adapters on a frozen base instead of every weight (keys `rank` = 8, `alpha` = 16,
    /// `targets` = all of q/k/v/o/gate/up/down_proj, `seed` = 0; no dropout). Checkpoints then hold PEFT adapters
    /// and the KL reference is the base with the adapters off. Absent: full fine-tuning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lora: Option<crate::model::lora::LoraConfig>,
}

impl TrainConfig {
    /// Reads and validates a TOML file; relative paths in it are taken relative to the current directory.
    pub fn from_file(path: &Path) -> Result<TrainConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let cfg: TrainConfig = toml::from_str(&text)
            .map_err(|e| Error::Config(format!("{}: {}", path.display(), e.to_string().trim())))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks sizes and that the environment is named.
    pub fn validate(&self) -> Result<()> {
        let t = &self.train;
        for (name, v) in [
            ("train.questions_per_step", t.questions_per_step),
            ("train.samples_per_question", t.samples_per_question),
            ("train.save_every", t.save_every),
            ("rollout.max_turns", self.rollout.max_turns),
        ] {
            if v == 0 {
                return Err(Error::Config(format!("{name} must be at least 1")));
            }
        }
        if self.env.snapshot.is_none() && self.env.remote.is_none() {
            return Err(Error::Config("[env] needs `snapshot` (a folder) or `remote` (a webtape serve URL)".into()));
        }
        if let Some(init) = &self.init {
            init.validate()?;
        }
        if let Some(lora) = &self.lora {
            lora.validate()?;
        }
        self.env.rules.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sft_learning_rate_warms_up_then_follows_its_schedule() {
        let mut s = Schedule { sft_steps: 100, sft_lr: 1e-3, sft_warmup_steps: 10, ..Schedule::default() };
        assert!((s.sft_lr_at(0) - 1e-4).abs() < 1e-12 && (s.sft_lr_at(9) - 1e-3).abs() < 1e-12);
        assert_eq!(s.sft_lr_at(50), 1e-3);
        s.sft_schedule = LrSchedule::Cosine;
        assert!((s.sft_lr_at(10) - 1e-3).abs() < 1e-12);
        assert!((s.sft_lr_at(55) - 5.5e-4).abs() < 1e-12, "halfway: {}", s.sft_lr_at(55));
        assert!((s.sft_lr_at(100) - 1e-4).abs() < 1e-12);
        let lrs: Vec<f64> = (10..100).map(|i| s.sft_lr_at(i)).collect();
        assert!(lrs.windows(2).all(|w| w[1] <= w[0]), "cosine decays monotonically");
    }
}
