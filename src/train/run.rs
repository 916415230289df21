//! The training loop: each step takes the next questions (a seeded shuffle per epoch), rolls out
//! `samples_per_question` trajectories each against the tools, turns rewards into group advantages and takes one
//! GRPO step; metrics every step, checkpoints every `save_every` steps. Also the SFT warm start on expert
//! trajectories. Everything random is seeded from the config and the step, so a resumed run continues exactly.
use std::path::Path;
use std::time::Instant;

use super::checkpoint::{self, TrainerState};
use super::metrics::{plot, MetricsLog, StepMetrics};
use super::{group_advantages, Sequence, StepStats, TrainBatch, Trainer};
use crate::agent::{rollout, Task, Tools, Trajectory};
use crate::config::TrainConfig;
use crate::error::Result;
use crate::model::policy::Policy;

/// The tasks of step `step`: positions `step*q .. step*q+q` of an endless sequence of seeded epoch shuffles.
pub fn tasks_for_step(tasks: &[Task], step: usize, per_step: usize, seed: u64) -> Vec<Task> {
    (0..per_step)
        .map(|j| {
            let index = step * per_step + j;
            let (epoch, pos) = (index / tasks.len(), index % tasks.len());
            tasks[permutation(tasks.len(), seed, epoch as u64)[pos]].clone()
        })
        .collect()
}

/// A seeded Fisher-Yates permutation of `0..n` (SplitMix64 stream of (seed, epoch)).
fn permutation(n: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut state = seed ^ epoch.wrapping_mul(0xD1B5_4A32_D192_ED03);
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, (next() % (i as u64 + 1)) as usize);
    }
    order
}

/// Training sequences from trajectories with their advantages.
pub fn batch_of(trajs: &[Trajectory], advantages: &[f32]) -> TrainBatch {
    let sequences = trajs
        .iter()
        .zip(advantages)
        .map(|(t, a)| Sequence {
            prompt_ids: t.prompt_ids.clone(),
            response_ids: t.response_ids.clone(),
            loss_mask: t.loss_mask.clone(),
            old_logprobs: t.logprobs.clone(),
            advantage: *a,
        })
        .collect();
    TrainBatch { sequences }
}

/// Rollout statistics of one step (reward, F1, EM, format errors, tool calls, length).
pub fn rollout_metrics(trajs: &[Trajectory], m: &mut StepMetrics) {
    let n = trajs.len().max(1) as f64;
    let rewards: Vec<f64> = trajs.iter().map(|t| t.score.reward as f64).collect();
    m.reward_mean = rewards.iter().sum::<f64>() / n;
    m.reward_std = (rewards.iter().map(|r| (r - m.reward_mean).powi(2)).sum::<f64>() / n).sqrt();
    m.f1 = trajs.iter().map(|t| t.score.f1 as f64).sum::<f64>() / n;
    m.em = trajs.iter().filter(|t| t.score.em).count() as f64 / n;
    m.format_error_rate = trajs.iter().filter(|t| !t.score.format_ok).count() as f64 / n;
    m.tool_calls = trajs.iter().map(|t| t.tool_calls as f64).sum::<f64>() / n;
    m.response_tokens = trajs.iter().map(|t| t.response_ids.len() as f64).sum::<f64>() / n;
}

fn update_metrics(stats: &StepStats, m: &mut StepMetrics) {
    m.loss = stats.loss;
    m.kl = stats.kl;
    m.entropy = stats.entropy;
    m.clip_frac = stats.clip_frac;
    m.grad_norm = stats.grad_norm;
}

