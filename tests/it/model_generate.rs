//! Generation: greedy decoding equals transformers' `generate` with and without the KV cache, batching and
//! order change nothing, seeded sampling is per sequence, log-probs are what a trainer recomputes, and
//! stop strings / EOS / length end sequences.
use tch::{Kind, Tensor};
use webtape::agent::generator::{FinishReason, GenOutput, GenRequest, Generator, SamplingParams};
use webtape::model::generate::generate;
use webtape::model::Policy;

use crate::common::{id_lists, json, tiny};
use crate::model_forward::{load, logits_of};

fn greedy(n: usize) -> SamplingParams {
    SamplingParams { max_new_tokens: n, temperature: 0.0, ..Default::default() }
}

fn run(policy: &Policy, eos: &[u32], prompts: &[(Vec<u32>, u64)], params: &SamplingParams) -> Vec<GenOutput> {
    let requests: Vec<GenRequest> = prompts.iter().map(|(p, s)| GenRequest { prompt: p.clone(), stream: *s }).collect();
    generate(policy.decoder(), policy.tokenizer(), eos, &requests, params).unwrap()
}

fn reference(arch: &str) -> (Vec<Vec<u32>>, Vec<Vec<u32>>) {
    let r = json(&tiny(arch).join("reference.json"));
    (id_lists(&r["inputs"]), id_lists(&r["greedy"]))
}

#[test]
fn greedy_tokens_equal_transformers_with_kv_cache_alone_and_batched() {
    for arch in ["qwen2", "qwen3", "llama"] {
        let policy = load(arch);
        let (inputs, want) = reference(arch);
        for (ids, want) in inputs.iter().zip(&want) {
            let out = run(&policy, &[], &[(ids.clone(), 0)], &greedy(want.len()));
            assert_eq!(&out[0].tokens, want, "{arch}: greedy continuation of {} tokens", ids.len());
            assert_eq!(out[0].finish, FinishReason::Length);
        }
        let batch: Vec<(Vec<u32>, u64)> = inputs.iter().map(|i| (i.clone(), 0)).collect();
        let out = run(&policy, &[], &batch, &greedy(want[0].len()));
        let got: Vec<Vec<u32>> = out.into_iter().map(|o| o.tokens).collect();
        assert_eq!(got, want, "{arch}: left-padded batch");
    }
}

#[test]
fn greedy_without_cache_equals_transformers() {
    let policy = load("qwen3");
    let (inputs, want) = reference("qwen3");
    for (ids, want) in inputs.iter().zip(&want) {
        let mut seq = ids.clone();
        for _ in 0..want.len() {
            let logits = logits_of(policy.decoder(), std::slice::from_ref(&seq));
            let last = logits[0].last().unwrap();
            let best = (0..last.len()).max_by(|&a, &b| last[a].total_cmp(&last[b])).unwrap();
            seq.push(best as u32);
        }
        assert_eq!(&seq[ids.len()..], &want[..]);
    }
}

fn sampling() -> SamplingParams {
    SamplingParams { max_new_tokens: 12, temperature: 0.9, top_p: 0.95, top_k: 40, seed: 7, ..Default::default() }
}

#[test]
fn sampled_tokens_depend_on_seed_and_stream_not_on_batch() {
    let policy = load("qwen2");
    let (inputs, _) = reference("qwen2");
    let prompts: Vec<(Vec<u32>, u64)> = (0..6).map(|s| (inputs[s as usize % 3].clone(), 100 + s)).collect();
    for params in [sampling(), SamplingParams { top_k: 0, top_p: 1.0, ..sampling() }] {
        let all = run(&policy, &[], &prompts, &params);
        let mut reversed = prompts.clone();
        reversed.reverse();
        let mut back = run(&policy, &[], &reversed, &params);
        back.reverse();
        let singles: Vec<GenOutput> =
            prompts.iter().map(|p| run(&policy, &[], std::slice::from_ref(p), &params).remove(0)).collect();
        let tokens = |o: &[GenOutput]| o.iter().map(|x| x.tokens.clone()).collect::<Vec<_>>();
        assert_eq!(tokens(&all), tokens(&back), "order changed the samples");
        assert_eq!(tokens(&all), tokens(&singles), "batch size changed the samples");
        assert_ne!(all[0].tokens, all[3].tokens, "same prompt, different streams should differ");
        let other_seed = run(&policy, &[], &prompts[..1], &SamplingParams { seed: 8, ..params.clone() });
        assert_ne!(all[0].tokens, other_seed[0].tokens, "a different seed should change the samples");
    }
}

