//! LoRA on the tiny Qwen2: a fresh adapter leaves the logits exactly as they were; a GRPO step moves only
//! `lora_A`/`lora_B` (base weights bit-identical, optimizer state of adapters only) against the base with the
//! adapters off as KL reference; a saved adapter is PEFT's layout, merges in plain PyTorch to what
//! `webtape model merge` writes, and loads back; a folder with the wrong rank is refused.
use std::collections::BTreeMap;

use safetensors::SafeTensors;
use tch::{Device, Kind, Tensor};
use webtape::model::lora::LoraConfig;
use webtape::model::policy::DEFAULT_SHARD_BYTES;
use webtape::model::Policy;
use webtape::train::{GrpoConfig, Trainer};

use crate::common::{id_lists, json, logit_lists, max_diff, ok, python, s, tempdir, tiny};
use crate::model_forward::{load, logits_of};
use crate::train_grpo::tiny_batch;

fn lora(rank: i64, seed: u64) -> LoraConfig {
    LoraConfig { rank, alpha: 2.0 * rank as f64, seed, ..LoraConfig::default() }
}

fn inputs() -> Vec<Vec<u32>> {
    id_lists(&json(&tiny("qwen2").join("reference.json"))["inputs"])[..2].to_vec()
}

/// Detached copies of named tensors.
fn copies(vars: impl IntoIterator<Item = (String, Tensor)>) -> BTreeMap<String, Tensor> {
    vars.into_iter().map(|(n, t)| (n, t.detach().copy())).collect()
}

fn worst(a: &[Vec<Vec<f32>>], b: &[Vec<Vec<f32>>]) -> f32 {
    a.iter().zip(b).map(|(x, y)| max_diff(x, y)).fold(0.0, f32::max)
}

#[test]
fn fresh_adapters_keep_the_base_and_only_adapters_train() {
    let mut policy = load("qwen2");
    let ids = inputs();
    let before = logits_of(policy.decoder(), &ids);
    let base = copies(policy.var_store().variables());
    let cfg = lora(4, 1);
    policy.add_lora(&cfg).unwrap();
    assert_eq!(logits_of(policy.decoder(), &ids), before, "B = 0: a fresh adapter changes nothing");

    let params = policy.trainable_params();
    assert_eq!(params.len(), 3 * 7 * 2, "lora_A and lora_B on 7 projections of 3 layers");
    assert!(params.iter().all(|(n, _)| n.starts_with("base_model.model.model.layers.")
        && (n.ends_with(".lora_A.weight") || n.ends_with(".lora_B.weight"))));
    let count: usize = params.iter().map(|(_, t)| t.numel()).sum();
    let total: usize = base.values().map(Tensor::numel).sum();
    eprintln!("tiny qwen2, LoRA r 4 on all projections: {count} trainable of {total} base parameters");
    assert_eq!(count, cfg.parameter_count(&policy.decoder().config));
    assert_eq!(count, 3 * 4 * (128 + 96 + 96 + 128 + 160 + 160 + 160));

    let mut trainer = Trainer::new(&policy, GrpoConfig { lr: 1e-2, kl_coef: 0.1, ..Default::default() }).unwrap();
    assert!(trainer.reference_is_policy_base(), "no second copy of the weights");
    let batch = tiny_batch(&policy);
    let first = trainer.grpo_step(&mut policy, &batch).unwrap();
    assert!(first.grad_norm > 0.0 && first.kl == 0.0, "{first:?}: the policy starts as its reference");
    for (name, t) in policy.var_store().variables() {
        assert!(t.equal(&base[&name]), "{name}: a frozen base weight changed");
        assert!(!t.grad().defined(), "{name}: a frozen base weight got a gradient");
    }
    for (name, t) in policy.trainable_params().iter().filter(|(n, _)| n.contains("lora_B")) {
        assert!(t.abs().max().double_value(&[]) > 0.0, "{name}: lora_B still zero after a step");
    }
    let second = trainer.grpo_step(&mut policy, &batch).unwrap();
    assert!(second.kl > 0.0, "{second:?}: the adapters moved the policy away from the base");
    for (name, t) in policy.trainable_params().iter().filter(|(n, _)| n.contains("lora_A")) {
        assert!(t.grad().abs().max().double_value(&[]) > 0.0, "{name}: lora_A gets a gradient once B is non-zero");
    }
    assert_ne!(logits_of(policy.decoder(), &ids), before);
    let reference = policy.decoder().without_adapters(|base| logits_of(base, &ids));
    assert_eq!(reference, before, "adapters off: the untouched base model");

    let dir = tempdir();
    trainer.save_state(dir.path()).unwrap();
    let bytes = std::fs::read(dir.path().join("optimizer.safetensors")).unwrap();
    let names = SafeTensors::deserialize(&bytes).unwrap().names().into_iter().map(str::to_string).collect::<Vec<_>>();
    assert_eq!(names.len(), 2 * params.len());
    assert!(names.iter().all(|n| n.contains(".lora_A.weight.") || n.contains(".lora_B.weight.")), "{names:?}");
}

