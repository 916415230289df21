//! `scripts/demo.sh` (what `make demo` runs) end to end on a small config: sim web → record → stop the web →
//! the committed base → expert → SFT → GRPO → eval → a GRPO segment recorded against the live sim web with faults
//! and replayed with the web stopped, twice. The snapshot holds every page of the world, the expert's replay had
//! zero misses, metrics are written, the live segment and its replay agree (metrics, weights, run digest), and the
//! two runs print the same digests and tables.
use std::path::Path;
use std::process::Command;

use crate::common::*;

const ENTITIES: &str = "24";

fn small_config(dir: &Path) -> std::path::PathBuf {
    let base = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/demo.toml")).unwrap();
    let mut text = String::new();
    let mut section = String::new();
    for line in base.lines() {
        if line.starts_with('[') {
            section = line.trim().to_string();
        }
        let key = line.split('=').next().unwrap_or("").trim();
        // Only the top level and [data]/[env]/[train] keys are sized down; `[lora] sft` is a switch, not a path.
        let key = if section == "[lora]" { "" } else { key };
        let line = match key {
            "run_dir" => format!("run_dir = \"{}\"", s(&dir.join("run"))),
            "train" => format!("train = \"{}\"", s(&dir.join("run/train.jsonl"))),
            "test" => format!("test = \"{}\"", s(&dir.join("run/test.jsonl"))),
            "sft" => format!("sft = \"{}\"", s(&dir.join("run/expert.jsonl"))),
            "snapshot" => format!("snapshot = \"{}\"", s(&dir.join("snap"))),
            "sft_steps" => "sft_steps = 3".into(),
            "sft_questions_per_step" => "sft_questions_per_step = 4".into(),
            "steps" => "steps = 2".into(),
            "questions_per_step" => "questions_per_step = 2".into(),
            "samples_per_question" => "samples_per_question = 2".into(),
            "save_every" => "save_every = 1".into(),
            _ => line.to_string(),
        };
        text.push_str(&line);
        text.push('\n');
    }
    write_file(dir, "demo-small.toml", text.as_bytes())
}

fn demo(config: &Path) -> String {
    let out = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/demo.sh"))
        .arg(config)
        .env("WEBTAPE", env!("CARGO_BIN_EXE_webtape"))
        .env("ENTITIES", ENTITIES)
        .env("LIVE_STEPS", "1")
        .output()
        .expect("bash runs");
    let text = stdout(&out);
    assert!(out.status.success(), "demo failed:\n{text}\n{}", stderr(&out));
    text
}

fn line_with<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix:?} line in:\n{text}"))
}

#[test]
fn small_demo_runs_end_to_end_and_reruns_identically() {
    let tmp = tempdir();
    let dir = tmp.path();
    let config = small_config(dir);
    let first = demo(&config);

    let corpus = dir.join("pages.jsonl");
    ok(&["snapshot", "export-text", s(&dir.join("snap")), s(&corpus)]);
    let recorded = std::fs::read_to_string(&corpus).unwrap();
    let pages = ok(&["sim", "pages", "--entities", ENTITIES]);
    for page in pages.lines() {
        let path = serde_json::from_str::<serde_json::Value>(page).unwrap()["path"].as_str().unwrap().to_string();
        assert!(recorded.contains(&format!("{path}\"")), "the snapshot holds {path}");
    }
    let expert = line_with(&first, "tool calls:");
    assert!(expert.contains(" 0 bm25, 0 miss"), "expert replay had zero misses: {expert}");
    let metrics = std::fs::read_to_string(dir.join("run/metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 3 + 2, "3 SFT + 2 GRPO steps logged");
    assert!(first.contains("| SFT |") && first.contains("GRPO - SFT test F1"), "{first}");
    assert!(first.contains("| by hops |") && first.contains("| sft ("), "the per-hop table: {first}");
    assert!(first.contains("the live run and its replay are identical"), "{first}");
    let record = std::fs::read_to_string(dir.join("run/live-record.log")).unwrap();
    assert!(record.contains("run digest"), "{record}");
    assert!(dir.join("snap-live/manifest.json").exists(), "the live segment was recorded");

    std::fs::remove_dir_all(dir.join("run")).unwrap();
    let second = demo(&config);
    let prefixes = [
        "training run digest",
        "metrics + checkpoint + eval digest",
        "live segment digest",
        "| SFT |",
        "| GRPO",
        "| sft (",
    ];
    for prefix in prefixes {
        assert_eq!(line_with(&first, prefix), line_with(&second, prefix));
    }
}
