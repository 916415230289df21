//! Checkpoints of a run: `run_dir/step-NNNNNN/` holds the weights (safetensors + config + tokenizer files, loadable
//! by `transformers`; with `[lora]` a PEFT adapter instead: `adapter_model.safetensors` + `adapter_config.json`),
//! the optimizer state (of the trained parameters only) and `run_state.json` (steps done, seed); `run_dir/latest`
//! names the newest. Written to a temporary folder and renamed, so a crash never leaves a half checkpoint.
use std::path::{Path, PathBuf};

use super::Trainer;
use crate::error::{Error, Result};
use crate::model::policy::{Policy, DEFAULT_SHARD_BYTES};

/// Where a run is: enough to continue exactly.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TrainerState {
    /// Steps completed (the next step to run).
    pub step: usize,
    /// `sft` steps completed.
    pub sft_step: usize,
    pub seed: u64,
    /// Digest of the configuration the run started with (a resume with another config is refused).
    pub config_digest: String,
}

/// The folder of the checkpoint after `step` steps.
pub fn step_dir(run_dir: &Path, step: usize) -> PathBuf {
    run_dir.join(format!("step-{step:06}"))
}

/// The folder of the checkpoint taken when the SFT warm start ends (the KL reference of the GRPO phase).
pub fn sft_dir(run_dir: &Path) -> PathBuf {
    run_dir.join("sft")
}

/// Writes the checkpoint after `state.step` GRPO steps and points `latest` at it.
pub fn save(run_dir: &Path, policy: &Policy, trainer: &Trainer, state: &TrainerState) -> Result<PathBuf> {
    save_as(&step_dir(run_dir, state.step), policy, trainer, state)
}

/// Writes a checkpoint into `dir` (inside the run folder) and points `latest` at it.
pub fn save_as(dir: &Path, policy: &Policy, trainer: &Trainer, state: &TrainerState) -> Result<PathBuf> {
    let run_dir = dir.parent().ok_or_else(|| Error::checkpoint(dir, "a checkpoint folder needs a run folder"))?;
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = dir.to_path_buf();
    let tmp = run_dir.join(format!(".tmp-{name}"));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    policy.save(&tmp, DEFAULT_SHARD_BYTES)?;
    trainer.save_state(&tmp)?;
    let json = serde_json::to_string_pretty(state).map_err(|e| Error::json("checkpoint state", e))?;
    let state_path = tmp.join("run_state.json");
    std::fs::write(&state_path, json).map_err(|e| Error::io(&state_path, e))?;
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    }
    std::fs::rename(&tmp, &dir).map_err(|e| Error::io(&dir, e))?;
    // Written aside and renamed: a kill between truncating and writing `latest` must not leave it empty.
    let (latest, staged) = (run_dir.join("latest"), run_dir.join(".tmp-latest"));
    std::fs::write(&staged, format!("{name}\n")).map_err(|e| Error::io(&staged, e))?;
    std::fs::rename(&staged, &latest).map_err(|e| Error::io(&latest, e))?;
    Ok(dir)
}

/// The newest checkpoint of `run_dir` and its state, if any.
pub fn latest(run_dir: &Path) -> Result<Option<(PathBuf, TrainerState)>> {
    let pointer = run_dir.join("latest");
    let Ok(name) = std::fs::read_to_string(&pointer) else { return Ok(None) };
    let dir = run_dir.join(name.trim());
    let state_path = dir.join("run_state.json");
    let text = std::fs::read_to_string(&state_path).map_err(|e| Error::io(&state_path, e))?;
    let state =
        serde_json::from_str(&text).map_err(|e| Error::bad_input(state_path.display().to_string(), e.to_string()))?;
    Ok(Some((dir, state)))
}
