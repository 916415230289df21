//! `scripts/gpu_check.sh` in its CPU dry run (tiny models, `--device cpu`): every part of the GPU check runs end
//! to end with this build's binary and the installed transformers, and its JSON and markdown are complete and
//! sane; a part that fails is recorded with its error while the others still run; a check that cannot start or
//! has no time left still writes why.
use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::common::*;

const PARTS: [&str; 9] =
    ["env", "setup", "policy_checkpoint", "parity", "throughput", "grpo", "large_checkpoint", "lora", "deterministic"];

fn gpu_check(out: &Path, extra: &[&str]) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/gpu_check.sh");
    std::process::Command::new("bash")
        .arg(script)
        .arg(out)
        .args(["--device", "cpu", "--bin", env!("CARGO_BIN_EXE_webtape")])
        .args(extra)
        .output()
        .expect("bash runs")
}

fn f(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer).and_then(Value::as_f64).unwrap_or_else(|| panic!("no number at {pointer} in {v}"))
}

fn check_parity(p: &Value) {
    let rows = p["rows"].as_array().unwrap();
    let row = |dtype: &str, compared: &str| {
        rows.iter().find(|r| r["dtype"] == dtype && r["compared"] == compared).unwrap_or_else(|| panic!("{p}"))
    };
    let f32_row = row("f32", "ours vs transformers");
    assert!(f(f32_row, "/max_abs_diff") < 1e-4, "f32 logits match transformers: {f32_row}");
    assert_eq!(f(f32_row, "/argmax_agreement"), 1.0);
    let bf16 = row("bf16", "ours vs transformers");
    assert!(f(bf16, "/max_abs_diff") < 0.05 * f(bf16, "/logit_scale"), "bf16 within rounding: {bf16}");
    let floor = row("bf16", "transformers bf16 vs transformers f32");
    assert!(f(floor, "/max_abs_diff") > 0.0, "bf16 rounds: the floor of the comparison is not zero: {floor}");
}

fn check_throughput(t: &Value) {
    let rows = t["rows"].as_array().unwrap();
    let shape: Vec<(String, u64)> =
        rows.iter().map(|r| (r["picking"].as_str().unwrap().to_string(), r["batch"].as_u64().unwrap())).collect();
    assert_eq!(shape, [("greedy".into(), 1), ("greedy".into(), 4), ("sampled".into(), 4)]);
    for r in rows {
        for key in ["ours_tokens_per_s", "transformers_tokens_per_s", "limit_decode_tokens_per_s", "speedup"] {
            assert!(f(r, &format!("/{key}")) > 0.0, "{key} in {r}");
        }
        assert!(f(r, "/ours_share_of_limit").is_finite() && f(r, "/transformers_share_of_limit").is_finite());
        if r["picking"] == "greedy" {
            assert_eq!(f(r, "/agreement"), 1.0, "greedy f32 decoding gives transformers' tokens: {r}");
        }
    }
    assert!(f(t, "/process/greedy_ours/peak_rss_gib") > 0.0);
}

