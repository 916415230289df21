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
    /// CPU threads libtorch computes with (default: its own choice, one per core). A CPU run's bits can depend
    /// on how work is split between threads, so a run meant to repeat on other machines fixes this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
}

impl ModelSection {
    /// Applies `threads` to libtorch (process-wide; call before the model computes anything).
    pub fn apply_threads(&self) {
        if let Some(n) = self.threads.filter(|&n| n > 0) {
            tch::set_num_threads(i32::try_from(n).unwrap_or(i32::MAX));
        }
    }
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
    /// "Today" in the agent's prompt (YYYY-MM-DD), the same in every mode and on every day the run is repeated.
    /// Default: the snapshot's date in replay, the day of the run in live and record modes.
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub rules: EnvConfig,
}

impl EnvSection {
    /// The prompt's date: `date` when set, else `fallback` (the snapshot's date, or today).
    pub fn prompt_date(&self, fallback: impl FnOnce() -> String) -> String {
        self.date.clone().unwrap_or_else(fallback)
    }
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
    /// What an SFT step trains on: `episodes` (whole expert trajectories, `sft_questions_per_step` of them) or
    /// `windows` (that many turn windows: question, previous turn and observation, the turn; a denser signal).
    pub sft_sequences: crate::train::windows::SftSequences,
    /// Train GRPO only on groups whose rewards differ (DAPO's filter, without resampling): a group whose
    /// rollouts all scored the same has zero advantage, so it would add compute and KL gradient only, and its
    /// tokens would dilute the token mean of the groups that carry signal. A step where every group is flat
    /// makes no update.
    pub skip_flat_groups: bool,
    /// SFT only: map the digits of each sequence outside URLs through a fresh random permutation of 0-9 (the
    /// same in its context and its trained turns), so numbers can only be copied, never recalled. For making a
    /// base (`model pretrain`) on worlds whose facts it would otherwise memorise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sft_digit_shuffle: bool,
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
            sft_sequences: Default::default(),
            skip_flat_groups: false,
            sft_digit_shuffle: false,
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
        Self::from_file_with(path, &[])
    }

    /// As [`TrainConfig::from_file`], with `KEY=VALUE` overrides applied to the file first (`train.steps=2`,
    /// `model.path=runs/x/step-000020`, `env.rules.top_k=5`): VALUE is read as a TOML value when it is one
    /// (numbers, booleans, quoted strings, arrays), else taken as a plain string.
    pub fn from_file_with(path: &Path, overrides: &[String]) -> Result<TrainConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let bad = |e: &dyn std::fmt::Display| Error::Config(format!("{}: {}", path.display(), e.to_string().trim()));
        let cfg: TrainConfig = if overrides.is_empty() {
            toml::from_str(&text).map_err(|e| bad(&e))?
        } else {
            let mut doc: toml::Table = toml::from_str(&text).map_err(|e| bad(&e))?;
            for item in overrides {
                set_key(&mut doc, item)?;
            }
            toml::Value::Table(doc).try_into().map_err(|e| bad(&e))?
        };
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
        if let Some(date) = &self.env.date {
            if chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err() {
                return Err(Error::Config(format!("env.date = {date:?}: expected a date as YYYY-MM-DD")));
            }
        }
        let (sampled, trained) = (self.rollout.temperature, self.grpo.temperature);
        if sampled > 0.0 && (f64::from(sampled) - trained).abs() > 1e-6 {
            return Err(Error::Config(format!(
                "grpo.temperature ({trained}) differs from rollout.temperature ({sampled}): GRPO's ratio compares \
                 log-probs at grpo.temperature with the sampler's at rollout.temperature; set both to one value"
            )));
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

/// Applies one `KEY=VALUE` override (dotted key; sections are made as needed).
fn set_key(doc: &mut toml::Table, item: &str) -> Result<()> {
    let bad = |why: &str| Error::Config(format!("--set {item:?}: {why}"));
    let (key, raw) = item.split_once('=').ok_or_else(|| bad("expected KEY=VALUE, e.g. train.steps=2"))?;
    let parts: Vec<&str> = key.trim().split('.').map(str::trim).collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(bad("the key has an empty part"));
    }
    let raw = raw.trim();
    let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()));
    let (last, sections) = parts.split_last().ok_or_else(|| bad("no key"))?;
    let mut table = doc;
    for part in sections {
        let entry = table.entry(part.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        table = entry.as_table_mut().ok_or_else(|| bad(&format!("`{part}` is a value, not a section")))?;
    }
    table.insert(last.to_string(), value);
    Ok(())
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

    #[test]
    fn overrides_set_values_by_dotted_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "run_dir = \"r\"\n[model]\npath = \"m\"\n[data]\ntrain = \"t\"\n[env]\nsnapshot = \"s\"\n",
        )
        .unwrap();
        let set = |items: &[&str]| {
            TrainConfig::from_file_with(&path, &items.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        let cfg =
            set(&["train.steps=7", "model.path=runs/x/step-000020", "env.rules.top_k=5", "env.date=\"2026-01-01\""])
                .unwrap();
        assert_eq!((cfg.train.steps, cfg.env.rules.top_k), (7, 5));
        assert_eq!(cfg.model.path, Path::new("runs/x/step-000020"));
        assert_eq!(cfg.env.date.as_deref(), Some("2026-01-01"));
        let err = |items: &[&str]| set(items).unwrap_err().to_string();
        assert!(err(&["train.stepz=1"]).contains("stepz"), "unknown keys are named");
        assert!(err(&["train.steps"]).contains("KEY=VALUE"));
        assert!(err(&["run_dir.x=1"]).contains("`run_dir` is a value"));
        assert!(err(&["env.date=yesterday"]).contains("YYYY-MM-DD"));
        let mismatch = err(&["rollout.temperature=0.7"]);
        assert!(
            mismatch.contains("grpo.temperature (1)") && mismatch.contains("rollout.temperature (0.7"),
            "{mismatch}"
        );
        assert!(set(&["rollout.temperature=0.7", "grpo.temperature=0.7"]).is_ok(), "equal temperatures are fine");
    }
}
