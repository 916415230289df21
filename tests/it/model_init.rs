//! `webtape model init` on a recorded sim snapshot: a tiny Qwen2 checkpoint that is reproducible to the byte, that
//! our policy and Hugging Face transformers both load (same token ids, same chat text, same logits), whose tokenizer
//! keeps the agent's tool-call format intact, and whose spec errors are plain messages.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tch::{Device, Kind};
use webtape::agent::generator::{ChatCodec, ChatMessage};
use webtape::agent::prompt::{initial_prompt, system_prompt, tool_schemas, TurnFormat};
use webtape::model::codec::TextCodec;
use webtape::model::Policy;

use crate::common::*;
use crate::model_forward::logits_of;

/// The model shape used here (small, so the test stays quick); `SPEC_TOML` says the same in a config.
const SMALL: [&str; 8] = ["--vocab-size", "1024", "--hidden-size", "64", "--layers", "2", "--seed", "5"];
const SPEC_TOML: &str = "[init]\nvocab_size = 1024\nhidden_size = 64\nnum_hidden_layers = 2\nseed = 5\n";

const TURN: &str =
    "I should search for the capital.\n</think>\n<tool_call>\n{\"name\": \"web_search\", \"arguments\": \
                    {\"query\": [\"capital of France\"]}}\n</tool_call>";
const BROWSE: &str = "<tool_call>\n{\"name\":\"browse_webpage\",\"arguments\":{\"url_list\":\
                      [\"http://127.0.0.1:9/wiki/x\"]}}\n</tool_call>";
const ANSWER: &str = "I have found it.\n</think>\n<answer>Wobymville</answer><|im_end|>";

fn init(snap: &Path, out: &Path, extra: &[&str]) -> String {
    ok(&[&["model", "init", "--snapshot", s(snap), "--out", s(out)], extra].concat())
}

/// Every file of a folder, by name.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect()
}

fn sim_snapshot(dir: &Path) -> PathBuf {
    let questions = sim_questions(dir, 12);
    let sim = SimProc::start(&["--api-key", "init-key-7"]);
    let snap = dir.join("snap");
    record(&sim, "serper", "init-key-7", &questions, &snap, &["--pages-per-query", "3"]);
    snap
}

#[test]
fn model_init_is_reproducible_and_loads_in_webtape_and_transformers() {
    let tmp = tempdir();
    let snap = sim_snapshot(tmp.path());
    let (a, b) = (tmp.path().join("a"), tmp.path().join("nested/b"));
    for out in [&a, &b] {
        let printed = init(&snap, out, &SMALL);
        assert!(printed.starts_with("initialised") && printed.contains("parameters"), "{printed}");
    }
    let built = files(&a);
    let names: Vec<&str> = built.keys().map(String::as_str).collect();
    let want = ["config.json", "generation_config.json", "init_spec.json", "model.safetensors", "tokenizer.json"];
    assert_eq!(names, [&want[..], &["tokenizer_config.json"]].concat());
    assert!(built == files(&b), "two inits of the same snapshot and spec differ");
    assert!(!tmp.path().join(".a.init-tmp").exists(), "the staging folder is gone");

    // Idempotent: the same init again changes nothing; another spec into the finished folder is refused.
    assert!(init(&snap, &a, &SMALL).starts_with("unchanged"));
    assert!(built == files(&a));
    let other =
        run(&[&["model", "init", "--snapshot", s(&snap), "--out", s(&a)], &SMALL[..6], &["--seed", "6"]].concat());
    assert!(!other.status.success() && stderr(&other).contains("another spec or corpus"), "{}", stderr(&other));
    let junk = tmp.path().join("junk");
    std::fs::create_dir_all(&junk).unwrap();
    write_file(&junk, "notes.txt", b"mine");
    let refused = run(&["model", "init", "--snapshot", s(&snap), "--out", s(&junk)]);
    assert!(!refused.status.success() && stderr(&refused).contains("not empty"), "{}", stderr(&refused));
    assert_eq!(std::fs::read(junk.join("notes.txt")).unwrap(), b"mine");

    // --config: snapshot from [env], out from [model] path, spec from [init] → the very same checkpoint.
    let c = tmp.path().join("c");
    let config = format!(
        "run_dir = {:?}\n[model]\npath = {:?}\n[data]\ntrain = \"q.jsonl\"\n[env]\nsnapshot = {:?}\n{SPEC_TOML}",
        s(&tmp.path().join("run")),
        s(&c),
        s(&snap)
    );
    let config = write_file(tmp.path(), "train.toml", config.as_bytes());
    ok(&["model", "init", "--config", s(&config)]);
    assert!(built == files(&c), "--config with the same spec gives the same checkpoint");

    check_tokenizer(&a);
    let policy = check_weights(&a);
    check_transformers(&a, &policy, tmp.path());
    let out = ok(&[
        "generate",
        "--model",
        s(&a),
        "--prompt",
        "hi",
        "--max-new-tokens",
        "5",
        "--seed",
        "1",
        "--device",
        "cpu",
    ]);
    assert!(!out.is_empty());
}

