//! The Python package (`python/`, importable as `webtape`) inside the frameworks people train with at scale, each
//! through its own code paths against a real `webtape serve` on loopback: veRL's tool registry and tool agent loop,
//! in-process and inside an actor of a local CPU-only Ray; SkyRL-gym's registry; TRL's `GRPOTrainer` built with our
//! `environment_factory`, training one step on CPU; DeepResearcher's reward in Python equal to ours bit for bit;
//! question files converted to veRL parquet and read back by webtape. The frameworks live in their own virtual
//! environment (`scripts/setup.sh` makes it at `target/pyenv-frameworks`, pinned versions); a missing one fails.
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::common::*;
use crate::serve::recorded;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The frameworks' Python; fails (never skips) when `scripts/setup.sh` has not made it.
fn framework_python() -> PathBuf {
    let py = root().join("target/pyenv-frameworks/bin/python");
    assert!(
        py.exists(),
        "{} is missing: run `make test` (scripts/setup.sh creates it with veRL, SkyRL-gym, TRL)",
        py.display()
    );
    py
}

/// Runs `tests/py/SCRIPT args..` with the frameworks' Python and the package from this checkout; its stdout as JSON.
fn run_py(script: &str, args: &[&str]) -> Value {
    let out = Command::new(framework_python())
        .arg(root().join("tests/py").join(script))
        .args(args)
        .env("PYTHONPATH", root().join("python"))
        .env("RAY_DISABLE_IMPORT_WARNING", "1")
        .output()
        .expect("the frameworks' python runs");
    assert!(out.status.success(), "{script} failed:\n{}\n{}", stderr(&out), stdout(&out));
    let text = stdout(&out);
    serde_json::from_str(text.lines().last().unwrap_or("")).unwrap_or_else(|e| panic!("{script}: {e}: {text}"))
}

