//! `webtape train` with `[lora]` on a recorded sim web and the tiny Qwen2: SFT trains an adapter that is merged
//! into `sft/`, GRPO trains a fresh adapter on it; step folders hold PEFT adapters and adapter-only optimizer
//! state; reruns are byte-identical; stop + resume equals an uninterrupted run; a checkpoint whose adapter does not
//! fit `[lora]` is refused; eval runs on an adapter folder and on its merge; bad `[lora]` sections are named.
use std::path::{Path, PathBuf};

use safetensors::SafeTensors;

use crate::common::*;
use crate::train_run::{bytes, config, same_file, world};

const LORA: &str = "\n[lora]\nrank = 4\nalpha = 8\nseed = 5\n";

/// `train_run`'s config plus `[lora]`, and an entropy bonus: the tiny model's rollouts all fail the format, so
/// their advantages are zero and the entropy term is what gives GRPO a gradient here.
fn lora_config(dir: &Path, name: &str, questions: &Path, snap: &Path, steps: usize) -> PathBuf {
    let path = config(dir, name, questions, snap, steps);
    let text = std::fs::read_to_string(&path).unwrap().replace("[grpo]\n", "[grpo]\nentropy_coef = 0.01\n") + LORA;
    write_file(dir, &format!("{name}.toml"), text.as_bytes())
}

