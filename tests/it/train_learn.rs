//! Training works end to end on the tiny model: GRPO with a "first token is the target" reward raises the
//! target's probability — training every weight, or LoRA adapters only — and SFT steps lower the cross-entropy
//! of a fixed answer.
use tch::Tensor;
use webtape::agent::generator::{GenRequest, Generator, SamplingParams};
use webtape::model::lora::LoraConfig;
use webtape::model::Policy;
use webtape::train::logprobs::response_logprobs;
use webtape::train::{group_advantages, GrpoConfig, Sequence, TrainBatch, Trainer};

use crate::common::{id_lists, json, tiny};
use crate::model_forward::{load, logits_of};

fn prompt() -> Vec<u32> {
    id_lists(&json(&tiny("qwen2").join("reference.json"))["inputs"])[1].clone()
}

/// Probability of each token as the first continuation of `prompt`.
fn first_token_probs(policy: &Policy, prompt: &[u32]) -> Vec<f32> {
    let logits = logits_of(policy.decoder(), &[prompt.to_vec()]);
    let last = Tensor::from_slice(logits[0].last().unwrap());
    Vec::<f32>::try_from(last.softmax(-1, tch::Kind::Float)).unwrap()
}

/// 20 GRPO steps of 16 samples with a "first token is the target" reward (the third most likely first token):
/// returns the target's probability before and after, and the mean reward of the first and last 5 steps.
fn toy_task(policy: &mut Policy, cfg: GrpoConfig) -> (f32, f32, f32, f32) {
    const GROUP: usize = 16;
    let prompt = prompt();
    let probs = first_token_probs(policy, &prompt);
    let mut order: Vec<usize> = (0..probs.len()).collect();
    order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
    let target = order[2] as u32;
    let p0 = probs[target as usize];
    let mut trainer = Trainer::new(policy, cfg).unwrap();
    let mut rewards_per_step = Vec::new();
    for step in 0..20u64 {
        let requests: Vec<GenRequest> =
            (0..GROUP as u64).map(|s| GenRequest { prompt: prompt.clone(), stream: s }).collect();
        let params = SamplingParams { max_new_tokens: 3, seed: step, ..Default::default() };
        let outs = policy.generate(&requests, &params).unwrap();
        let rewards: Vec<f32> = outs.iter().map(|o| if o.tokens[0] == target { 1.0 } else { 0.0 }).collect();
        rewards_per_step.push(rewards.iter().sum::<f32>() / GROUP as f32);
        let advantages = group_advantages(&rewards, GROUP).unwrap();
        let sequences = outs
            .iter()
            .zip(advantages)
            .map(|(o, advantage)| Sequence {
                prompt_ids: prompt.clone(),
                response_ids: o.tokens.clone(),
                loss_mask: vec![1; o.tokens.len()],
                old_logprobs: o.logprobs.clone(),
                advantage,
            })
            .collect();
        trainer.grpo_step(policy, &TrainBatch { sequences }).unwrap();
    }
    let p1 = first_token_probs(policy, &prompt)[target as usize];
    eprintln!("target {target}: p {p0:.3} -> {p1:.3}; mean reward per step {rewards_per_step:?}");
    let early: f32 = rewards_per_step[..5].iter().sum::<f32>() / 5.0;
    let late: f32 = rewards_per_step[15..].iter().sum::<f32>() / 5.0;
    (p0, p1, early, late)
}

#[test]
fn grpo_raises_the_reward_on_a_toy_task() {
    let mut policy = load("qwen2");
    let cfg = GrpoConfig { lr: 3e-3, kl_coef: 0.0, micro_batch: 8, ..Default::default() };
    let (p0, p1, early, late) = toy_task(&mut policy, cfg);
    assert!(p1 > p0 + 0.3 && late > early + 0.2, "no learning: p {p0} -> {p1}, reward {early} -> {late}");
}

/// The same with rank-8 adapters only (base frozen), KL to the base with the adapters off.
#[test]
fn lora_grpo_raises_the_reward_on_a_toy_task() {
    let mut policy = load("qwen2");
    policy.add_lora(&LoraConfig { rank: 8, alpha: 16.0, seed: 1, ..LoraConfig::default() }).unwrap();
    let base: Vec<(String, Tensor)> = policy.var_store().variables().into_iter().map(|(n, t)| (n, t.copy())).collect();
    let cfg = GrpoConfig { lr: 1e-2, kl_coef: 0.001, micro_batch: 8, ..Default::default() };
    let (p0, p1, early, late) = toy_task(&mut policy, cfg);
    assert!(p1 > p0 + 0.3 && late > early + 0.2, "no learning: p {p0} -> {p1}, reward {early} -> {late}");
    let vars = policy.var_store().variables();
    assert!(base.iter().all(|(n, t)| vars[n].equal(t)), "the base weights stayed frozen");
}

#[test]
fn sft_steps_lower_the_cross_entropy_of_a_fixed_answer() {
    let mut policy = load("qwen2");
    let prompt = prompt();
    let answer: Vec<u32> = vec![42, 7, 300, 5, 611];
    let seq = Sequence {
        prompt_ids: prompt.clone(),
        response_ids: answer.clone(),
        loss_mask: vec![1, 1, 0, 1, 1],
        ..Default::default()
    };
    let batch = TrainBatch { sequences: vec![seq.clone(), seq.clone()] };
    let before = response_logprobs(policy.decoder(), std::slice::from_ref(&seq), 1.0, 1).unwrap().remove(0);
    let want_ce = -(before[0] + before[1] + before[3] + before[4]) as f64 / 4.0;
    let mut trainer = Trainer::new(&policy, GrpoConfig { lr: 1e-2, ..Default::default() }).unwrap();
    let mut losses = Vec::new();
    for _ in 0..10 {
        losses.push(trainer.sft_step(&mut policy, &batch).unwrap().loss);
    }
    eprintln!("SFT cross-entropy per step: {losses:?}");
    assert!((losses[0] - want_ce).abs() < 1e-5, "first loss {} vs token-mean CE {want_ce}", losses[0]);
    assert!(losses[9] < 0.25 * losses[0], "SFT did not learn: {losses:?}");
    let empty = TrainBatch { sequences: vec![] };
    assert!(trainer.sft_step(&mut policy, &empty).is_err());
}