fn check_step(part: &Value, lora: bool) {
    let runs = part["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "two runs agree, so no runs with deterministic kernels: {part}");
    for r in runs {
        assert!(f(r, "/generate_s") > 0.0 && f(r, "/train_s") > 0.0 && f(r, "/tools_s") >= 0.0, "{r}");
        assert!(f(r, "/seconds") >= f(r, "/generate_s") + f(r, "/train_s") - 1e-3, "parts of the step: {r}");
        assert!(f(r, "/process/peak_rss_gib") > 0.0 && r["process"]["peak_gpu_gib"].is_null(), "{r}");
        assert_eq!(f(r, "/metrics/step"), 1.0);
        assert!(f(r, "/metrics/grad_norm") > 0.0, "the entropy bonus gives the step a gradient: {r}");
        assert_eq!(r["weights_digest"].as_str().unwrap().len(), 16);
        assert_eq!(r["lora"].as_str().is_some_and(|l| l.contains("LoRA r 16 alpha 32")), lora, "{r}");
    }
    assert_eq!(runs[0]["deterministic"], "off");
    assert_eq!(runs[1]["deterministic"], "warn");
    assert_eq!(part["determinism"]["default_kernels_identical"], true, "CPU steps repeat exactly: {part}");
    assert_eq!(runs[0]["weights_digest"], runs[1]["weights_digest"]);
}

/// `--deterministic-runs always`: each step twice more with deterministic kernels only (which, among others, fill
/// uninitialised memory with NaN: a run that read any would show it), agreeing with each other and the default.
fn check_deterministic(part: &Value, steps: &Value) {
    for step in ["grpo", "lora"] {
        let d = &part[step];
        assert_eq!((d["status"].as_str(), d["identical"].as_bool()), (Some("ok"), Some(true)), "{step}: {d}");
        let runs = d["runs"].as_array().unwrap();
        assert!(runs.iter().all(|r| r["deterministic"] == "on"), "{d}");
        let default = &steps[step]["result"]["runs"][0];
        assert_eq!(runs[0]["metrics"], default["metrics"], "{step}: the CPU kernels are deterministic already");
        assert_eq!(runs[0]["weights_digest"], default["weights_digest"]);
    }
}

#[test]
fn gpu_check_dry_run_measures_every_part() {
    let tmp = tempdir();
    let out = tmp.path().join("out");
    let run = gpu_check(&out, &["--deterministic-runs", "always"]);
    assert!(run.status.success(), "gpu_check.sh failed:\n{}\n{}", stderr(&run), stdout(&run));
    let doc = json(&out.join("gpu_check.json"));
    assert_eq!((doc["mode"].as_str(), doc["ok"].as_bool()), (Some("cpu dry run"), Some(true)));
    let parts = doc["parts"].as_object().unwrap();
    assert_eq!(parts.keys().collect::<Vec<_>>(), PARTS, "every part, in order");
    for (name, p) in parts {
        assert_eq!(p["status"], "ok", "{name}: {p}");
    }
    assert!(doc["machine"]["transformers"].is_string() && doc["machine"]["binary_bytes"].as_u64() > Some(0));
    assert!(f(&doc, "/parts/setup/result/record/pages") > 0.0, "the sim web was recorded");
    check_parity(&parts["parity"]["result"]);
    check_throughput(&parts["throughput"]["result"]);
    check_step(&parts["grpo"]["result"], false);
    check_step(&parts["lora"]["result"], true);
    check_deterministic(&parts["deterministic"]["result"], &doc["parts"]);
    let md = std::fs::read_to_string(out.join("gpu_check.md")).unwrap();
    let headings =
        ["## Parity", "## Generation throughput", "## GRPO step (grpo)", "## GRPO step (lora)", "## Deterministic"];
    for heading in headings {
        assert!(md.contains(heading), "{heading} in the markdown:\n{md}");
    }
    assert!(!md.contains("failed") && !md.contains("## Errors"), "{md}");
    assert_eq!(md.matches("| ok |").count(), PARTS.len(), "{md}");
    let log = std::fs::read_to_string(out.join("gpu_check.log")).unwrap();
    assert!(log.contains("model bench-generate") && log.contains("--deterministic warn"), "every command is logged");
}

#[test]
fn a_failing_part_is_recorded_and_the_parts_it_does_not_need_still_run() {
    let tmp = tempdir();
    let out = tmp.path().join("out");
    let run = gpu_check(&out, &["--parts", "parity,lora", "--lora-rank", "0"]);
    assert_eq!(run.status.code(), Some(1), "a failed part fails the check: {}", stderr(&run));
    let doc = json(&out.join("gpu_check.json"));
    let status: Vec<(&str, &str)> = doc["parts"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, p)| (name.as_str(), p["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        status,
        [
            ("setup", "ok"),
            ("policy_checkpoint", "ok"),
            ("parity", "ok"),
            ("large_checkpoint", "ok"),
            ("lora", "failed")
        ],
        "the parts asked for and those they need, in order"
    );
    let error = doc["parts"]["lora"]["error"].as_str().unwrap();
    assert!(error.contains("webtape train") && error.contains("lora.rank must be at least 1"), "{error}");
    assert!(f(&doc, "/parts/parity/result/rows/0/max_abs_diff") < 1e-4, "parity's figures are kept");
    let md = std::fs::read_to_string(out.join("gpu_check.md")).unwrap();
    assert!(md.contains("| lora | failed |") && md.contains("## Errors") && md.contains("## Parity"), "{md}");
}

#[test]
fn a_check_that_cannot_run_still_says_why() {
    let tmp = tempdir();
    let out = tmp.path().join("spent");
    let run = gpu_check(&out, &["--budget-s", "1"]);
    assert_eq!(run.status.code(), Some(1));
    let doc = json(&out.join("gpu_check.json"));
    for name in PARTS {
        let p = &doc["parts"][name];
        assert_eq!(p["status"], "skipped", "{name}: {p}");
    }
    assert!(doc["parts"]["env"]["reason"].as_str().unwrap().contains("time budget is spent"), "{doc}");
    let missing = tmp.path().join("no-binary");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/gpu_check.sh");
    let run = std::process::Command::new("bash")
        .arg(script)
        .arg(&missing)
        .args(["--device", "cpu", "--bin", s(&tmp.path().join("nowhere/webtape"))])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let doc = json(&missing.join("gpu_check.json"));
    assert!(doc["error"].as_str().unwrap().contains("no webtape binary at"), "{doc}");
    assert_eq!(doc["ok"], false);
}
