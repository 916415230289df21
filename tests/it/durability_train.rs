//! SIGKILL of `train --mode record` while its rollouts are calling the live sim web: every step the run finished
//! before the kill (its metrics line written) replays from the recording with the same metrics, `verify` passes
//! after `repair`, and rerunning the killed run with `--resume` in record mode completes.
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::*;

const STEPS: usize = 4;

/// A config for the committed base policy (it makes real tool calls) on `questions`, recording into `snap`.
fn config(dir: &Path, name: &str, questions: &Path, snap: &Path) -> std::path::PathBuf {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/sim-base");
    let text = format!(
        r#"run_dir = "{run}"
[model]
path = "{base}"
device = "cpu"
threads = 2
[data]
train = "{q}"
test = "{q}"
[env]
snapshot = "{snap}"
date = "2026-01-01"
[env.rules]
max_queries = 3
top_k = 3
chunk_chars = 800
[rollout]
max_turns = 4
max_turn_tokens = 128
max_response_tokens = 1024
max_observation_chars = 500
temperature = 0.7
[grpo]
temperature = 0.7
lr = 1e-4
micro_batch = 8
[train]
steps = {STEPS}
questions_per_step = 2
samples_per_question = 4
save_every = 1
seed = 3
sft_steps = 0
"#,
        run = s(&dir.join(name)),
        base = s(&base),
        q = s(questions),
        snap = s(snap),
    );
    write_file(dir, &format!("{name}.toml"), text.as_bytes())
}

fn train(cfg: &Path, sim: Option<&SimProc>, extra: &[&str]) -> std::process::Command {
    let mut cmd = webtape();
    cmd.args(["train", "--config", s(cfg)]).args(extra);
    if let Some(sim) = sim {
        cmd.args(["--mode", "record", "--provider", "serper", "--endpoint", &sim.url, "--allow-private"])
            .args(["--rate", "none", "--host-rate", "none", "--host-concurrency", "0"])
            .env("SERPER_API_KEY", "k");
    }
    cmd
}

/// The metrics lines of a run without the `env_*` counts (where answers came from differs between a recording
/// and its replay; what the policy saw does not).
fn metrics(run: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap_or_default();
    text.lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().retain(|k, _| !k.starts_with("env_"));
            v
        })
        .collect()
}

#[test]
fn sigkill_of_a_recording_train_run_loses_no_finished_step() {
    let tmp = tempdir();
    let dir = tmp.path();
    let questions = sim_questions(dir, 8);
    let snap = dir.join("live");
    let sim = SimProc::start(&["--faults", "slow", "--fault-rate", "0.3", "--slow-ms", "150"]);
    let cfg = config(dir, "rec", &questions, &snap);
    let mut child = train(&cfg, Some(&sim), &[]).stdout(std::process::Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(600);
    while metrics(&dir.join("rec")).len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done = metrics(&dir.join("rec"));
    assert!((2..STEPS).contains(&done.len()), "killed mid-run: {} steps finished", done.len());
    assert!(sim.requests().values().filter_map(|v| v.as_u64()).sum::<u64>() > 0, "the run called the live web");

    // The recording holds every answer the finished steps were given: they replay alike, web or no web.
    ok(&["snapshot", "repair", s(&snap)]);
    assert!(ok(&["snapshot", "verify", s(&snap)]).contains(": ok"));
    let replay = config(dir, "replay", &questions, &snap);
    let steps = format!("train.steps={}", done.len());
    let out = train(&replay, None, &["--set", &steps]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(metrics(&dir.join("replay")), done, "finished steps replay with the same metrics");

    // Rerunning the killed run completes, still recording, and the snapshot verifies.
    let out = train(&cfg, Some(&sim), &["--resume", s(&dir.join("rec"))]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(metrics(&dir.join("rec")).len(), STEPS);
    assert!(ok(&["snapshot", "verify", s(&snap)]).contains(": ok"));
}
