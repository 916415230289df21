//! Whole-world tests: determinism, link integrity, reachability, question validity, expert
//! queries, page shape and config validation.
use std::collections::{BTreeSet, VecDeque};

use super::*;
use crate::error::Error;

fn world(seed: u64) -> World {
    World::generate(&WorldConfig { seed, ..WorldConfig::default() }).expect("default config is valid")
}

#[test]
fn same_seed_is_identical_and_seeds_differ() {
    let (a, b, c) = (world(1), world(1), world(2));
    assert_eq!(a.digest(), b.digest());
    assert_eq!(a.pages, b.pages);
    assert_eq!(a.questions, b.questions);
    assert_ne!(a.digest(), c.digest());
    assert_ne!(a.pages[5].html, c.pages[5].html);
}

#[test]
fn digest_covers_pages_and_questions() {
    let a = world(3);
    let mut b = a.clone();
    b.pages[10].html.push(' ');
    assert_ne!(a.digest(), b.digest());
    let mut c = a.clone();
    c.questions[0].answers[0].push('x');
    assert_ne!(a.digest(), c.digest());
}

#[test]
fn paths_unique_links_resolve_and_everything_reachable() {
    for seed in [0, 7, 99] {
        let w = world(seed);
        let paths: BTreeSet<&str> = w.pages.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths.len(), w.pages.len(), "duplicate page path");
        for p in &w.pages {
            assert!(
                p.path.starts_with('/') && p.path.bytes().all(|b| b.is_ascii_alphanumeric() || b"/-".contains(&b)),
                "{}",
                p.path
            );
            for l in &p.links {
                assert!(w.page(l).is_some(), "{} links to missing {l}", p.path);
            }
        }
        let mut seen = BTreeSet::from(["/".to_string()]);
        let mut queue = VecDeque::from(["/".to_string()]);
        while let Some(path) = queue.pop_front() {
            for l in &w.page(&path).expect("reached pages exist").links {
                if seen.insert(l.clone()) {
                    queue.push_back(l.clone());
                }
            }
        }
        for e in &w.entities {
            assert!(seen.contains(&e.path), "{} unreachable from /", e.path);
        }
    }
}

#[test]
fn entity_names_are_unique_and_some_are_not_ascii() {
    let w = world(0);
    let names: BTreeSet<String> = w.entities.iter().map(|e| fold(&e.name).to_lowercase()).collect();
    assert_eq!(names.len(), w.entities.len());
    assert!(w.entities.iter().any(|e| !e.name.is_ascii() && e.roman.is_none()), "no accented names");
    assert!(w.entities.iter().any(|e| e.roman.is_some()), "no CJK names");
}

#[test]
fn pages_are_well_formed_and_sized() {
    let w = world(0);
    for p in &w.pages {
        assert!(p.html.starts_with("<!DOCTYPE html>") && p.html.contains("<meta charset=\"utf-8\">"), "{}", p.path);
        assert!(p.html.contains("<title>") && p.html.trim_end().ends_with("</html>"));
        assert!(!p.text.is_empty() && p.text.starts_with(&p.title), "{}", p.path);
    }
    for e in &w.entities {
        let p = w.page(&e.path).expect("entity page");
        assert_eq!(p.title, e.name);
        assert!((2_000..=10_240).contains(&p.html.len()), "{} is {} bytes", p.path, p.html.len());
    }
}

#[test]
fn answers_are_on_the_last_support_page_and_hop_two_needs_the_link() {
    for seed in [0, 5] {
        let w = world(seed);
        for q in &w.questions {
            assert_eq!(q.support.len(), usize::from(q.hops), "{}", q.id);
            assert_eq!(q.expert_queries.len(), q.support.len(), "{}", q.id);
            let last = w.page(q.support.last().expect("support")).expect("support page exists");
            assert!(last.text.contains(&q.answers[0]), "{}: {:?} not on {}", q.id, q.answers[0], last.path);
            if q.hops == 2 {
                let first = w.page(&q.support[0]).expect("first support page");
                assert!(first.links.contains(&q.support[1]), "{}: no link to hop 2", q.id);
                let second = w.entities.iter().find(|e| e.path == q.support[1]).expect("hop 2 entity");
                assert!(!q.question.contains(&second.name), "{} names {}", q.question, second.name);
                assert!(
                    !first.text.contains(&q.answers[0]) || q.answers[0].len() == 4,
                    "{}: answer already on hop 1",
                    q.id
                );
            }
        }
    }
}