/// A recorded snapshot served with the recipe's settings, its questions as JSONL and as veRL parquet.
fn served(tmp: &Path) -> (ServeProc, PathBuf, PathBuf) {
    let (snap, _) = recorded(tmp, 2);
    let jsonl = tmp.join("questions.jsonl");
    let parquet = tmp.join("train.parquet");
    let out = Command::new(framework_python())
        .args(["-m", "webtape.data", "to-parquet", s(&jsonl), s(&parquet), "--date", "2025-01-15"])
        .env("PYTHONPATH", root().join("python"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let srv = ServeProc::start(&["--snapshot", s(&snap), "--top-k", "10"], &[]);
    (srv, jsonl, parquet)
}

#[test]
fn verl_tools_load_from_the_recipe_config_keep_episodes_per_trajectory_and_run_in_a_ray_actor() {
    let tmp = tempdir();
    let (srv, _, parquet) = served(tmp.path());
    let config = root().join("configs/verl/tool_config.yaml");
    let v = run_py("frameworks_verl.py", &[&srv.url, s(&parquet), s(&config)]);
    eprintln!("{v}");
    assert_eq!(v["search_results"], 10, "{v}");
    assert_eq!(v["search_equals_direct"], true, "veRL passes the server's observation through unchanged: {v}");
    assert!(v["search_chars"].as_u64().unwrap() > 256, "{v}");
    assert_eq!(v["browse_error"], Value::Null, "{v}");
    assert!(v["browse_summary_chars"].as_u64().unwrap() > 0, "{v}");
    assert!(v["refused_error"].as_str().unwrap().contains("not in the latest search results"), "{v}");
    assert_eq!(v["episode_calls"], 2, "one search query and one page in the trajectory's episode: {v}");
    assert_eq!(v["default_length_truncates"], true, "veRL's default 256 characters cut observations: {v}");
    assert_eq!((v["reward_right"].as_f64(), v["reward_wrong"].as_f64()), (Some(1.0), Some(-1.0)), "{v}");
    // At scale veRL runs the tool agent loop in Ray actors: the same config, loaded in a worker process of a local
    // Ray, gives the same observations for the same calls.
    assert_eq!((v["ray_other_process"].as_bool(), v["ray_url"].as_str()), (Some(true), Some(srv.url.as_str())), "{v}");
    assert_eq!(v["ray_search_equals_in_process"], true, "{v}");
    assert_eq!(v["ray_browse_equals_in_process"], true, "{v}");
    assert_eq!(v["ray_episode_calls"], 2, "the actor's trajectory is one episode on the server: {v}");
}

#[test]
fn clients_retry_busy_servers_within_bounds() {
    let v = run_py("frameworks_retry.py", &[s(&root().join("configs/verl/tool_config.yaml"))]);
    eprintln!("{v}");
    assert_eq!((v["answer"].as_str(), v["retries"].as_u64()), (Some("[]"), Some(2 + 3)), "{v}");
    assert!(v["waited"].as_f64().unwrap() >= 1.0, "Retry-After: 1 was honoured: {v}");
    assert_eq!(v["auth"], json!(["Bearer a-token-of-sixteen-chars"]), "every request carries the token: {v}");
    assert!(
        v["gave_up"].as_str().unwrap().contains("after 4 tries") && v["gave_up"].as_str().unwrap().contains("429"),
        "{v}"
    );
    assert_eq!(v["bad_call"], r#"{"error":"`query` is missing"}"#, "a wrong call is an observation: {v}");
    assert_eq!((v["verl_answer"].as_str(), v["verl_requests"].as_u64()), (Some("[]"), Some(3)), "{v}");
    assert!(v["verl_waited"].as_f64().unwrap() >= 1.0, "{v}");
}

#[test]
fn skyrl_env_from_the_registry_completes_an_episode_with_reward_one() {
    let tmp = tempdir();
    let (srv, jsonl, _) = served(tmp.path());
    let v = run_py("frameworks_skyrl.py", &[&srv.url, s(&jsonl)]);
    eprintln!("{v}");
    assert_eq!((v["search_done"].as_bool(), v["browse_error"].clone()), (Some(false), Value::Null), "{v}");
    assert_eq!((v["done"].as_bool(), v["reward"].as_f64()), (Some(true), Some(1.0)), "{v}");
    assert_eq!(v["metrics"]["tool_calls"], 2, "{v}");
    assert_eq!((v["wrong_reward"].as_f64(), v["broken_reward"].as_f64()), (Some(0.0), Some(-1.0)), "{v}");
    assert!(v["refused_error"].as_str().unwrap().contains("not in the latest search results"), "{v}");
}

#[test]
fn trl_grpo_trainer_builds_our_environment_discovers_its_tools_and_trains_a_step() {
    let tmp = tempdir();
    let (srv, _, parquet) = served(tmp.path());
    let v = run_py("frameworks_trl.py", &[&srv.url, s(&parquet)]);
    eprintln!("{v}");
    assert_eq!(v["tools"], json!(["browse_webpage", "web_search"]), "TRL's discovery on our class: {v}");
    assert_eq!(
        v["schema_params"],
        json!({"browse_webpage": ["url_list"], "web_search": ["query"]}),
        "the schemas TRL rendered into the prompt: {v}"
    );
    assert_eq!(v["envs_at_init"], 1, "GRPOTrainer probes one environment from the factory: {v}");
    assert_eq!((v["envs"].as_u64(), v["envs_reset"].as_u64()), (Some(2), Some(2)), "one per rollout, reset: {v}");
    assert_eq!(v["scripted_turns"], 3, "search, browse, answer: {v}");
    assert_eq!((v["rollouts_with_calls"].as_u64(), v["episode_calls"].as_u64()), (Some(1), Some(2)), "{v}");
    assert_eq!(v["tool_roles"], json!(["web_search", "browse_webpage"]), "TRL's tool loop called ours: {v}");
    assert_eq!(v["observation_in_completion"], true, "{v}");
    assert_eq!(
        (v["tool_call_frequency"].as_f64(), v["tool_failure_frequency"].as_f64()),
        (Some(1.0), Some(0.0)),
        "{v}"
    );
    assert_eq!(v["reward_calls"], 1, "{v}");
    assert_eq!(
        v["rewards"],
        json!([1.0, -1.0]),
        "the scripted rollout answers right, the random one breaks format: {v}"
    );
    assert_eq!(v["loss_is_finite"], true, "{v}");
    assert_eq!((v["search_results"].as_u64(), v["browse_error"].clone()), (Some(10), Value::Null), "{v}");
    assert!(v["refused_error"].as_str().unwrap().contains("not in the latest search results"), "{v}");
}

/// Crafted responses: ASCII punctuation, Unicode case and spaces, split gold answers, broken tags.
const CASES: [(&str, &str, &[&str]); 10] = [
    ("a", "<think>t</think>\n<answer>Mary W. Shelley</answer>", &["Mary Shelley", "Mary Wollstonecraft Shelley"]),
    ("b", "<think>a</think><answer>Sydney</answer> then <answer>Canberra</answer>", &["Canberra"]),
    ("c", "<think>x</think><tool_call>{}</tool_call><ANSWER>LIMMAT, river.</ANSWER>", &["the Limmat", "Limmat River"]),
    ("d", "<think>unclosed <answer>Leonardo da Vinci</answer>", &["Leonardo da Vinci"]),
    ("e", "<think>t</think><answer>100 °C (boiling)</answer>", &["100 °C", "212 °F"]),
    ("f", "<think>t</think><answer>Geneva–Meyrin\u{3000}ΣΟΦΙΑ ΟΔΟΣ</answer>", &["geneva–meyrin", "ΟΔΟΣ"]),
    ("g", "<think>t</think><answer>\u{2003}Straße in İzmir\u{85}</answer>", &["STRASSE in izmir", "straße İZMIR"]),
    ("h", "<think>t</think><answer>one two three four five six seven</answer>", &["two four six eight ten twelve"]),
    ("i", "</answer><answer>x", &["x"]),
    ("j", "<think>t</think><answer></answer>", &["x"]),
];

#[test]
fn python_reward_equals_webtape_score_bit_for_bit() {
    let tmp = tempdir();
    let mut questions = String::new();
    let mut predictions = String::new();
    let mut cases = String::new();
    for (id, response, answers) in CASES {
        questions += &(json!({"id": id, "question": "?", "answers": answers}).to_string() + "\n");
        predictions += &(json!({"id": id, "response": response}).to_string() + "\n");
        cases += &(json!({"id": id, "response": response, "answers": answers}).to_string() + "\n");
    }
    let data = write_file(tmp.path(), "q.jsonl", questions.as_bytes());
    let preds = write_file(tmp.path(), "p.jsonl", predictions.as_bytes());
    let cases = write_file(tmp.path(), "cases.jsonl", cases.as_bytes());
    let out_dir = tmp.path().join("out");
    ok(&["score", "--data", s(&data), "--predictions", s(&preds), "--out", s(&out_dir)]);
    let python = run_py("frameworks_reward.py", &[s(&cases)]);
    let scores = std::fs::read_to_string(out_dir.join("scores.jsonl")).unwrap();
    let mut distinct = std::collections::BTreeSet::new();
    for line in scores.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let id = v["id"].as_str().unwrap();
        let ours = v["f1"].as_f64().unwrap() as f32;
        let theirs = python[id].as_f64().unwrap();
        assert_eq!(theirs, ours as f64, "{id}: webtape score {ours}, webtape.reward {theirs}");
        distinct.insert(ours.to_bits());
    }
    assert!(distinct.len() >= 6, "the cases must score differently: {scores}");
}

#[test]
fn questions_convert_to_verl_parquet_that_webtape_reads_back_unchanged() {
    let tmp = tempdir();
    let jsonl = sim_questions(tmp.path(), 5);
    let parquet = tmp.path().join("train.parquet");
    let back = tmp.path().join("back.jsonl");
    for args in [
        vec!["-m", "webtape.data", "to-parquet", s(&jsonl), s(&parquet), "--date", "2025-01-15"],
        vec!["-m", "webtape.data", "to-jsonl", s(&parquet), s(&back)],
    ] {
        let out =
            Command::new(framework_python()).args(&args).env("PYTHONPATH", root().join("python")).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    let want = webtape::data::read_questions(&jsonl).unwrap();
    let strip = |qs: Vec<webtape::data::Question>| -> Vec<(String, String, Vec<String>)> {
        qs.into_iter().map(|q| (q.id, q.question, q.answers)).collect()
    };
    let want = strip(want);
    assert_eq!(strip(webtape::data::read_questions(&parquet).unwrap()), want, "webtape reads the parquet");
    assert_eq!(strip(webtape::data::read_questions(&back).unwrap()), want, "and the JSONL converted back");
}
