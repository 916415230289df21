//! A GRPO step computes the same loss and gradients as plain PyTorch + transformers with veRL's formulas;
//! tool-observation tokens get no gradient; micro-batching does not change the update; mini-batches and epochs
//! are updates on group slices in order; advantages follow veRL's group normalisation.
use std::collections::HashMap;
use std::path::Path;

use tch::{Device, Kind, Tensor};
use webtape::model::policy::DEFAULT_SHARD_BYTES;
use webtape::model::Policy;
use webtape::train::logprobs::{entropy_from_logits, logprobs_from_logits, response_logprobs};
use webtape::train::optim::{clip_grad_norm, trainable_params};
use webtape::train::{group_advantages, grpo_loss, GrpoConfig, Sequence, TrainBatch, Trainer};

use crate::common::{python, tempdir, tiny};
use crate::model_forward::load;

/// Parameters whose gradients are compared with PyTorch's.
const PARAMS: [&str; 7] = [
    "model.embed_tokens.weight",
    "model.layers.0.self_attn.q_proj.weight",
    "model.layers.0.self_attn.q_proj.bias",
    "model.layers.1.mlp.down_proj.weight",
    "model.layers.2.post_attention_layernorm.weight",
    "model.norm.weight",
    "lm_head.weight",
];

/// The tiny Qwen2 with seeded noise added to every weight (so it differs from the reference), saved to `dir`.
pub fn perturbed_policy(dir: &Path) -> Policy {
    let policy = load("qwen2");
    let mut vars: Vec<(String, Tensor)> = policy.var_store().variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    tch::manual_seed(7);
    tch::no_grad(|| {
        for (_, v) in vars.iter_mut() {
            let noise = v.randn_like() * 0.02;
            *v += noise;
        }
    });
    policy.save(dir, DEFAULT_SHARD_BYTES).unwrap();
    policy
}

fn token(i: usize, j: usize) -> u32 {
    ((i * 131 + j * 37 + 17) % 690 + 3) as u32
}

/// Two groups of two sequences: prompts of 7 and 12 tokens; responses of policy tokens, a tool observation
/// (mask 0) and more policy tokens, of different lengths. Group 0 carries old log-probs (the policy's own,
/// shifted so some ratios clip; garbage on tool tokens), group 1 none (recomputed).
pub fn tiny_batch(policy: &Policy) -> TrainBatch {
    let shapes = [(3, 4, 2), (5, 3, 4), (2, 6, 3), (4, 0, 0)];
    let advantages = group_advantages(&[1.0, 0.0, 0.25, 1.0], 2).unwrap();
    let mut sequences: Vec<Sequence> = shapes
        .iter()
        .enumerate()
        .map(|(i, &(a, o, c))| Sequence {
            prompt_ids: (0..if i < 2 { 7 } else { 12 }).map(|j| token(100 + i / 2, j)).collect(),
            response_ids: (0..a + o + c).map(|j| token(i, j)).collect(),
            loss_mask: [vec![1; a], vec![0; o], vec![1; c]].concat(),
            old_logprobs: Vec::new(),
            advantage: advantages[i],
        })
        .collect();
    let current = response_logprobs(policy.decoder(), &sequences[..2], 1.0, 4).unwrap();
    for (i, lps) in current.iter().enumerate() {
        let seq = &mut sequences[i];
        seq.old_logprobs = lps
            .iter()
            .enumerate()
            .map(|(j, lp)| if seq.loss_mask[j] == 1 { lp + 0.35 * (1.3 * j as f32 + i as f32).sin() } else { -7.5 })
            .collect();
    }
    TrainBatch { sequences }
}