#[test]
fn expert_notes_quote_each_support_page_and_lead_to_the_next_hop() {
    for seed in [0, 5] {
        let w = world(seed);
        for q in &w.questions {
            assert_eq!(q.expert_notes.len(), q.support.len(), "{}", q.id);
            for (i, (note, path)) in q.expert_notes.iter().zip(&q.support).enumerate() {
                let (label, value) = note.split_once(": ").expect("label: value");
                let page = w.page(path).expect("support page");
                assert!(page.text.contains(label) && page.text.contains(value), "{}: {note:?} not on {path}", q.id);
                let next = q.expert_queries.get(i + 1).unwrap_or(&q.answers[0]);
                assert_eq!(value, next, "{}: hop {i} leads to the next query (or the answer)", q.id);
            }
        }
    }
}

#[test]
fn questions_are_unique_many_and_split() {
    let w = world(0);
    let ids: BTreeSet<&str> = w.questions.iter().map(|q| q.id.as_str()).collect();
    let texts: BTreeSet<&str> = w.questions.iter().map(|q| q.question.as_str()).collect();
    assert_eq!(ids.len(), w.questions.len());
    assert_eq!(texts.len(), w.questions.len());
    let s = w.stats();
    assert!(w.questions.len() >= 300, "{}", w.questions.len());
    assert!(s.questions[0][0] > 0 && s.questions[0][1] > 0 && s.questions[1][0] > 0 && s.questions[1][1] > 0, "{s:?}");
    let test_share = (s.questions[0][1] + s.questions[1][1]) as f64 / w.questions.len() as f64;
    assert!((0.1..0.3).contains(&test_share), "test share {test_share}");
}

#[test]
fn expert_queries_find_support_pages_in_top_three() {
    for seed in [0, 1, 2, 3] {
        let w = world(seed);
        let idx = w.index();
        let mut misses = Vec::new();
        for q in &w.questions {
            for (query, want) in q.expert_queries.iter().zip(&q.support) {
                if !idx.search(query, 3).iter().any(|h| &h.path == want) {
                    misses.push(format!("{}: {query:?} -> {want}", q.id));
                }
            }
        }
        assert!(misses.is_empty(), "seed {seed}: {} misses: {:?}", misses.len(), &misses[..misses.len().min(10)]);
    }
}

#[test]
fn search_over_world_is_deterministic() {
    let w = world(4);
    let (i1, i2) = (w.index(), world(4).index());
    for q in ["", "!!!", "北", "Zoë", "novel 1874", "In what year was it founded?"] {
        assert_eq!(i1.search(q, 10), i2.search(q, 10));
    }
    let hits = i1.search("company headquartered", 50);
    for pair in hits.windows(2) {
        assert!(pair[0].score > pair[1].score || (pair[0].score == pair[1].score && pair[0].path < pair[1].path));
    }
}

#[test]
fn config_validation() {
    for entities in [0, 3, MAX_ENTITIES + 1] {
        let r = World::generate(&WorldConfig { entities, ..WorldConfig::default() });
        assert!(matches!(r, Err(Error::Config(_))), "entities = {entities}");
    }
    for test_fraction in [-0.1, 1.5, f32::NAN, f32::INFINITY] {
        let r = World::generate(&WorldConfig { test_fraction, ..WorldConfig::default() });
        assert!(matches!(r, Err(Error::Config(_))), "test_fraction = {test_fraction}");
    }
}

#[test]
fn edge_configs_generate() {
    for (entities, test_fraction) in [(4, 0.0), (5, 1.0), (17, 0.5), (2_000, 0.2)] {
        let w = World::generate(&WorldConfig { seed: 9, entities, test_fraction }).expect("valid config");
        assert_eq!(w.entities.len(), entities);
        assert!(w.page("/").is_some() && w.page("/about").is_some());
        if test_fraction == 0.0 {
            assert!(w.questions.iter().all(|q| q.split == Split::Train));
        }
        if test_fraction == 1.0 {
            assert!(w.questions.iter().all(|q| q.split == Split::Test));
        }
    }
}

#[test]
fn default_world_has_pages_and_questions_of_both_splits() {
    // Its generation time is a benchmark's business (`make bench`), not a unit test's.
    let w = world(0);
    let s = w.stats();
    eprintln!("stats: {s:?}, questions {}", w.questions.len());
    assert!(!w.questions.is_empty());
    for split in [Split::Train, Split::Test] {
        assert!(w.questions.iter().any(|q| q.split == split), "no {split:?} questions");
    }
}