#[test]
fn logprobs_are_what_a_trainer_recomputes() {
    let policy = load("llama");
    let (inputs, _) = reference("llama");
    let params = SamplingParams { max_new_tokens: 10, temperature: 0.7, top_p: 0.9, seed: 3, ..Default::default() };
    let out = run(&policy, &[], &[(inputs[1].clone(), 0), (inputs[2].clone(), 1)], &params);
    for (o, prompt) in out.iter().zip(&inputs[1..]) {
        let full: Vec<u32> = prompt.iter().chain(&o.tokens).copied().collect();
        let ids = Tensor::from_slice(&full.iter().map(|&t| t as i64).collect::<Vec<_>>()).unsqueeze(0);
        let mask = ids.ones_like();
        let logits = tch::no_grad(|| policy.decoder().forward_logits(&ids, &mask)).unwrap().to_kind(Kind::Float);
        for (i, &tok) in o.tokens.iter().enumerate() {
            let row = logits.get(0).get((prompt.len() + i - 1) as i64);
            let at = |t: &Tensor| t.get(tok as i64).double_value(&[]) as f32;
            let scaled = at(&(&row / 0.7).log_softmax(-1, Kind::Float));
            let plain = at(&row.log_softmax(-1, Kind::Float));
            assert!((o.logprobs[i] - scaled).abs() < 1e-4, "token {i}: {} vs {scaled}", o.logprobs[i]);
            assert!((o.model_logprobs[i] - plain).abs() < 1e-4, "token {i}: {} vs {plain}", o.model_logprobs[i]);
        }
    }
}

#[test]
fn stop_strings_eos_and_length_end_sequences() {
    let policy = load("qwen2");
    let (inputs, want) = reference("qwen2");
    let tok = policy.tokenizer();
    let prompt = vec![(inputs[0].clone(), 0)];
    // A stop string made of tokens 4..6 of the greedy continuation: generation ends at the first token
    // whose text completes it.
    let stop = tok.decode(&want[0][4..6]).unwrap();
    let end = (1..=want[0].len()).find(|&n| tok.decode(&want[0][..n]).unwrap().contains(&stop)).unwrap();
    let params = SamplingParams { stop: vec!["<never>".into(), stop.clone()], ..greedy(24) };
    let out = run(&policy, &[], &prompt, &params).remove(0);
    assert_eq!(out.finish, FinishReason::Stop(stop.clone()));
    assert_eq!(out.tokens, want[0][..end].to_vec());
    assert!(out.text.ends_with(&stop), "{:?} should end with {stop:?}", out.text);
    // EOS: the token is kept, its text is not.
    let eos = want[0][7];
    let first = want[0].iter().position(|&t| t == eos).unwrap();
    let out = run(&policy, &[eos], &prompt, &greedy(24)).remove(0);
    assert_eq!((out.finish.clone(), out.tokens.clone()), (FinishReason::Eos, want[0][..=first].to_vec()));
    assert_eq!(out.text, tok.decode(&want[0][..first]).unwrap());
    assert_eq!(out.logprobs.len(), out.tokens.len());
    let out = run(&policy, &[], &prompt, &greedy(3)).remove(0);
    assert_eq!((out.finish, out.tokens.len()), (FinishReason::Length, 3));
}

#[test]
fn generator_trait_splits_large_batches_without_changing_results() {
    let mut policy = load("qwen3");
    let (inputs, _) = reference("qwen3");
    let requests: Vec<GenRequest> =
        (0..5).map(|s| GenRequest { prompt: inputs[s % 3].clone(), stream: s as u64 }).collect();
    let whole = policy.generate(&requests, &sampling()).unwrap();
    policy.max_batch = 2;
    let split = policy.generate(&requests, &sampling()).unwrap();
    for (a, b) in whole.iter().zip(&split) {
        assert_eq!((&a.tokens, &a.text, &a.finish), (&b.tokens, &b.text, &b.finish));
        // Other batch shapes may round differently in the last bits; the tokens must not change.
        let close = a.logprobs.iter().zip(&b.logprobs).all(|(x, y)| (x - y).abs() < 1e-4);
        assert!(close, "{:?} vs {:?}", a.logprobs, b.logprobs);
    }
    let err = policy.generate(&[GenRequest { prompt: vec![], stream: 0 }], &sampling()).unwrap_err();
    assert!(err.to_string().contains("empty prompt"), "{err}");
}

#[test]
fn cli_generate_prints_a_continuation() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_webtape"))
        .args(["generate", "--model", tiny("qwen2").to_str().unwrap(), "--prompt", "Hello", "--max-new-tokens", "6"])
        .args(["--seed", "7", "--device", "cpu", "--json", "--num-samples", "2"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    for line in &lines {
        let n = line["tokens"].as_array().unwrap().len();
        assert!((1..=6).contains(&n) && line["logprobs"].as_array().unwrap().len() == n, "{line}");
    }
    let err = std::process::Command::new(env!("CARGO_BIN_EXE_webtape"))
        .args(["generate", "--model", "/nonexistent", "--prompt", "x", "--device", "cpu"])
        .output()
        .unwrap();
    assert!(!err.status.success());
    assert!(String::from_utf8_lossy(&err.stderr).contains("config.json"));
}