fn grads(policy: &Policy) -> HashMap<String, Vec<f32>> {
    let vars = policy.var_store().variables();
    PARAMS
        .iter()
        .map(|&n| (n.to_string(), Vec::<f32>::try_from(vars[n].grad().reshape([-1]).to_device(Device::Cpu)).unwrap()))
        .collect()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn close(name: &str, got: f64, want: f64, tol: f64) {
    assert!((got - want).abs() <= tol, "{name}: ours {got}, PyTorch {want} (tolerance {tol})");
}

#[test]
fn grpo_loss_and_gradients_equal_pytorch_with_verl_formulas() {
    let configs = [
        GrpoConfig { kl_coef: 0.1, ..Default::default() },
        GrpoConfig {
            clip_eps: 0.1,
            kl_coef: 0.05,
            entropy_coef: 0.01,
            temperature: 0.7,
            micro_batch: 3,
            ..Default::default()
        },
    ];
    for cfg in configs {
        let dir = tempdir();
        let policy = perturbed_policy(&dir.path().join("policy"));
        let mut trainer = Trainer::with_reference(&policy, &tiny("qwen2"), cfg.clone()).unwrap();
        let batch = tiny_batch(&policy);
        let stats = trainer.grpo_backward(&policy, &batch).unwrap();
        let ours = grads(&policy);
        let norm = clip_grad_norm(&trainable_params(policy.var_store()), f64::MAX).unwrap();
        let case = serde_json::json!({
            "policy_dir": dir.path().join("policy"), "ref_dir": tiny("qwen2"), "params": PARAMS,
            "config": {"clip_eps": cfg.clip_eps, "kl_coef": cfg.kl_coef, "entropy_coef": cfg.entropy_coef,
                       "temperature": cfg.temperature, "max_grad_norm": cfg.max_grad_norm},
            "sequences": batch.sequences,
        });
        let case_path = dir.path().join("case.json");
        std::fs::write(&case_path, case.to_string()).unwrap();
        let want: serde_json::Value =
            serde_json::from_str(&python("grpo_reference.py", &[case_path.to_str().unwrap()])).unwrap();
        let f = |k: &str| want[k].as_f64().unwrap();
        eprintln!(
            "T={} ours {stats:?} norm {norm}; PyTorch loss {} kl {} clip {} norm {}",
            cfg.temperature,
            f("loss"),
            f("kl"),
            f("clip_frac"),
            f("grad_norm")
        );
        assert!(
            stats.clip_frac > 0.0 && stats.clip_frac < 1.0 && stats.kl > 1e-4,
            "the case exercises clipping and KL"
        );
        assert_eq!(stats.tokens, 23);
        for (name, got) in
            [("loss", stats.loss), ("pg_loss", stats.pg_loss), ("kl", stats.kl), ("entropy", stats.entropy)]
        {
            close(name, got, f(name), 1e-5);
        }
        close("clip_frac", stats.clip_frac, f("clip_frac"), 1e-7);
        close("grad_norm", norm, f("grad_norm"), 1e-5 * f("grad_norm").max(1.0));
        for name in PARAMS {
            let theirs: Vec<f32> = serde_json::from_value(want["grads"][name].clone()).unwrap();
            let scale = theirs.iter().fold(0f32, |m, x| m.max(x.abs()));
            let diff = max_abs_diff(&ours[name], &theirs);
            eprintln!("  {name}: max |grad diff| {diff:.3e} (max |grad| {scale:.3e})");
            assert!(scale > 0.0 && diff < 1e-5, "{name}: gradient differs from PyTorch by {diff}");
        }
    }
}

#[test]
fn untrained_tokens_get_exactly_zero_gradient() {
    // At the loss: d loss / d logits is exactly 0 at mask-0 cells, whatever their old/reference values.
    tch::manual_seed(3);
    let logits = (Tensor::randn([2, 6, 11], (Kind::Float, Device::Cpu)) * 3.0).set_requires_grad(true);
    let labels = Tensor::from_slice(&[1i64, 4, 2, 9, 0, 3, 5, 5, 7, 1, 10, 2]).reshape([2, 6]);
    let mask = Tensor::from_slice(&[1f32, 1., 0., 0., 1., 0., 0., 1., 1., 0., 0., 1.]).reshape([2, 6]);
    let new = logprobs_from_logits(&logits, &labels).unwrap();
    let garbage = Tensor::from_slice(&[f32::NAN, 1e30, -1e30, f32::INFINITY]).repeat([3]).reshape([2, 6]);
    let keep = mask.gt(0);
    let old = (new.detach() + 0.3).where_self(&keep, &garbage);
    let reference = (new.detach() - 0.2).where_self(&keep, &garbage.flip([1]));
    let cfg = GrpoConfig { kl_coef: 0.1, entropy_coef: 0.05, ..Default::default() };
    let adv = Tensor::from_slice(&[1.5f32, -0.7]);
    let ent = entropy_from_logits(&logits);
    let (loss, parts) = grpo_loss(&new, &old, &reference, &adv, &mask, Some(&ent), &cfg).unwrap();
    assert!(loss.double_value(&[]).is_finite() && parts.tokens == 6);
    loss.backward();
    let per_cell = logits.grad().abs().sum_dim_intlist(-1, false, Kind::Float);
    let at_untrained = per_cell.masked_select(&keep.logical_not()).max().double_value(&[]);
    let at_trained = per_cell.masked_select(&keep).min().double_value(&[]);
    assert_eq!(at_untrained, 0.0, "mask-0 logits got gradient");
    assert!(at_trained > 0.0, "every trained cell has gradient");

    // Through the model: the old log-probs of tool tokens change nothing, bit for bit.
    let policy = load("qwen2");
    let mut trainer = Trainer::new(&policy, GrpoConfig { kl_coef: 0.1, ..Default::default() }).unwrap();
    let batch = tiny_batch(&policy);
    trainer.grpo_backward(&policy, &batch).unwrap();
    let before = grads(&policy);
    let mut changed = batch.clone();
    for (s, fill) in changed.sequences.iter_mut().zip([f32::NAN, 1e30]) {
        for (lp, &m) in s.old_logprobs.iter_mut().zip(&s.loss_mask) {
            if m == 0 {
                *lp = fill;
            }
        }
    }
    trainer.grpo_backward(&policy, &changed).unwrap();
    assert_eq!(before, grads(&policy), "tool-token old log-probs changed the gradient");
}

#[test]
fn micro_batching_does_not_change_the_update() {
    let mut results = Vec::new();
    for micro_batch in [1, 4] {
        let mut policy = load("qwen2");
        let cfg = GrpoConfig { micro_batch, kl_coef: 0.1, lr: 1e-4, ..Default::default() };
        let mut trainer = Trainer::new(&policy, cfg).unwrap();
        let batch = tiny_batch(&policy);
        trainer.grpo_backward(&policy, &batch).unwrap();
        let grad = flat(&policy, |v| v.grad());
        let stats = trainer.grpo_step(&mut policy, &batch).unwrap();
        results.push((stats, grad, flat(&policy, |v| v.detach())));
    }
    let (a, b) = (&results[0], &results[1]);
    eprintln!("micro 1: {:?}\nmicro 4: {:?}", a.0, b.0);
    assert!((a.0.loss - b.0.loss).abs() < 1e-6 && (a.0.grad_norm - b.0.grad_norm).abs() < 1e-6 * a.0.grad_norm);
    let grad_diff = (&a.1 - &b.1).abs().max().double_value(&[]);
    let grad_scale = a.1.abs().max().double_value(&[]);
    let diff = (&a.2 - &b.2).abs().max().double_value(&[]);
    eprintln!(
        "max |grad diff| {grad_diff:.3e} (max |grad| {grad_scale:.3e}); max |param diff| after the step {diff:.3e}"
    );
    assert!(grad_diff < 1e-6 * grad_scale, "micro-batch 1 vs 4 gradients differ by {grad_diff}");
    assert!(diff < 1e-6, "micro-batch 1 vs 4 parameters differ by {diff}");
}

#[test]
fn mini_batches_and_epochs_are_updates_on_group_slices_in_order() {
    let cfg = GrpoConfig { lr: 1e-3, mini_batches: 2, epochs: 2, ..Default::default() };
    let mut policy = load("qwen2");
    let batch = tiny_batch(&policy);
    let mut trainer = Trainer::new(&policy, cfg.clone()).unwrap();
    let stats = trainer.grpo_updates(&mut policy, &batch, None, 2).unwrap();
    assert_eq!(trainer.steps(), 4, "2 epochs x 2 mini-batches");
    assert_eq!((stats.sequences, stats.tokens), (4, batch.validate(usize::MAX).unwrap()));
    // The same updates by hand: group 0 then group 1, twice.
    let mut by_hand = load("qwen2");
    let mut manual = Trainer::new(&by_hand, cfg).unwrap();
    for _ in 0..2 {
        for group in batch.sequences.chunks(2) {
            manual.grpo_step(&mut by_hand, &TrainBatch { sequences: group.to_vec() }).unwrap();
        }
    }
    let diff = (flat(&policy, |v| v.detach()) - flat(&by_hand, |v| v.detach())).abs().max().double_value(&[]);
    assert!(diff < 1e-7, "grpo_updates differs from the updates by hand by {diff}");
    // And it is not one update on the whole batch.
    let mut once = load("qwen2");
    Trainer::new(&once, GrpoConfig { lr: 1e-3, ..Default::default() }).unwrap().grpo_step(&mut once, &batch).unwrap();
    let moved = (flat(&policy, |v| v.detach()) - flat(&once, |v| v.detach())).abs().max().double_value(&[]);
    assert!(moved > 1e-5, "four updates left the same weights as one ({moved})");
    let bad = GrpoConfig { mini_batches: 0, ..Default::default() };
    assert!(bad.validate().unwrap_err().to_string().contains("mini_batches"));
}

/// Every variable of the policy (sorted by name) mapped by `f` and concatenated.
fn flat(policy: &Policy, f: impl Fn(&Tensor) -> Tensor) -> Tensor {
    let mut vars: Vec<(String, Tensor)> = policy.var_store().variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    Tensor::cat(&vars.iter().map(|(_, v)| f(v).reshape([-1])).collect::<Vec<_>>(), 0)
}

#[test]
fn group_advantages_equal_verl() {
    let rewards = [1.0f32, 0.0, 0.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.2, 0.9, -1.0, 3.5];
    for size in [1usize, 4] {
        let ours = group_advantages(&rewards, size).unwrap();
        let arg = serde_json::to_string(&rewards).unwrap();
        let want: Vec<f32> = serde_json::from_str(&python("grpo_advantages.py", &[&arg, &size.to_string()])).unwrap();
        eprintln!("group {size}: ours {ours:?}\n          veRL {want:?}");
        assert!(max_abs_diff(&ours, &want) < 1e-5, "group size {size}");
    }
    assert_eq!(&group_advantages(&rewards, 4).unwrap()[4..8], &[0.0; 4], "a constant group gets 0");
    assert!(group_advantages(&rewards, 5).is_err());
}

#[test]
fn sft_coef_adds_the_expert_cross_entropy_gradient_to_a_grpo_step() {
    let mut policy = load("qwen2");
    let cfg = GrpoConfig { micro_batch: 2, kl_coef: 0.1, lr: 1e-4, max_grad_norm: 1e9, ..Default::default() };
    let batch = tiny_batch(&policy);
    let mut expert = tiny_batch(&policy);
    expert.sequences.truncate(3);
    let mut plain = Trainer::new(&policy, cfg.clone()).unwrap();
    plain.grpo_backward(&policy, &batch).unwrap();
    let g_grpo = flat(&policy, |v| v.grad());
    let sft = plain.sft_backward(&policy, &expert).unwrap();
    let g_sft = flat(&policy, |v| v.grad());
    let coef = 0.7;
    let mut mixed = Trainer::new(&policy, GrpoConfig { sft_coef: coef, ..cfg.clone() }).unwrap();
    let stats = mixed.grpo_step_with_sft(&mut policy, &batch, Some(&expert)).unwrap();
    let g_mixed = flat(&policy, |v| v.grad());
    let want = &g_grpo + &g_sft * coef;
    let diff = (&g_mixed - &want).abs().max().double_value(&[]);
    let scale = want.abs().max().double_value(&[]);
    eprintln!("sft loss {} (alone {}); max |grad diff| {diff:.3e} of {scale:.3e}", stats.sft_loss, sft.loss);
    assert!(diff < 1e-5 * scale, "mixed gradient is not GRPO's + {coef} × SFT's (diff {diff})");
    assert!((stats.sft_loss - sft.loss).abs() < 1e-6 * sft.loss, "{} vs {}", stats.sft_loss, sft.loss);
    assert!((&g_sft * coef).abs().max().double_value(&[]) > 1e-3 * scale, "the SFT part must matter");
    // sft_coef 0 ignores the expert batch: the step equals plain GRPO.
    let mut off = Trainer::new(&policy, cfg).unwrap();
    let stats = off.grpo_step_with_sft(&mut policy, &batch, Some(&expert)).unwrap();
    assert_eq!(stats.sft_loss, 0.0);
}
