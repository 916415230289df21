//! The rollout engine end to end without a neural policy: the scripted expert drives real tools (replay of a
//! recorded sim web, in-process and through `webtape serve`), with the tiny checkpoint's real tokenizer and
//! chat template. Checks masks, token bookkeeping, rewards, and that both tool backends give the same rollouts.
use std::collections::BTreeMap;
use std::sync::Arc;

use webtape::agent::expert::{wordy_answer, Expert, ExpertPlan, MISSED_URL, RECOVERY_TURN};
use webtape::agent::generator::ChatCodec;
use webtape::agent::plans::{plan, run_expert, Demonstrator};
use webtape::agent::{rollout, RolloutConfig, Task, Tools};
use webtape::env::{EnvConfig, Environment};
use webtape::model::codec::TextCodec;
use webtape::sim::Question as PlannedQuestion;

use crate::common::*;

#[test]
fn expert_rollouts_local_and_remote_agree() {
    let tmp = tempdir();
    let all = ok(&["sim", "questions", "--split", "train"]);
    let rows: Vec<serde_json::Value> = all.lines().take(6).map(|l| serde_json::from_str(l).unwrap()).collect();
    // Record the expert's own queries, so replay answers them exactly.
    let queries: String = rows
        .iter()
        .flat_map(|r| r["expert_queries"].as_array().unwrap().clone())
        .map(|q| format!("{}\n", q.as_str().unwrap()))
        .collect();
    let qfile = write_file(tmp.path(), "q.txt", queries.as_bytes());
    let sim = SimProc::start(&["--api-key", "roll-key-42"]);
    let snap = tmp.path().join("snap");
    record(&sim, "serper", "roll-key-42", &qfile, &snap, &["--pages-per-query", "3"]);
    drop(sim);

    let codec = TextCodec::from_dir(&tiny("qwen2")).unwrap();
    let plans: BTreeMap<String, ExpertPlan> = rows
        .iter()
        .map(|r| {
            let strings =
                |k: &str| r[k].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect::<Vec<_>>();
            (
                r["question"].as_str().unwrap().to_string(),
                ExpertPlan {
                    queries: strings("expert_queries"),
                    targets: strings("support"),
                    answer: strings("answers")[0].clone(),
                    notes: strings("expert_notes"),
                    stumble: false,
                    hasty: false,
                    wordy: false,
                },
            )
        })
        .collect();
    let tasks: Vec<Task> = rows
        .iter()
        .map(|r| Task {
            id: r["id"].as_str().unwrap().into(),
            question: r["question"].as_str().unwrap().into(),
            answers: r["answers"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect(),
            data_source: Some("sim".into()),
            subject: None,
        })
        .collect();
    let cfg = RolloutConfig { max_observation_chars: 3000, ..RolloutConfig::default() };
    let env_cfg = EnvConfig { chunk_chars: 2000, ..EnvConfig::default() };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let env = Arc::new(Environment::replay(&snap, env_cfg.clone(), None).unwrap());
    let local = rollout(
        &mut Expert::new(&codec, plans.clone()),
        &Tools::Local(env.clone()),
        &tasks,
        2,
        "2026-01-01",
        3,
        &cfg,
        7,
        &rt,
    )
    .unwrap();

    assert_eq!(local.len(), 12);
    for t in &local {
        assert_eq!(t.score.reward, 1.0, "{:?}", t.turns);
        let hops = plans[&t.task.question].queries.len();
        assert_eq!(t.tool_calls, 2 * hops);
        assert_eq!(t.turns.len(), 2 * hops + 1);
        assert_eq!((t.response_ids.len(), t.logprobs.len()), (t.loss_mask.len(), t.loss_mask.len()));
        // Policy tokens (mask 1) decode to exactly the turns the expert wrote; observations are masked out.
        let policy: Vec<u32> =
            t.response_ids.iter().zip(&t.loss_mask).filter(|(_, m)| **m == 1).map(|(id, _)| *id).collect();
        let written: String = t.turns.iter().map(|turn| turn.text.as_str()).collect();
        assert_eq!(codec.decode(&policy).unwrap(), written);
        let full = codec.decode(&t.response_ids).unwrap();
        assert_eq!(full.matches("<tool_response>").count(), 2 * hops);
        assert!(codec.decode(&t.prompt_ids).unwrap().ends_with("<|im_start|>assistant\n<think>\n"));
    }
    let cov = env.run_log().coverage();
    assert_eq!((cov.miss, cov.bm25), (0, 0), "every expert search and page was recorded: {cov:?}");

    let server = ServeProc::start(&["--snapshot", s(&snap), "--chunk-chars", "2000"], &[]);
    let client = webtape::agent::RemoteEnv::new(&server.url, env_cfg).unwrap();
    let remote = Tools::Remote(client.clone());
    let over_http =
        rollout(&mut Expert::new(&codec, plans), &remote, &tasks, 2, "2026-01-01", 3, &cfg, 7, &rt).unwrap();
    for (a, b) in local.iter().zip(&over_http) {
        assert_eq!(a.response_ids, b.response_ids, "in-process and --env URL give the same rollout");
    }
    // The server's provenance reaches the client: every answer was an exact replay, none "live".
    let served = client.coverage();
    assert_eq!(served, webtape::env::Coverage { exact: cov.exact, bm25: 0, miss: 0, live: 0 }, "{served:?}");
    assert_eq!(rt.block_on(client.server_date()).unwrap(), env.snapshot_date(), "the server's prompt date");
    recoveries_are_shown_and_their_slips_not_trained(&all, &codec, &Tools::Local(env.clone()), &rt);
    hasty_answers_stop_one_hop_short(&all, &codec, &Tools::Local(env.clone()), &rt);
    wordy_answers_are_sentences(&all, &codec, &Tools::Local(env), &rt);
}

/// `run_expert` with recovery rate 1: the first browse of every question asks for a misspelt URL, gets the
/// environment's error, and the next turn reads the right page; the misspelt turn is masked out of the loss.
fn recoveries_are_shown_and_their_slips_not_trained(
    questions: &str,
    codec: &TextCodec,
    tools: &Tools,
    rt: &tokio::runtime::Runtime,
) {
    let planned: Vec<PlannedQuestion> = questions.lines().take(6).map(|l| serde_json::from_str(l).unwrap()).collect();
    let cfg = RolloutConfig { max_observation_chars: 3000, ..RolloutConfig::default() };
    let stumbling = Demonstrator { recovery_rate: 1.0, ..Demonstrator::default() };
    let trajs = run_expert(codec, tools, &planned, "2026-01-01", 3, &cfg, 7, &stumbling, rt).unwrap();
    for (t, q) in trajs.iter().zip(&planned) {
        let hops = q.expert_queries.len();
        assert_eq!(t.score.reward, 1.0, "{:?}", t.turns);
        assert_eq!(t.tool_calls, 2 * hops + 1, "one extra browse");
        let slip = t.turns.iter().position(|turn| turn.observation.as_deref().is_some_and(|o| o.contains(MISSED_URL)));
        let slip = slip.unwrap_or_else(|| panic!("no missed browse in {:?}", t.turns));
        assert_eq!(slip, 1, "the first browse slips");
        assert!(t.turns[2].text.starts_with(RECOVERY_TURN), "{:?}", t.turns[2]);
        let policy: Vec<u32> =
            t.response_ids.iter().zip(&t.loss_mask).filter(|(_, m)| **m == 1).map(|(id, _)| *id).collect();
        let trained: String =
            t.turns.iter().enumerate().filter(|(i, _)| *i != slip).map(|(_, turn)| turn.text.as_str()).collect();
        assert_eq!(codec.decode(&policy).unwrap(), trained, "every turn but the slip is trained");
    }
    let none = run_expert(codec, tools, &planned, "2026-01-01", 3, &cfg, 7, &Demonstrator::default(), rt).unwrap();
    assert!(none.iter().all(|t| t.turns.iter().all(|turn| !turn.text.starts_with(RECOVERY_TURN))), "rate 0: no slips");
}

/// `run_expert` with hasty rate 1: every two-hop question is answered after its first page, with that page's fact
/// (the entity the second hop would look up): a clean format, no reward; one-hop questions are unchanged.
fn hasty_answers_stop_one_hop_short(questions: &str, codec: &TextCodec, tools: &Tools, rt: &tokio::runtime::Runtime) {
    let planned: Vec<PlannedQuestion> = questions.lines().take(6).map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(planned.iter().any(|q| q.expert_queries.len() == 2), "the sample holds a two-hop question");
    let cfg = RolloutConfig { max_observation_chars: 3000, ..RolloutConfig::default() };
    let hasty = Demonstrator { hasty_rate: 1.0, ..Demonstrator::default() };
    let trajs = run_expert(codec, tools, &planned, "2026-01-01", 3, &cfg, 7, &hasty, rt).unwrap();
    for (t, q) in trajs.iter().zip(&planned) {
        assert!(t.score.format_ok, "{:?}", t.turns);
        if q.expert_queries.len() == 1 {
            assert_eq!((t.score.reward, t.tool_calls), (1.0, 2), "{:?}", t.turns);
            continue;
        }
        let (_, entity) = q.expert_notes[0].split_once(": ").unwrap();
        assert_eq!(t.tool_calls, 2, "one search and one browse: {:?}", t.turns);
        assert!(t.turns.last().unwrap().text.ends_with(&format!("<answer>{entity}</answer>")), "{:?}", t.turns);
        assert_eq!(t.score.reward, 0.0, "the first page's entity is not the answer");
    }
}

/// `run_expert` with wordy rate 1: every answer is a sentence around the gold answer, which the token-F1 reward
/// scores below 1 (the extra words cost precision) but never as a format error; the search and browse are the
/// plan's.
fn wordy_answers_are_sentences(questions: &str, codec: &TextCodec, tools: &Tools, rt: &tokio::runtime::Runtime) {
    let planned: Vec<PlannedQuestion> = questions.lines().take(6).map(|l| serde_json::from_str(l).unwrap()).collect();
    let cfg = RolloutConfig { max_observation_chars: 3000, ..RolloutConfig::default() };
    let wordy = Demonstrator { wordy_rate: 1.0, ..Demonstrator::default() };
    let trajs = run_expert(codec, tools, &planned, "2026-01-01", 3, &cfg, 7, &wordy, rt).unwrap();
    for (t, q) in trajs.iter().zip(&planned) {
        let sentence = format!("<answer>{}</answer>", wordy_answer(&q.answers[0]));
        assert!(t.turns.last().unwrap().text.ends_with(&sentence), "{:?}", t.turns);
        assert_eq!(t.tool_calls, 2 * q.expert_queries.len(), "the plan's searches and browses: {:?}", t.turns);
        assert!(t.score.format_ok && t.score.f1 > 0.0 && t.score.f1 < 1.0, "{:?}", t.score);
    }
    let half = Demonstrator { wordy_rate: 0.5, ..Demonstrator::default() };
    let all: Vec<PlannedQuestion> = questions.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let picked = all.iter().filter(|q| plan(q, &half).wordy).count();
    assert!(picked > all.len() / 4 && picked < 3 * all.len() / 4, "{picked} of {} picked at 0.5", all.len());
}
