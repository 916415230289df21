//! `webtape expert`, `webtape train` and `webtape eval` end to end on a recorded sim web and the tiny Qwen2
//! checkpoint: SFT warm start then GRPO in replay; reruns are byte-identical; a run stopped (cleanly or by
//! SIGKILL) and resumed equals an uninterrupted one; eval writes its tables.
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::*;

/// A recorded sim snapshot holding the expert's searches and pages for the first `n` train questions.
pub fn world(dir: &Path, n: usize) -> (PathBuf, PathBuf) {
    let questions = sim_questions(dir, n);
    let text = std::fs::read_to_string(&questions).unwrap();
    let queries: String = text
        .lines()
        .flat_map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["expert_queries"].as_array().unwrap().clone()
        })
        .map(|q| format!("{}\n", q.as_str().unwrap()))
        .collect();
    let qfile = write_file(dir, "expert-queries.txt", queries.as_bytes());
    let sim = SimProc::start(&["--api-key", "train-key"]);
    let snap = dir.join("snap");
    record(&sim, "serper", "train-key", &qfile, &snap, &["--pages-per-query", "3"]);
    (questions, snap)
}

pub fn config(dir: &Path, name: &str, questions: &Path, snap: &Path, steps: usize) -> PathBuf {
    let text = format!(
        r#"run_dir = "{run}"
[model]
path = "{model}"
device = "cpu"
[data]
train = "{q}"
test = "{q}"
sft = "{expert}"
[env]
snapshot = "{snap}"
[env.rules]
chunk_chars = 1500
[rollout]
max_turns = 5
max_turn_tokens = 160
max_response_tokens = 3000
max_observation_chars = 600
[grpo]
lr = 1e-3
micro_batch = 3
[train]
steps = {steps}
questions_per_step = 2
samples_per_question = 3
save_every = 1
seed = 11
sft_steps = 2
sft_questions_per_step = 2
sft_lr = 1e-3
"#,
        run = s(&dir.join(name)),
        model = s(&tiny("qwen2")),
        q = s(questions),
        expert = s(&dir.join("expert.jsonl")),
        snap = s(snap),
    );
    write_file(dir, &format!("{name}.toml"), text.as_bytes())
}

pub fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Asserts two files are byte-identical (showing their beginnings, not megabytes of numbers, when not).
pub fn same_file(a: &Path, b: &Path) {
    let (x, y) = (bytes(a), bytes(b));
    let head = |v: &[u8]| String::from_utf8_lossy(&v[..v.len().min(600)]).into_owned();
    assert!(x == y, "{} and {} differ:\n{}\n---\n{}", a.display(), b.display(), head(&x), head(&y));
}

fn weights(run: &Path, step: &str) -> Vec<u8> {
    bytes(&run.join(step).join("model.safetensors"))
}

