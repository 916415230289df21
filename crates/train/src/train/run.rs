//! The training loop: each step takes the next questions (a seeded shuffle per epoch), rolls out
//! `samples_per_question` trajectories each against the tools, turns rewards into group advantages and takes the
//! step's GRPO updates; metrics every step, checkpoints every `save_every` steps. Also the SFT warm start on expert
//! trajectories. Everything random is seeded from the config and the step, so a resumed run continues exactly.
//! With `[lora]`, SFT and GRPO each train adapters on a frozen base; the SFT adapter is merged into `sft/`, the
//! base (and KL reference) of GRPO's fresh adapter.
use std::path::Path;
use std::time::Instant;

use super::checkpoint::{self, TrainerState};
use super::digits::DigitShuffle;
use super::metrics::{plot, MetricsLog, StepMetrics, StepTiming};
use super::{group_advantages, Sequence, StepStats, TrainBatch, Trainer};
use crate::agent::{rollout_timed, Task, Tools, Trajectory};
use crate::config::TrainConfig;
use crate::error::Result;
use crate::model::policy::Policy;

pub use super::session::{config_digest, train};

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
pub(crate) fn permutation(n: usize, seed: u64, epoch: u64) -> Vec<usize> {
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
    TrainBatch { sequences: trajs.iter().zip(advantages).map(|(t, a)| sequence_of(t, *a)).collect() }
}

/// One trajectory as a training sequence with its advantage.
fn sequence_of(t: &Trajectory, advantage: f32) -> Sequence {
    Sequence {
        prompt_ids: t.prompt_ids.clone(),
        response_ids: t.response_ids.clone(),
        loss_mask: t.loss_mask.clone(),
        old_logprobs: t.logprobs.clone(),
        advantage,
    }
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
    m.sft_loss = stats.sft_loss;
}

/// Runs GRPO from `state` to `cfg.train.steps`, checkpointing and logging; returns the final state.
#[allow(clippy::too_many_arguments)]
pub fn run_grpo(
    cfg: &TrainConfig,
    policy: &mut Policy,
    trainer: &mut Trainer,
    tools: &Tools,
    tasks: &[Task],
    expert: &[Trajectory],
    date: &str,
    mut state: TrainerState,
    progress: &indicatif::ProgressBar,
) -> Result<TrainerState> {
    let im_start = policy.tokenizer().token_id("<|im_start|>");
    let pool = match cfg.grpo.sft_coef > 0.0 {
        true => super::windows::sft_sequences(expert, cfg.train.sft_sequences, im_start),
        false => Vec::new(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| crate::Error::io("tokio runtime", e))?;
    let grpo = GrpoStep { cfg, tools, tasks, pool: &pool, date, runtime: &runtime };
    let log = MetricsLog::open(&cfg.run_dir, state.sft_step, state.step)?;
    let t = &cfg.train;
    while state.step < t.steps {
        let (m, timing) = grpo.run(policy, trainer, state.step)?;
        log.append(&m, &timing)?;
        state.step += 1;
        progress.set_position(state.step as u64);
        progress.set_message(format!("reward {:.3} f1 {:.3} kl {:.4}", m.reward_mean, m.f1, m.kl));
        if state.step.is_multiple_of(t.save_every) || state.step == t.steps {
            checkpoint::save(&cfg.run_dir, policy, trainer, &state)?;
            redraw(&cfg.run_dir);
        }
    }
    Ok(state)
}

/// What every GRPO step shares: the settings, the tools, the questions and the expert mix.
struct GrpoStep<'a> {
    cfg: &'a TrainConfig,
    tools: &'a Tools,
    tasks: &'a [Task],
    pool: &'a [(Sequence, usize)],
    date: &'a str,
    runtime: &'a tokio::runtime::Runtime,
}