/// Runs GRPO from `state` to `cfg.train.steps`, checkpointing and logging; returns the final state.
#[allow(clippy::too_many_arguments)]
pub fn run_grpo(
    cfg: &TrainConfig,
    policy: &mut Policy,
    trainer: &mut Trainer,
    tools: &Tools,
    tasks: &[Task],
    date: &str,
    mut state: TrainerState,
    progress: &indicatif::ProgressBar,
) -> Result<TrainerState> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| crate::Error::io("tokio runtime", e))?;
    let log = MetricsLog::open(&cfg.run_dir, state.sft_step, state.step)?;
    let t = &cfg.train;
    while state.step < t.steps {
        let started = Instant::now();
        let step_tasks = tasks_for_step(tasks, state.step, t.questions_per_step, t.seed);
        let seed = t.seed.wrapping_add(1 + state.step as u64).wrapping_mul(0x2545_F491_4F6C_DD1D);
        let env_before = env_counts(tools);
        let trajs = rollout(
            policy,
            tools,
            &step_tasks,
            t.samples_per_question,
            date,
            cfg.env.rules.max_queries,
            &cfg.rollout,
            seed,
            &runtime,
        )?;
        let rewards: Vec<f32> = trajs.iter().map(|t| t.score.reward).collect();
        let advantages = group_advantages(&rewards, t.samples_per_question)?;
        let stats = trainer.grpo_step(policy, &batch_of(&trajs, &advantages))?;
        let mut m = StepMetrics { step: state.step + 1, phase: "grpo".into(), ..StepMetrics::default() };
        rollout_metrics(&trajs, &mut m);
        update_metrics(&stats, &mut m);
        let env_after = env_counts(tools);
        (m.env_exact, m.env_bm25, m.env_miss) =
            (env_after.0 - env_before.0, env_after.1 - env_before.1, env_after.2 - env_before.2);
        m.seconds = started.elapsed().as_secs_f64();
        m.tokens_per_s = trajs.iter().map(|t| t.response_ids.len()).sum::<usize>() as f64 / m.seconds.max(1e-9);
        log.append(&m)?;
        state.step += 1;
        progress.set_position(state.step as u64);
        progress.set_message(format!("reward {:.3} f1 {:.3}", m.reward_mean, m.f1));
        if state.step % t.save_every == 0 || state.step == t.steps {
            checkpoint::save(&cfg.run_dir, policy, trainer, &state)?;
            redraw(&cfg.run_dir);
        }
    }
    Ok(state)
}

/// Exact / BM25 / miss answers the in-process environment gave so far (zeros for a remote one).
fn env_counts(tools: &Tools) -> (u64, u64, u64) {
    match tools {
        Tools::Local(env) => {
            let c = env.run_log().coverage();
            (c.exact, c.bm25, c.miss)
        }
        Tools::Remote(_) => (0, 0, 0),
    }
}

/// Redraws `curves.png` from `metrics.jsonl` (a plotting failure is reported, not fatal).
pub fn redraw(run_dir: &Path) {
    let metrics = MetricsLog::read(&run_dir.join("metrics.jsonl")).unwrap_or_default();
    if let Err(e) = plot(&metrics, &run_dir.join("curves.png")) {
        eprintln!("warning: {e}");
    }
}

/// SFT warm start: `steps` passes over expert trajectories, `per_step` trajectories each, logged as `sft`.
pub fn run_sft(
    cfg: &TrainConfig,
    policy: &mut Policy,
    trainer: &mut Trainer,
    expert: &[Trajectory],
    mut state: TrainerState,
) -> Result<TrainerState> {
    let log = MetricsLog::open(&cfg.run_dir, state.sft_step, 0)?;
    let t = &cfg.train;
    let all: Vec<usize> = (0..expert.len()).collect();
    while state.sft_step < t.sft_steps && !expert.is_empty() {
        let started = Instant::now();
        let order =
            permutation(all.len(), t.seed ^ 0x5F7, (state.sft_step * t.sft_questions_per_step / all.len()) as u64);
        let picked: Vec<Trajectory> = (0..t.sft_questions_per_step)
            .map(|j| expert[order[(state.sft_step * t.sft_questions_per_step + j) % all.len()]].clone())
            .collect();
        let stats = trainer.sft_step(policy, &batch_of(&picked, &vec![0.0; picked.len()]))?;
        let mut m = StepMetrics { step: state.sft_step + 1, phase: "sft".into(), ..StepMetrics::default() };
        rollout_metrics(&picked, &mut m);
        update_metrics(&stats, &mut m);
        m.seconds = started.elapsed().as_secs_f64();
        log.append(&m)?;
        state.sft_step += 1;
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_order_is_a_seeded_shuffle_per_epoch() {
        let tasks: Vec<Task> = (0..5)
            .map(|i| Task { id: i.to_string(), question: format!("q{i}"), answers: vec![], data_source: None })
            .collect();
        let ids = |step, seed| tasks_for_step(&tasks, step, 5, seed).into_iter().map(|t| t.id).collect::<Vec<_>>();
        let mut epoch0 = ids(0, 1);
        assert_eq!(ids(0, 1), epoch0, "deterministic");
        assert_ne!(ids(1, 1), epoch0, "a new order each epoch");
        epoch0.sort();
        assert_eq!(epoch0, vec!["0", "1", "2", "3", "4"], "each question once per epoch");
        assert_ne!(ids(0, 2), ids(0, 1));
    }
}