/// The chat template renders the agent's prompt; tool and chat markers are single tokens; agent text round-trips.
fn check_tokenizer(dir: &Path) {
    let codec = TextCodec::from_dir(dir).unwrap();
    let prompt =
        initial_prompt(&codec, "Where was Shïthwos Wandfouheis born?", "2026-01-01", 3, &TurnFormat::default())
            .unwrap();
    assert!(prompt.starts_with("<|im_start|>system\nYou are a research agent."), "{prompt}");
    assert!(prompt.contains("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"web_search\""), "{prompt}");
    assert!(prompt.ends_with("<|im_end|>\n<|im_start|>assistant\n<think>\n"), "{prompt}");
    let tok = codec.tokenizer();
    for marker in ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>", "<tool_response>"]
        .into_iter()
        .chain(["</tool_response>", "<think>", "</think>", "<answer>", "</answer>"])
    {
        let id = tok.token_id(marker).unwrap_or_else(|| panic!("{marker} is a token"));
        assert_eq!(codec.encode(marker).unwrap(), vec![id], "{marker} is one token");
    }
    let observation = TurnFormat::default().observation("[{\"search_query\":\"q\",\"web_page_info_list\":[]}]");
    for text in [prompt.as_str(), TURN, BROWSE, ANSWER, observation.as_str(), "Héllo wörld — 你好 ✓"] {
        let ids = codec.encode(text).unwrap();
        assert_eq!(codec.decode(&ids).unwrap(), text, "round trip");
    }
    // The tokenizer learned the agent's format: a tool call takes far fewer tokens than bytes.
    assert!(codec.encode(TURN).unwrap().len() * 3 < TURN.len(), "{:?}", codec.encode(TURN).unwrap());
}

/// The checkpoint loads as a policy: normal(0, 0.02) embeddings, unit RMSNorm weights, zero biases.
fn check_weights(dir: &Path) -> Policy {
    let policy = Policy::load(dir, Device::Cpu, None).unwrap();
    let cfg = &policy.decoder().config;
    assert_eq!((cfg.hidden_size, cfg.num_layers, cfg.num_heads, cfg.num_kv_heads), (64, 2, 4, 2));
    let vocab = policy.tokenizer().vocab_size() as i64;
    assert!(cfg.vocab_size % 64 == 0 && cfg.vocab_size >= vocab && cfg.vocab_size < vocab + 64);
    let vars = policy.var_store().variables();
    let embed = &vars["model.embed_tokens.weight"];
    let (mean, std) = (embed.mean(Kind::Float).double_value(&[]), embed.std(true).double_value(&[]));
    assert!(mean.abs() < 0.002 && (std - 0.02).abs() < 0.001, "embedding mean {mean}, std {std}");
    for (name, t) in &vars {
        let want = if name.ends_with("norm.weight") { Some(1.0) } else { name.ends_with(".bias").then_some(0.0) };
        if let Some(want) = want {
            assert_eq!((t - want).abs().max().double_value(&[]), 0.0, "{name} is all {want}");
        }
    }
    policy
}

/// transformers loads the folder and agrees on token ids, decoded text, the chat template and the logits.
fn check_transformers(dir: &Path, policy: &Policy, tmp: &Path) {
    let codec = TextCodec::from_dir(dir).unwrap();
    let messages = [ChatMessage::new("system", &system_prompt("2026-01-01")), ChatMessage::new("user", "Where?")];
    let tools = tool_schemas(3);
    let chat = codec.render_chat(&messages, &tools, true).unwrap();
    let texts = [TURN, BROWSE, ANSWER, chat.as_str()];
    let ours: Vec<Vec<u32>> = texts.iter().map(|t| codec.encode(t).unwrap()).collect();
    let logit_ids = vec![ours[0].clone(), ours[3][ours[3].len() - 40..].to_vec()];
    let request = serde_json::json!({"texts": texts, "messages": messages, "tools": tools, "logit_ids": logit_ids});
    let path = write_file(tmp, "hf_request.json", request.to_string().as_bytes());
    let hf: serde_json::Value = serde_json::from_str(&python("hf_init_check.py", &[s(dir), s(&path)])).unwrap();
    assert_eq!(id_lists(&hf["ids"]), ours, "token ids differ from transformers");
    assert_eq!(hf["decoded"], serde_json::json!(texts));
    assert_eq!(hf["chat"].as_str().unwrap(), chat, "chat template renders differently in transformers");
    assert_eq!(hf["vocab"].as_u64().unwrap() as usize, policy.tokenizer().vocab_size());
    for (ids, want) in logit_ids.iter().zip(logit_lists(&hf["logits"])) {
        let got = &logits_of(policy.decoder(), std::slice::from_ref(ids))[0];
        let diff = max_diff(got, &want);
        assert!(diff < 1e-4, "logits differ from transformers by {diff} for {} tokens", ids.len());
    }
}

#[test]
fn model_init_rejects_bad_specs_with_clear_messages() {
    let tmp = tempdir();
    let out = tmp.path().join("m");
    let base = ["model", "init", "--snapshot", "/nonexistent/snap", "--out", s(&out)];
    let spec = write_file(tmp.path(), "spec.toml", b"hidden = 64\n");
    let config = write_file(
        tmp.path(),
        "c.toml",
        b"run_dir = \"r\"\n[model]\npath = \"m\"\n[data]\ntrain = \"q\"\n[env]\nsnapshot = \"s\"\n",
    );
    let cases: [(Vec<&str>, &str); 5] = [
        (
            vec!["--hidden-size", "100", "--heads", "3"],
            "hidden_size (100) must be a multiple of num_attention_heads (3)",
        ),
        (
            vec!["--heads", "4", "--kv-heads", "3"],
            "num_attention_heads (4) must be a multiple of num_key_value_heads (3)",
        ),
        (vec!["--vocab-size", "100"], "vocab_size (100)"),
        (vec!["--layers", "0"], "num_hidden_layers must be at least 1"),
        (vec!["--spec", s(&spec)], "unknown field `hidden`"),
    ];
    for (flags, message) in cases {
        let out = run(&[&base[..], &flags[..]].concat());
        let err = stderr(&out);
        assert!(!out.status.success() && err.contains(message), "{flags:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = run(&["model", "init", "--config", s(&config)]);
    assert!(!out.status.success() && stderr(&out).contains("no [init] section"), "{}", stderr(&out));
    assert!(!tmp.path().join("m").exists());
}