impl GrpoStep<'_> {
    /// Step `step` (0-based): rollouts of its questions, group advantages, the updates; its metrics and timing.
    fn run(&self, policy: &mut Policy, trainer: &mut Trainer, step: usize) -> Result<(StepMetrics, StepTiming)> {
        let (cfg, t) = (self.cfg, &self.cfg.train);
        let started = Instant::now();
        let step_tasks = tasks_for_step(self.tasks, step, t.questions_per_step, t.seed);
        let seed = t.seed.wrapping_add(1 + step as u64).wrapping_mul(0x2545_F491_4F6C_DD1D);
        let env_before = env_counts(self.tools);
        let (trajs, times) = rollout_timed(
            policy,
            self.tools,
            &step_tasks,
            t.samples_per_question,
            self.date,
            cfg.env.rules.max_queries,
            &cfg.rollout,
            seed,
            self.runtime,
        )?;
        let rewards: Vec<f32> = trajs.iter().map(|t| t.score.reward).collect();
        let advantages = group_advantages(&rewards, t.samples_per_question)?;
        let train_clock = Instant::now();
        let sft = sft_mix(self.pool, step, t.sft_questions_per_step, t.seed);
        let batch = trained_batch(&trajs, &advantages, t.samples_per_question, t.skip_flat_groups);
        let stats = match batch.sequences.is_empty() {
            true => StepStats::default(),
            false => trainer.grpo_updates(policy, &batch, sft.as_ref(), t.samples_per_question)?,
        };
        let mut m = StepMetrics { step: step + 1, phase: "grpo".into(), ..StepMetrics::default() };
        rollout_metrics(&trajs, &mut m);
        update_metrics(&stats, &mut m);
        let env_after = env_counts(self.tools);
        (m.env_exact, m.env_bm25, m.env_miss) =
            (env_after.0 - env_before.0, env_after.1 - env_before.1, env_after.2 - env_before.2);
        let generated = trajs.iter().map(|t| t.loss_mask.iter().filter(|&&b| b == 1).count()).sum::<usize>();
        let timing = StepTiming {
            step: m.step,
            phase: m.phase.clone(),
            seconds: started.elapsed().as_secs_f64(),
            generate_s: times.generate_s,
            tools_s: times.tools_s,
            train_s: train_clock.elapsed().as_secs_f64(),
            generated_tokens_per_s: generated as f64 / times.generate_s.max(1e-9),
            train_tokens_per_s: batch_tokens(&trajs) as f64 / train_clock.elapsed().as_secs_f64().max(1e-9),
        };
        Ok((m, timing))
    }
}

/// The step's training batch: every rollout, or with `skip_flat` only the groups (`group` consecutive
/// rollouts) whose rewards are not all equal.
fn trained_batch(trajs: &[Trajectory], advantages: &[f32], group: usize, skip_flat: bool) -> TrainBatch {
    if !skip_flat {
        return batch_of(trajs, advantages);
    }
    let size = group.max(1);
    let sequences = trajs
        .chunks(size)
        .zip(advantages.chunks(size))
        .filter(|(g, _)| g.iter().any(|t| t.score.reward != g[0].score.reward))
        .flat_map(|(g, a)| g.iter().zip(a).map(|(t, a)| sequence_of(t, *a)))
        .collect();
    TrainBatch { sequences }
}

/// The expert sequences mixed into GRPO step `step` (`[grpo] sft_coef`): `per_step` of `pool` in a seeded
/// order of its own, none when the pool is empty.
fn sft_mix(pool: &[(Sequence, usize)], step: usize, per_step: usize, seed: u64) -> Option<TrainBatch> {
    if pool.is_empty() || per_step == 0 {
        return None;
    }
    let n = pool.len();
    let mut order: Option<(usize, Vec<usize>)> = None;
    let sequences = (step * per_step..(step + 1) * per_step)
        .map(|at| {
            let epoch = at / n;
            if order.as_ref().is_none_or(|(e, _)| *e != epoch) {
                order = Some((epoch, permutation(n, seed ^ 0x9770, epoch as u64)));
            }
            let (_, perm) = order.as_ref().expect("just set");
            pool[perm[at % n]].0.clone()
        })
        .collect();
    Some(TrainBatch { sequences })
}

fn batch_tokens(trajs: &[Trajectory]) -> usize {
    trajs.iter().map(|t| t.prompt_ids.len() + t.response_ids.len()).sum()
}

/// Exact / BM25 / miss answers the environment gave so far (a remote one: as its server labelled them).
fn env_counts(tools: &Tools) -> (u64, u64, u64) {
    let c = match tools {
        Tools::Local(env) => env.run_log().coverage(),
        Tools::Remote(remote) => remote.coverage(),
    };
    (c.exact, c.bm25, c.miss)
}

