//! `webtape model pretrain` at CI size: two small sim worlds served and recorded on loopback, a tokenizer and a
//! tiny policy initialised on them, a few steps on the expert's turn windows (digits shuffled). Rebuilding from the same config gives
//! the same bytes (the committed demo base is made by the same command at full size), the base loads and answers
//! through `eval`, and bad configs are refused with the field named.
use std::path::{Path, PathBuf};

use crate::common::*;

/// A CI-sized pretraining config writing into `dir` (port apart from the demo's, so they can run together).
fn config(dir: &Path, name: &str, port: u16, extra: &str) -> PathBuf {
    let text = format!(
        "out = \"{out}\"\nwork_dir = \"{work}\"\n{extra}\n\
         [worlds]\nseeds = [101, 102]\nentities = 30\nport = {port}\n\
         [init]\nvocab_size = 1624\nnumbers = \"chunks\"\nwhole_words = [\"web_search\", \"browse_webpage\"]\nhidden_size = 32\nnum_hidden_layers = 2\nnum_attention_heads = 4\n\
         num_key_value_heads = 2\nintermediate_size = 64\nmax_position_embeddings = 4096\nseed = 0\n\
         [env]\ndate = \"2026-01-01\"\n[env.rules]\ntop_k = 3\nchunk_chars = 800\n\
         [rollout]\nmax_turns = 6\nmax_turn_tokens = 128\nmax_response_tokens = 2048\nmax_observation_chars = 500\n\
         [train]\nseed = 0\nsft_steps = 3\nsft_questions_per_step = 8\nsft_lr = 2e-3\nsft_warmup_steps = 1\n\
         sft_sequences = \"windows\"\nsft_digit_shuffle = true\n",
        out = s(&dir.join(format!("{name}-base"))),
        work = s(&dir.join(format!("{name}-work"))),
    );
    write_file(dir, &format!("{name}.toml"), text.as_bytes())
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    out
}

#[test]
fn pretrain_rebuilds_the_same_base_and_it_evaluates() {
    let tmp = tempdir();
    let dir = tmp.path();
    let first = ok(&["model", "pretrain", "--config", s(&config(dir, "a", 18124, ""))]);
    assert!(first.contains("2 worlds") && first.contains("expert trajectories"), "{first}");
    let again = ok(&["model", "pretrain", "--config", s(&config(dir, "b", 18124, ""))]);
    let (a, b) = (files(&dir.join("a-base")), files(&dir.join("b-base")));
    let names: Vec<&str> = a.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"model.safetensors") && names.contains(&"pretrain.json"), "{names:?}");
    let weights = |f: &[(String, Vec<u8>)]| f.iter().find(|(n, _)| n == "model.safetensors").unwrap().1.clone();
    assert_eq!(weights(&a), weights(&b), "the same config rebuilds the same weights");
    let without_paths =
        |f: &[(String, Vec<u8>)]| f.iter().filter(|(n, _)| n != "pretrain.json").cloned().collect::<Vec<_>>();
    assert_eq!(without_paths(&a), without_paths(&b), "and the same tokenizer and config files");
    // The demo base's vocabulary rules: every run of up to three digits one token, the tool names whole.
    let tokenizer: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("a-base/tokenizer.json")).unwrap()).unwrap();
    let vocab = &tokenizer["model"]["vocab"];
    assert!(["07", "183", "999"].iter().all(|t| vocab.get(t).is_some()), "number chunks in the vocabulary");
    let added: Vec<&str> =
        tokenizer["added_tokens"].as_array().unwrap().iter().filter_map(|t| t["content"].as_str()).collect();
    assert!(added.contains(&"web_search") && added.contains(&"browse_webpage"), "{added:?}");
    // The base was trained with its numbers shuffled (chunks map digit by digit), and says so.
    let stamp: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("a-base/pretrain.json")).unwrap()).unwrap();
    assert_eq!(stamp["config"]["train"]["sft_digit_shuffle"], true, "{stamp}");
    // The summary without the output path and the seconds: counts, losses and steps are the same.
    let summary = |t: &str| {
        let after_path = t.split_once(": ").map_or(t, |(_, rest)| rest);
        after_path.rsplit_once("; ").map_or(after_path, |(head, _)| head).to_string()
    };
    assert!(summary(&first).contains("loss "), "{first}");
    assert_eq!(summary(&first), summary(&again));

    // A world the base never saw: its test questions, through `eval` (the base loads like any checkpoint).
    let questions = dir.join("q.jsonl");
    std::fs::write(&questions, ok(&["sim", "questions", "--seed", "7", "--entities", "30", "--split", "test"]))
        .unwrap();
    let sim = SimProc::start(&["--seed", "7", "--entities", "30"]);
    let snap = dir.join("snap7");
    record(&sim, "serper", "k", &questions, &snap, &["--pages-per-query", "3"]);
    let table = ok(&[
        "eval",
        "--model",
        s(&dir.join("a-base")),
        "--snapshot",
        s(&snap),
        "--data",
        s(&questions),
        "--out",
        s(&dir.join("eval")),
    ]);
    assert!(table.contains("copy rate"), "sim questions name their subject: {table}");
}

#[test]
fn bad_pretrain_configs_name_the_problem() {
    let tmp = tempdir();
    let dir = tmp.path();
    let bad = |name: &str, edit: &dyn Fn(String) -> String| {
        let path = config(dir, name, 18125, "");
        let text = edit(std::fs::read_to_string(&path).unwrap());
        std::fs::write(&path, text).unwrap();
        let out = run(&["model", "pretrain", "--config", s(&path)]);
        assert!(!out.status.success());
        stderr(&out)
    };
    assert!(bad("noseeds", &|t| t.replace("[101, 102]", "[]")).contains("worlds.seeds"));
    assert!(bad("nodate", &|t| t.replace("date = \"2026-01-01\"", "")).contains("env.date"));
    assert!(bad("typo", &|t| t.replace("sft_lr =", "sft_lrr =")).contains("sft_lrr"));
    let taken = config(dir, "taken", 18126, "");
    std::fs::create_dir_all(dir.join("taken-base")).unwrap();
    std::fs::write(dir.join("taken-base/notes.txt"), "mine").unwrap();
    let out = run(&["model", "pretrain", "--config", s(&taken)]);
    assert!(stderr(&out).contains("not a pretrained base"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(dir.join("taken-base/notes.txt")).unwrap(), "mine", "nothing overwritten");
}