fn metrics(run: &Path) -> Vec<serde_json::Value> {
    let text = String::from_utf8(bytes(&run.join("metrics.jsonl"))).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Names and values of the tensors in a safetensors file (f32).
fn tensors(path: &Path) -> Vec<(String, Vec<f32>)> {
    let data = bytes(path);
    let st = SafeTensors::deserialize(&data).unwrap();
    let mut out: Vec<(String, Vec<f32>)> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, v.data().chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Checks the layout of a GRPO step folder of run `run` and returns its adapter tensors.
fn check_step_dir(run: &Path, step: &str) -> Vec<(String, Vec<f32>)> {
    let dir = run.join(step);
    assert!(!dir.join("model.safetensors").exists(), "a LoRA step folder holds no full weights");
    let cfg = json(&dir.join("adapter_config.json"));
    assert_eq!(
        (cfg["peft_type"].as_str(), cfg["r"].as_i64(), cfg["lora_alpha"].as_i64()),
        (Some("LORA"), Some(4), Some(8))
    );
    let base = std::path::absolute(run.join("sft")).unwrap();
    assert_eq!(
        cfg["base_model_name_or_path"].as_str().unwrap(),
        s(&base),
        "GRPO's adapter sits on the merged SFT model"
    );
    let optimizer = tensors(&dir.join("optimizer.safetensors"));
    assert_eq!(optimizer.len(), 2 * 42, "exp_avg and exp_avg_sq of 42 adapter matrices");
    assert!(optimizer.iter().all(|(n, _)| n.contains(".lora_A.weight.") || n.contains(".lora_B.weight.")));
    let adapter = tensors(&dir.join("adapter_model.safetensors"));
    assert_eq!(adapter.len(), 42);
    adapter
}

#[test]
fn lora_run_reruns_resumes_and_evaluates() {
    let tmp = tempdir();
    let dir = tmp.path();
    let (questions, snap) = world(dir, 2);
    let cfg = |name: &str, steps: usize| lora_config(dir, name, &questions, &snap, steps);
    ok(&["expert", "--config", s(&cfg("x", 3)), "--out", s(&dir.join("expert.jsonl"))]);

    let out = ok(&["train", "--config", s(&cfg("a", 3))]);
    assert!(
        out.contains(
            "LoRA r 4 alpha 8 on q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj: 11136 trainable parameters"
        ),
        "{out}"
    );
    assert!(out.contains("trained 3 GRPO steps (after 2 SFT steps)"), "{out}");
    let run_a = dir.join("a");
    let m = metrics(&run_a);
    let phases: Vec<String> = m.iter().map(|v| format!("{}{}", v["phase"].as_str().unwrap(), v["step"])).collect();
    assert_eq!(phases, ["sft1", "sft2", "grpo1", "grpo2", "grpo3"]);
    assert!(m[0]["loss"].as_f64().unwrap() > 0.0 && m[1]["loss"].as_f64() < m[0]["loss"].as_f64(), "SFT learns: {m:?}");
    assert_eq!(m[2]["kl"].as_f64(), Some(0.0), "GRPO's fresh adapter starts at its reference, the SFT model");
    assert!(m[2..].iter().all(|v| v["grad_norm"].as_f64() > Some(0.0)), "GRPO has a gradient: {m:?}");
    assert!(m[4]["kl"].as_f64() > Some(0.0), "the adapter moved the policy off its reference: {m:?}");
    assert!(run_a.join("sft/model.safetensors").exists() && !run_a.join("sft/adapter_config.json").exists());
    let first = check_step_dir(&run_a, "step-000001");
    let last = check_step_dir(&run_a, "step-000003");
    assert_ne!(first, last, "GRPO steps changed the adapter");
    let b_norm: f32 = last.iter().filter(|(n, _)| n.contains("lora_B")).flat_map(|(_, v)| v).map(|x| x * x).sum();
    eprintln!("LoRA run: metrics {m:?}; |B|² after 3 steps {b_norm:e}");
    assert!(b_norm > 0.0, "lora_B left zero");

    // Same seed, same snapshot: byte-identical metrics, adapter and optimizer state.
    ok(&["train", "--config", s(&cfg("b", 3))]);
    let run_b = dir.join("b");
    same_file(&run_a.join("metrics.jsonl"), &run_b.join("metrics.jsonl"));
    for file in ["adapter_model.safetensors", "optimizer.safetensors"] {
        same_file(&run_a.join("step-000003").join(file), &run_b.join("step-000003").join(file));
    }

    // Stopped after 1 step, resumed to 3: equal to the uninterrupted run.
    ok(&["train", "--config", s(&cfg("c", 1))]);
    let out = ok(&["train", "--config", s(&cfg("c3", 3)), "--resume", s(&dir.join("c"))]);
    assert!(out.contains("trained 3 GRPO steps"), "{out}");
    let run_c = dir.join("c");
    same_file(&run_a.join("metrics.jsonl"), &run_c.join("metrics.jsonl"));
    for file in ["adapter_model.safetensors", "optimizer.safetensors"] {
        same_file(&run_a.join("step-000003").join(file), &run_c.join("step-000003").join(file));
    }

    // A checkpoint whose adapter does not fit [lora] is refused, naming the difference.
    let adapter_cfg = run_c.join("step-000003/adapter_config.json");
    let text = std::fs::read_to_string(&adapter_cfg).unwrap();
    std::fs::write(&adapter_cfg, text.replace("\"r\": 4", "\"r\": 2")).unwrap();
    let refused = run(&["train", "--config", s(&cfg("c4", 4)), "--resume", s(&run_c)]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("r = 2 where [lora] rank = 4"), "{}", stderr(&refused));
    // A fresh run cannot start from an adapter folder.
    let from_adapter =
        std::fs::read_to_string(cfg("d", 1)).unwrap().replace(s(&tiny("qwen2")), s(&run_a.join("step-000003")));
    let refused = run(&["train", "--config", s(&write_file(dir, "d.toml", from_adapter.as_bytes()))]);
    assert!(stderr(&refused).contains("is a LoRA adapter"), "{}", stderr(&refused));

    // Eval loads the adapter folder (base + adapter), and the merged checkpoint.
    let step = run_a.join("step-000003");
    let out = ok(&["eval", "--config", s(&cfg("a", 3)), "--model", s(&step), "--out", s(&dir.join("eval-adapter"))]);
    assert!(out.contains("| all | 2 |"), "{out}");
    ok(&["model", "merge", "--adapter", s(&step), "--out", s(&dir.join("merged"))]);
    let out = ok(&[
        "eval",
        "--config",
        s(&cfg("a", 3)),
        "--model",
        s(&dir.join("merged")),
        "--out",
        s(&dir.join("eval-merged")),
    ]);
    assert!(out.contains("| all | 2 |"), "{out}");
}

#[test]
fn bad_lora_sections_are_named() {
    let tmp = tempdir();
    let head = "run_dir = \"r\"\n[model]\npath = \"m\"\n[data]\ntrain = \"t\"\n[env]\nsnapshot = \"s\"\n[lora]\n";
    let cases = [
        ("rank = 0\n", "lora.rank must be at least 1"),
        ("rank = 8\nalpha = -2.0\n", "lora.alpha"),
        ("targets = [\"q_proj\", \"qkv_proj\"]\n", "lora.targets: unknown module \"qkv_proj\""),
        ("targets = []\n", "lora.targets is empty"),
        ("dropout = 0.05\n", "dropout"),
    ];
    for (i, (text, expect)) in cases.iter().enumerate() {
        let path = write_file(tmp.path(), &format!("lora{i}.toml"), format!("{head}{text}").as_bytes());
        let out = run(&["train", "--config", s(&path)]);
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(err.contains(expect) && !err.contains("panicked"), "case {i}: {err}");
    }
}

/// `[lora] sft = false`: the SFT warm start trains every weight (the embeddings, which no adapter covers, move),
/// then GRPO trains a fresh adapter on that full `sft/` checkpoint. With the default, SFT trains an adapter and the
/// embeddings stay the base's.
#[test]
fn lora_sft_false_trains_every_weight_first_then_an_adapter() {
    let tmp = tempdir();
    let dir = tmp.path();
    let (questions, snap) = world(dir, 4);
    let both = lora_config(dir, "both", &questions, &snap, 1);
    ok(&["expert", "--config", s(&both), "--out", s(&dir.join("expert.jsonl"))]);
    let text = std::fs::read_to_string(&both).unwrap().replace(s(&dir.join("both")), s(&dir.join("grpo-only")));
    let grpo_only = write_file(dir, "grpo-only.toml", (text + "sft = false\n").as_bytes());
    for cfg in [&both, &grpo_only] {
        let out = ok(&["train", "--config", s(cfg)]);
        assert!(out.contains("trained 1 GRPO steps (after 2 SFT steps)"), "{out}");
    }
    let embed = |path: &Path| tensors(path).into_iter().find(|(n, _)| n == "model.embed_tokens.weight").map(|t| t.1);
    let shards = std::fs::read_dir(tiny("qwen2")).unwrap().map(|e| e.unwrap().path());
    let base = shards.filter(|p| p.extension().is_some_and(|e| e == "safetensors")).find_map(|p| embed(&p)).unwrap();
    let embed = |path: &Path| embed(path).expect("embeddings");
    assert_eq!(embed(&dir.join("both/sft/model.safetensors")), base, "adapter SFT leaves the embeddings");
    assert_ne!(embed(&dir.join("grpo-only/sft/model.safetensors")), base, "full SFT trains them");
    let adapter = check_step_dir(&dir.join("grpo-only"), "step-000001");
    assert!(
        adapter.iter().any(|(n, v)| n.contains("lora_B") && v.iter().any(|x| *x != 0.0)),
        "GRPO trained the adapter"
    );
}
