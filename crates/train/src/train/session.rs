//! A whole training run: where it starts (the configured checkpoint, or with `--resume` the run folder's latest,
//! refusing a changed config), the SFT warm start and its `sft/` checkpoint, then GRPO ([`super::run`]).
use std::path::Path;

use super::checkpoint::{self, TrainerState};
use super::run::{redraw, run_grpo, run_sft};
use super::Trainer;
use crate::agent::{Task, Tools, Trajectory};
use crate::config::TrainConfig;
use crate::error::Result;
use crate::model::adapter::{is_adapter_dir, AdapterConfig};
use crate::model::policy::{parse_device, parse_kind, Policy};
use crate::Error;

/// A whole run: loads the starting checkpoint (or, with `resume`, the run folder's latest one), runs the SFT
/// warm start on `expert` trajectories if the schedule asks for it (checkpoint `sft/`, which becomes the KL
/// reference), then GRPO to `cfg.train.steps`. A resumed run gives the same results as an uninterrupted one.
pub fn train(
    cfg: &TrainConfig,
    tools: &Tools,
    tasks: &[Task],
    expert: &[Trajectory],
    date: &str,
    resume: bool,
) -> Result<TrainerState> {
    let device = parse_device(&cfg.model.device)?;
    let kind = cfg.model.dtype.as_deref().map(parse_kind).transpose()?;
    let digest = config_digest(cfg)?;
    let resumed = start_point(cfg, resume, &digest)?;
    let (mut policy, mut state) = match &resumed {
        Some((dir, state)) => (load_checkpoint(cfg, dir, state.step, device, kind)?, state.clone()),
        None => (
            load_start(cfg, device, kind)?,
            TrainerState { seed: cfg.train.seed, config_digest: digest, ..TrainerState::default() },
        ),
    };
    let sft = cfg.train.sft_steps > 0 && !expert.is_empty();
    if sft && state.step == 0 && state.sft_step < cfg.train.sft_steps {
        let mut trainer = Trainer::new(&policy, super::GrpoConfig { lr: cfg.train.sft_lr, ..cfg.grpo.clone() })?;
        let bar = crate::progress::bar(cfg.train.sft_steps as u64, "sft");
        state = run_sft(cfg, &mut policy, &mut trainer, expert, state, &bar)?;
        bar.finish_and_clear();
        let sft_dir = checkpoint::sft_dir(&cfg.run_dir);
        if policy.lora().is_some() {
            // The SFT adapter is merged into a full checkpoint: the base of GRPO's adapter and its KL reference.
            policy.merge_lora()?;
        }
        checkpoint::save_as(&sft_dir, &policy, &trainer, &state)?;
        if cfg.lora.is_some() {
            drop(policy);
            policy = load_checkpoint(cfg, &sft_dir, 0, device, kind)?;
        }
    }
    if let (Some(lora), None) = (&cfg.lora, policy.lora()) {
        // `[lora] sft = false` without an SFT phase: GRPO's adapter goes on the start model.
        policy.add_lora(lora)?;
    }
    let mut trainer = match &resumed {
        Some((dir, saved)) if saved.step > 0 => {
            let mut trainer = match policy.lora() {
                Some(_) => Trainer::new(&policy, cfg.grpo.clone())?,
                None => {
                    let reference = if sft { checkpoint::sft_dir(&cfg.run_dir) } else { cfg.model.path.clone() };
                    Trainer::with_reference(&policy, &reference, cfg.grpo.clone())?
                }
            };
            trainer.load_state(&policy, dir)?;
            trainer
        }
        _ => Trainer::new(&policy, cfg.grpo.clone())?,
    };
    let bar = crate::progress::bar(cfg.train.steps as u64, "grpo");
    bar.set_position(state.step as u64);
    let state = run_grpo(cfg, &mut policy, &mut trainer, tools, tasks, expert, date, state, &bar)?;
    bar.finish_and_clear();
    redraw(&cfg.run_dir);
    Ok(state)
}

/// The policy a fresh run starts from: `[model] path` (a full checkpoint), with fresh adapters under `[lora]`
/// (with `[lora] sft = false` they are added after the SFT warm start instead).
fn load_start(cfg: &TrainConfig, device: tch::Device, kind: Option<tch::Kind>) -> Result<Policy> {
    if is_adapter_dir(&cfg.model.path) {
        return Err(Error::Config(format!(
            "[model] path {} is a LoRA adapter; train from a full checkpoint (`webtape model merge` makes one)",
            cfg.model.path.display()
        )));
    }
    let mut policy = Policy::load(&cfg.model.path, device, kind)?;
    if let Some(lora) = cfg.lora.as_ref().filter(|l| l.sft) {
        policy.add_lora(lora)?;
    }
    Ok(policy)
}

/// The policy saved in checkpoint `dir` after `step` GRPO steps. Under `[lora]`, a GRPO checkpoint holds an
/// adapter, which must have the configured rank, alpha and targets; the SFT checkpoint (`step` 0) is a full
/// model that GRPO's fresh adapter starts on.
fn load_checkpoint(
    cfg: &TrainConfig,
    dir: &Path,
    step: usize,
    device: tch::Device,
    kind: Option<tch::Kind>,
) -> Result<Policy> {
    match (&cfg.lora, is_adapter_dir(dir)) {
        (Some(lora), true) => AdapterConfig::read(dir)?.check_matches(lora, dir)?,
        (Some(lora), false) if step == 0 => {
            let mut policy = Policy::load(dir, device, kind)?;
            policy.add_lora(lora)?;
            return Ok(policy);
        }
        (Some(_), false) => {
            return Err(Error::Config(format!("{} holds no LoRA adapter, but the config has [lora]", dir.display())))
        }
        (None, true) => {
            return Err(Error::Config(format!("{} holds a LoRA adapter, but the config has no [lora]", dir.display())))
        }
        (None, false) => {}
    }
    Policy::load(dir, device, kind)
}

/// The checkpoint to continue from (`resume`), or none for a fresh run, which must not overwrite an old one.
fn start_point(cfg: &TrainConfig, resume: bool, digest: &str) -> Result<Option<(std::path::PathBuf, TrainerState)>> {
    let latest = checkpoint::latest(&cfg.run_dir)?;
    match (resume, latest) {
        (false, Some((dir, _))) => Err(Error::Config(format!(
            "{} already holds a run (latest checkpoint {}); continue it with --resume {}, or set another run_dir",
            cfg.run_dir.display(),
            dir.display(),
            cfg.run_dir.display()
        ))),
        (false, None) => Ok(None),
        (true, None) => Err(Error::Config(format!("{} has no checkpoint to resume", cfg.run_dir.display()))),
        (true, Some((_, state))) if state.config_digest != digest => Err(Error::Config(format!(
            "{} was started with another configuration; only [train] steps may change on --resume",
            cfg.run_dir.display()
        ))),
        (true, Some(found)) => Ok(Some(found)),
    }
}

/// A digest of everything in the configuration that shapes results (not the run folder or the step count).
pub fn config_digest(cfg: &TrainConfig) -> Result<String> {
    let mut c = cfg.clone();
    c.run_dir = Default::default();
    c.train.steps = 0;
    let json = serde_json::to_vec(&c).map_err(|e| Error::json("run config", e))?;
    Ok(blake3::hash(&json).to_hex()[..16].to_string())
}