#[test]
fn train_resume_and_eval() {
    let tmp = tempdir();
    let dir = tmp.path();
    let (questions, snap) = world(dir, 4);
    let a = config(dir, "a", &questions, &snap, 3);

    let expert = run(&["expert", "--config", s(&a), "--out", s(&dir.join("expert.jsonl"))]);
    let out = stdout(&expert);
    assert!(out.contains("4 of 4 expert trajectories kept (0 hasty, 0 wordy"), "{out}{}", stderr(&expert));
    assert!(out.contains(" 0 bm25, 0 miss"), "expert searches and pages are all recorded: {out}");

    let out = ok(&["train", "--config", s(&a)]);
    assert!(out.contains("trained 3 GRPO steps (after 2 SFT steps)"), "{out}");
    let run_a = dir.join("a");
    let metrics = String::from_utf8(bytes(&run_a.join("metrics.jsonl"))).unwrap();
    let phases: Vec<String> = metrics
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!("{}{}", v["phase"].as_str().unwrap(), v["step"])
        })
        .collect();
    assert_eq!(phases, ["sft1", "sft2", "grpo1", "grpo2", "grpo3"]);
    let first: serde_json::Value = serde_json::from_str(metrics.lines().next().unwrap()).unwrap();
    assert!(first["loss"].as_f64().unwrap() > 0.0, "SFT cross-entropy is positive: {first}");
    let timing = String::from_utf8(bytes(&run_a.join("timing.jsonl"))).unwrap();
    assert_eq!(timing.lines().count(), 5);
    assert!(run_a.join("curves.png").metadata().unwrap().len() > 1000, "curves.png drawn");
    assert_eq!(String::from_utf8(bytes(&run_a.join("latest"))).unwrap().trim(), "step-000003");
    assert_ne!(weights(&run_a, "sft"), weights(&run_a, "step-000003"), "GRPO changed the weights");

    // Same seed, same snapshot: byte-identical metrics and checkpoints.
    let b = config(dir, "b", &questions, &snap, 3);
    ok(&["train", "--config", s(&b)]);
    assert_eq!(bytes(&run_a.join("metrics.jsonl")), bytes(&dir.join("b/metrics.jsonl")));
    assert_eq!(weights(&run_a, "step-000003"), weights(&dir.join("b"), "step-000003"));

    // Stopped after 1 step (a config asking for 1), resumed with 3: equal to the uninterrupted run.
    let c = config(dir, "c", &questions, &snap, 1);
    ok(&["train", "--config", s(&c)]);
    let c3 = config(dir, "c3", &questions, &snap, 3);
    let out = ok(&["train", "--config", s(&c3), "--resume", s(&dir.join("c"))]);
    assert!(out.contains("trained 3 GRPO steps"), "{out}");
    assert_eq!(bytes(&run_a.join("metrics.jsonl")), bytes(&dir.join("c/metrics.jsonl")));
    assert_eq!(weights(&run_a, "step-000003"), weights(&dir.join("c"), "step-000003"));
    same_file(&run_a.join("step-000003/optimizer.safetensors"), &dir.join("c/step-000003/optimizer.safetensors"));

    // A fresh run never overwrites an old one; a changed config cannot resume.
    let again = run(&["train", "--config", s(&a)]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("already holds a run"), "{}", stderr(&again));
    let changed = std::fs::read_to_string(&c3).unwrap().replace("lr = 1e-3\nmicro_batch", "lr = 2e-3\nmicro_batch");
    let changed = write_file(dir, "changed.toml", changed.as_bytes());
    let refused = run(&["train", "--config", s(&changed), "--resume", s(&dir.join("c"))]);
    assert!(stderr(&refused).contains("another configuration"), "{}", stderr(&refused));

    // Eval with the run's rules: a table per dataset, trajectories saved; deterministic.
    let model = run_a.join("step-000003");
    let out = ok(&["eval", "--config", s(&a), "--model", s(&model), "--out", s(&dir.join("eval1"))]);
    assert!(out.contains("| sim | 4 |") && out.contains("| all | 4 |"), "{out}");
    assert_eq!(std::fs::read_to_string(dir.join("eval1/trajectories.jsonl")).unwrap().lines().count(), 4);
    ok(&["eval", "--config", s(&a), "--model", s(&model), "--out", s(&dir.join("eval2"))]);
    assert_eq!(bytes(&dir.join("eval1/table.csv")), bytes(&dir.join("eval2/table.csv")));
    assert_eq!(bytes(&dir.join("eval1/trajectories.jsonl")), bytes(&dir.join("eval2/trajectories.jsonl")));

    // With an LLM judge (the sim's, on loopback): an MBE column, verdicts recorded; then replayed without it.
    let judge = dir.join("judge");
    let sim = SimProc::start(&[]);
    let judged = [s(&a), "--model", s(&model), "--judge-model", "sim-judge", "--judge-snapshot", s(&judge)];
    let out =
        ok(&[&["eval", "--config"][..], &judged, &["--out", s(&dir.join("eval3")), "--judge-endpoint", &sim.url]]
            .concat());
    assert!(out.contains("| MBE |"), "{out}");
    drop(sim);
    ok(&[&["eval", "--config"][..], &judged, &["--out", s(&dir.join("eval4"))]].concat());
    assert_eq!(bytes(&dir.join("eval3/table.csv")), bytes(&dir.join("eval4/table.csv")));
    let verdicts = std::fs::read_to_string(dir.join("eval4/judgements.jsonl")).unwrap();
    assert_eq!(verdicts.lines().count(), 4);
    assert!(!verdicts.contains("unjudged"), "{verdicts}");
    assert_eq!(verdicts, std::fs::read_to_string(dir.join("eval3/judgements.jsonl")).unwrap());
}

#[test]
fn sigkill_mid_run_then_resume_equals_uninterrupted() {
    let tmp = tempdir();
    let dir = tmp.path();
    let (questions, snap) = world(dir, 2);
    let cfg = |name: &str| config(dir, name, &questions, &snap, 4);
    ok(&["expert", "--config", s(&cfg("x")), "--out", s(&dir.join("expert.jsonl"))]);
    ok(&["train", "--config", s(&cfg("whole"))]);

    let killed = cfg("killed");
    let mut child = webtape().args(["train", "--config", s(&killed)]).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while !dir.join("killed/step-000002").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    ok(&["train", "--config", s(&killed), "--resume", s(&dir.join("killed"))]);
    assert_eq!(bytes(&dir.join("whole/metrics.jsonl")), bytes(&dir.join("killed/metrics.jsonl")));
    assert_eq!(weights(&dir.join("whole"), "step-000004"), weights(&dir.join("killed"), "step-000004"));
}

#[test]
fn bad_train_configs_are_named() {
    let tmp = tempdir();
    let dir = tmp.path();
    let cases = [
        ("run_dir = \"r\"\n[model]\npath = \"m\"\n[data]\ntrain = \"t\"\n[env]\nsnapshot = \"s\"\n[train]\nstepz = 3\n", "stepz"),
        ("run_dir = \"r\"\n[model]\npath = \"m\"\n[data]\ntrain = \"t\"\n", "[env] needs `snapshot`"),
        ("run_dir = \"r\"\n[model]\npath = \"m\"\n[data]\ntrain = \"t\"\n[env]\nsnapshot = \"s\"\n[train]\nsave_every = 0\n", "train.save_every"),
        ("run_dir = [\n", "bad3.toml"),
    ];
    for (i, (text, expect)) in cases.iter().enumerate() {
        let path = write_file(dir, &format!("bad{i}.toml"), text.as_bytes());
        let out = run(&["train", "--config", s(&path)]);
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(err.contains(expect) && !err.contains("panicked"), "case {i}: {err}");
    }
}