/// The tiny Qwen2 with a rank-4 adapter whose A and B are seeded noise, as after training.
fn trained_adapter() -> Policy {
    let mut policy = load("qwen2");
    policy.add_lora(&lora(4, 3)).unwrap();
    tch::manual_seed(5);
    tch::no_grad(|| {
        for (_, mut p) in policy.trainable_params() {
            p += p.randn_like() * 0.05;
        }
    });
    policy
}

#[test]
fn saved_adapter_is_peft_layout_and_merges_to_the_same_logits() {
    let tmp = tempdir();
    let policy = trained_adapter();
    let adapter = tmp.path().join("adapter");
    policy.save(&adapter, DEFAULT_SHARD_BYTES).unwrap();
    let config = json(&adapter.join("adapter_config.json"));
    assert_eq!(
        (config["peft_type"].as_str(), config["r"].as_i64(), config["lora_alpha"].as_i64()),
        (Some("LORA"), Some(4), Some(8))
    );
    assert_eq!(config["target_modules"].as_array().unwrap().len(), 7);
    assert_eq!(config["base_model_name_or_path"].as_str().unwrap(), s(&tiny("qwen2")));
    assert!(!adapter.join("model.safetensors").exists() && adapter.join("tokenizer.json").exists());
    let bytes = std::fs::read(adapter.join("adapter_model.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let q_a = st.tensor("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight").unwrap();
    let down_b = st.tensor("base_model.model.model.layers.2.mlp.down_proj.lora_B.weight").unwrap();
    assert_eq!((q_a.shape(), down_b.shape()), (&[4usize, 64][..], &[64usize, 4][..]));

    let ids = inputs();
    let ours = logits_of(policy.decoder(), &ids);
    let merged = tmp.path().join("merged");
    let out = ok(&["model", "merge", "--adapter", s(&adapter), "--out", s(&merged)]);
    assert!(out.contains("r 4, alpha 8"), "{out}");
    let report: serde_json::Value = serde_json::from_str(&python(
        "lora_merge_check.py",
        &[s(&adapter), s(&merged), &serde_json::to_string(&ids).unwrap()],
    ))
    .unwrap();
    eprintln!("torch: merged checkpoint vs W + scale·B A {}; PEFT vs it {}", report["merged_max_diff"], report["peft"]);
    assert_eq!(report["modules"], 21);
    let torch = logit_lists(&report["logits"]);
    let diff = worst(&ours, &torch);
    assert!(diff < 1e-4, "our adapter forward differs from torch's W + alpha/r B A by {diff}");

    // webtape on the merged folder: within f32 rounding of the adapter forward.
    let merged_policy = Policy::load(&merged, Device::Cpu, Some(Kind::Float)).unwrap();
    assert!(merged_policy.lora().is_none());
    let diff = worst(&ours, &logits_of(merged_policy.decoder(), &ids));
    let largest = ours.iter().flatten().flatten().fold(0f32, |m, x| m.max(x.abs()));
    eprintln!("f32: merged vs adapter forward differ by {diff:.3e} (largest |logit| {largest:.2})");
    assert!(diff < 1e-4, "merged weights differ from the adapter forward by {diff}");
    // The f32 difference is the rounding of W + scale·B A to f32; merged in f64 (in memory) it all but vanishes.
    let mut policy64 = Policy::load(&adapter, Device::Cpu, Some(Kind::Double)).unwrap();
    let adapter_forward = logits_of(policy64.decoder(), &ids);
    assert!(worst(&adapter_forward, &ours) < 1e-4, "the adapter runs in f64 too");
    policy64.merge_lora().unwrap();
    let diff64 = worst(&adapter_forward, &logits_of(policy64.decoder(), &ids));
    eprintln!("f64: merged vs adapter forward differ by {diff64:.3e}");
    assert!(diff64 < 1e-5, "in f64, merged weights differ from the adapter forward by {diff64}");
    let again = Policy::load(&adapter, Device::Cpu, Some(Kind::Float)).unwrap();
    assert_eq!(again.lora().map(|l| (l.rank, l.alpha)), Some((4, 8.0)));
    assert_eq!(logits_of(again.decoder(), &ids), ours, "the adapter folder loads as base + adapter");
    let mut in_memory = again;
    in_memory.merge_lora().unwrap();
    assert_eq!(
        logits_of(in_memory.decoder(), &ids),
        logits_of(merged_policy.decoder(), &ids),
        "merge in memory = merge"
    );
}

#[test]
fn adapters_that_do_not_fit_are_refused_by_name() {
    let tmp = tempdir();
    let adapter = tmp.path().join("adapter");
    trained_adapter().save(&adapter, DEFAULT_SHARD_BYTES).unwrap();
    let path = adapter.join("adapter_config.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"r\": 4", "\"r\": 2")).unwrap();
    let err = Policy::load(&adapter, Device::Cpu, Some(Kind::Float)).unwrap_err().to_string();
    assert!(err.contains(".lora_") && err.contains("shape"), "{err}");
    std::fs::write(&path, text.replace("\"q_proj\",", "\"qkv_proj\",")).unwrap();
    let err = Policy::load(&adapter, Device::Cpu, Some(Kind::Float)).unwrap_err().to_string();
    assert!(err.contains("adapter_config.json") && err.contains("qkv_proj"), "{err}");
    std::fs::write(&path, text.replace("\"use_rslora\": false", "\"use_rslora\": true")).unwrap();
    let err = Policy::load(&adapter, Device::Cpu, Some(Kind::Float)).unwrap_err().to_string();
    assert!(err.contains("use_rslora"), "{err}");
}

/// On a bf16 model the adapters are f32 (as PEFT keeps them), so small updates are not rounded away; a fresh
/// adapter still leaves the bf16 logits exactly as they were, and the saved adapter is f32.
#[test]
fn bf16_models_train_f32_adapters() {
    let mut policy = Policy::load(&tiny("qwen2"), Device::Cpu, Some(Kind::BFloat16)).unwrap();
    let ids = inputs();
    let before = logits_of(policy.decoder(), &ids);
    policy.add_lora(&lora(4, 2)).unwrap();
    assert_eq!(logits_of(policy.decoder(), &ids), before);
    assert!(policy.trainable_params().iter().all(|(_, t)| t.kind() == Kind::Float));
    let mut trainer = Trainer::new(&policy, GrpoConfig { lr: 1e-4, ..Default::default() }).unwrap();
    let batch = tiny_batch(&policy);
    trainer.grpo_step(&mut policy, &batch).unwrap();
    let moved = policy
        .trainable_params()
        .iter()
        .filter(|(n, t)| n.contains("lora_B") && t.abs().max().double_value(&[]) > 0.0)
        .count();
    assert_eq!(moved, 21, "every lora_B took a 1e-4 step");
    let dir = tempdir();
    policy.save(dir.path(), DEFAULT_SHARD_BYTES).unwrap();
    let bytes = std::fs::read(dir.path().join("adapter_model.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    assert!(st.tensors().iter().all(|(_, v)| v.dtype() == safetensors::Dtype::F32));
}
