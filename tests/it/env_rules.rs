//! The environment through its public API: DeepResearcher's tool rules on an episode (three queries per call,
//! browse only the latest results), chunking, observation shapes, and byte-identical reruns.
use webtape::env::{observe, EnvConfig, Environment, Episode, MissPolicy, Source};

use crate::common::*;

#[test]
fn episode_rules_chunks_and_observations() {
    let tmp = tempdir();
    let sim = SimProc::start(&["--api-key", "env-key-8080"]);
    let queries = sim_questions(tmp.path(), 5);
    let snap = tmp.path().join("snap");
    record(&sim, "serper", "env-key-8080", &queries, &snap, &["--pages-per-query", "2"]);
    drop(sim);
    let questions: Vec<String> =
        webtape::data::read_questions(&queries).unwrap().into_iter().map(|q| q.question).collect();
    let cfg = EnvConfig { chunk_chars: 300, max_chunks: 2, miss: MissPolicy::Strict, ..EnvConfig::default() };
    let env = Environment::replay(&snap, cfg, None).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();

    let run = |env: &Environment| {
        let mut ep = Episode::default();
        let found = rt.block_on(env.search(Some(&mut ep), &questions, Some(3))).unwrap();
        assert_eq!(found.len(), 3, "at most 3 queries per search call");
        assert!(found.iter().all(|r| r.source == Source::Exact));
        let first = found[0].items[0].url.clone();
        let browsed = rt
            .block_on(env.browse(
                Some(&mut ep),
                &[first.clone(), "http://elsewhere.example/".into()],
                &questions[0],
                None,
            ))
            .unwrap();
        assert_eq!(browsed[0].source, Source::Exact);
        assert!(browsed[0].pages_total > 1, "a 300-char chunking splits the page");
        assert_eq!(browsed[0].chunks.len(), 2, "max_chunks");
        assert!(browsed[0].chunks.iter().all(|c| c.summary.chars().count() <= 300));
        assert_eq!(browsed[1].error.as_deref(), Some("URL was not in the latest search results"));
        // A new search replaces the URLs the episode may browse.
        rt.block_on(env.search(Some(&mut ep), &questions[3..4], None)).unwrap();
        let again = rt.block_on(env.browse(Some(&mut ep), &[first], &questions[0], Some(1))).unwrap();
        let still_allowed = ep.allowed_urls.contains(&again[0].url);
        assert_eq!(again[0].error.is_none(), still_allowed);
        (observe::search_observation(&found), observe::browse_observation(&browsed), ep.log.len())
    };
    let (s1, b1, n1) = run(&env);
    assert!(s1.starts_with("[{\"search_query\":") && s1.contains("\"web_page_info_list\":[{\"title\":"), "{s1}");
    assert!(b1.contains("\"information\":[{\"page_number\":1,\"page_summary\":"), "{b1}");
    assert!(b1.contains("\"error\":\"URL was not in the latest search results\""));
    assert_eq!(n1, 3 + 2 + 1 + 1, "every call logged");
    // A fresh environment over the same snapshot: same observations, same run digest.
    let env2 = Environment::replay(
        &snap,
        EnvConfig { chunk_chars: 300, max_chunks: 2, miss: MissPolicy::Strict, ..EnvConfig::default() },
        None,
    )
    .unwrap();
    let (s2, b2, _) = run(&env2);
    assert_eq!((s1, b1), (s2, b2));
    assert_eq!(env.run_log().digest(), env2.run_log().digest());
    assert_eq!(env.snapshot_date().unwrap().len(), 10, "YYYY-MM-DD for the prompt");
}