/// Redraws `curves.png` from the GRPO steps of `metrics.jsonl` (a plotting failure is reported, not fatal).
pub fn redraw(run_dir: &Path) {
    let mut metrics = MetricsLog::read(&run_dir.join("metrics.jsonl")).unwrap_or_default();
    metrics.retain(|m| m.phase == "grpo");
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
    progress: &indicatif::ProgressBar,
) -> Result<TrainerState> {
    let log = MetricsLog::open(&cfg.run_dir, state.sft_step, 0)?;
    let t = &cfg.train;
    let im_start = policy.tokenizer().token_id("<|im_start|>");
    let pool = super::windows::sft_sequences(expert, t.sft_sequences, im_start);
    let digits = match t.sft_digit_shuffle {
        true => Some(DigitShuffle::new(policy.tokenizer()).ok_or_else(|| {
            crate::Error::Config("train.sft_digit_shuffle: the tokenizer has no single-digit tokens".into())
        })?),
        false => None,
    };
    while state.sft_step < t.sft_steps && !pool.is_empty() {
        let started = Instant::now();
        let order =
            permutation(pool.len(), t.seed ^ 0x5F7, (state.sft_step * t.sft_questions_per_step / pool.len()) as u64);
        let chosen: Vec<&(Sequence, usize)> = (0..t.sft_questions_per_step)
            .map(|j| &pool[order[(state.sft_step * t.sft_questions_per_step + j) % pool.len()]])
            .collect();
        let mut batch = TrainBatch { sequences: chosen.iter().map(|(s, _)| s.clone()).collect() };
        if let Some(shuffle) = &digits {
            for (j, seq) in batch.sequences.iter_mut().enumerate() {
                let draw = (state.sft_step * t.sft_questions_per_step + j) as u64;
                shuffle.apply(seq, &permutation(10, t.seed ^ 0xD161_75, draw));
            }
        }
        let picked: Vec<Trajectory> = chosen.iter().map(|(_, i)| expert[*i].clone()).collect();
        trainer.set_lr(t.sft_lr_at(state.sft_step))?;
        let stats = trainer.sft_step(policy, &batch)?;
        let mut m = StepMetrics { step: state.sft_step + 1, phase: "sft".into(), ..StepMetrics::default() };
        rollout_metrics(&picked, &mut m);
        update_metrics(&stats, &mut m);
        let seconds = started.elapsed().as_secs_f64();
        let timing = StepTiming {
            step: m.step,
            phase: m.phase.clone(),
            seconds,
            train_s: seconds,
            train_tokens_per_s: batch.sequences.iter().map(Sequence::len).sum::<usize>() as f64 / seconds.max(1e-9),
            ..StepTiming::default()
        };
        log.append(&m, &timing)?;
        state.sft_step += 1;
        progress.set_position(state.sft_step as u64);
        progress.set_message(format!("loss {:.3}", m.loss));
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_groups_are_left_out_when_asked() {
        let traj = |i: usize, reward: f32| Trajectory {
            task: Task {
                id: format!("q{}", i / 2),
                question: "q".into(),
                answers: vec![],
                data_source: None,
                subject: None,
            },
            sample: i % 2,
            prompt_ids: vec![1],
            response_ids: vec![2, 3],
            loss_mask: vec![1, 1],
            logprobs: vec![-0.5, -0.5],
            turns: vec![],
            answer: None,
            format_error: None,
            score: crate::agent::reward::Score { reward, f1: 0.0, em: false, format_ok: true },
            tool_calls: 0,
        };
        let rewards = [1.0, 1.0, 0.0, 1.0, -1.0, -1.0, 0.5, 0.0];
        let trajs: Vec<Trajectory> = rewards.iter().enumerate().map(|(i, &r)| traj(i, r)).collect();
        let adv = group_advantages(&rewards, 2).unwrap();
        assert_eq!(trained_batch(&trajs, &adv, 2, false).sequences.len(), 8);
        let kept = trained_batch(&trajs, &adv, 2, true);
        let kept_adv: Vec<f32> = kept.sequences.iter().map(|s| s.advantage).collect();
        assert_eq!(kept_adv, [adv[2], adv[3], adv[6], adv[7]], "groups 1 and 3 differ; 0 and 2 are flat");
        let flat = [0.0; 4];
        assert!(trained_batch(&trajs[..4], &flat, 4, true).sequences.len() == 4, "one mixed group of 4 is kept");
        assert!(trained_batch(&trajs[4..6], &flat[..2], 2, true).sequences.is_empty());
    }

    #[test]
    fn task_order_is_a_seeded_shuffle_per_epoch() {
        let tasks: Vec<Task> = (0..5)
            .map(|i| Task {
                id: i.to_string(),
                question: format!("q{i}"),
                answers: vec![],
                data_source: None,
                subject: None,
            })
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
