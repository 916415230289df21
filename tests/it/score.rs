//! `webtape score` scores another system's responses exactly as DeepResearcher's reward does (checked against an
//! independent Python implementation on DeepResearcher-shaped parquet data), and names every prediction that does
//! not match a question.
use std::collections::BTreeMap;

use crate::common::{python, run, s, stderr, stdout, tempdir};

/// Crafted responses: (question index, response).
const RESPONSES: [(usize, &str); 6] = [
    (0, "<think>the novel</think>\n<answer>Mary W. Shelley</answer>"),
    (1, "<think>a</think><answer>Sydney</answer> then <answer>Canberra</answer>"),
    (2, "<think>x</think><tool_call>{}</tool_call><ANSWER>LIMMAT, river.</ANSWER>"),
    (3, "<think>unclosed <answer>Leonardo da Vinci</answer>"),
    (4, "<think>t</think><answer>100 °C (boiling)</answer>"),
    (5, "<think>t</think><answer>Geneva</answer>"),
];

#[test]
fn score_equals_deepresearchers_reward_and_names_mismatches() {
    let dir = tempdir();
    let data = dir.path().join("dr.parquet");
    python("deepresearcher_score.py", &["make-parquet", s(&data)]);
    let mut lines: Vec<String> =
        RESPONSES.iter().map(|(i, r)| serde_json::json!({"id": i, "response": r}).to_string()).collect();
    lines.push(serde_json::json!({"id": 99, "answer": "x"}).to_string());
    lines.push(serde_json::json!({"id": 1, "answer": "Canberra"}).to_string());
    let preds = dir.path().join("pred.jsonl");
    std::fs::write(&preds, lines.join("\n") + "\n").unwrap();
    let out_dir = dir.path().join("out");
    let out = run(&["score", "--data", s(&data), "--predictions", s(&preds), "--out", s(&out_dir)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let reference: BTreeMap<String, f64> =
        serde_json::from_str(&python("deepresearcher_score.py", &["score", s(&data), s(&preds)])).unwrap();
    let scores = std::fs::read_to_string(out_dir.join("scores.jsonl")).unwrap();
    let ours: BTreeMap<String, f64> = scores
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["id"].as_str().unwrap().to_string(), v["f1"].as_f64().unwrap())
        })
        .collect();
    eprintln!("ours {ours:?}\nPython {reference:?}\n{}", stdout(&out));
    assert_eq!(ours.len(), 6);
    for (id, want) in &reference {
        assert!((ours[id] - want).abs() < 1e-6, "question {id}: ours {}, DeepResearcher's {want}", ours[id]);
    }
    let distinct: std::collections::BTreeSet<String> = reference.values().map(|v| format!("{v:.3}")).collect();
    assert!(distinct.len() >= 4, "the crafted responses must score differently: {reference:?}");
    assert!((reference["0"] - 0.8).abs() < 1e-6 && reference["2"] == 1.0, "split gold answers: {reference:?}");
    assert!(reference["3"] == -1.0 && reference["5"] == 0.0, "broken tags; `–` is no separator: {reference:?}");
    let err = stderr(&out);
    assert!(err.contains("1 prediction ids name no question") && err.contains("99"), "{err}");
    assert!(err.contains("1 ids are predicted more than once") && err.contains(": 1"), "{err}");
    let table = std::fs::read_to_string(out_dir.join("table.md")).unwrap();
    for source in ["bamboogle", "hotpotqa", "musique", "nq", "all"] {
        assert!(table.contains(&format!("| {source} |")), "{table}");
    }
    assert!(std::fs::read_to_string(out_dir.join("table.csv")).unwrap().starts_with("dataset,questions,f1,em"));
    // --strict turns the mismatches into a failing exit status; the files are still written.
    let strict = run(&["score", "--data", s(&data), "--predictions", s(&preds), "--out", s(&out_dir), "--strict"]);
    assert_eq!(strict.status.code(), Some(1));
}

#[test]
fn missing_predictions_are_format_errors_and_bad_lines_are_named() {
    let dir = tempdir();
    let data = dir.path().join("q.jsonl");
    std::fs::write(&data, "{\"id\":\"a\",\"question\":\"?\",\"answers\":[\"x\"]}\n{\"id\":\"b\",\"question\":\"?\",\"answers\":[\"y\"]}\n").unwrap();
    let preds = dir.path().join("p.jsonl");
    std::fs::write(&preds, "{\"id\":\"a\",\"answer\":\"X\"}\n").unwrap();
    let out_dir = dir.path().join("out");
    let out = run(&["score", "--data", s(&data), "--predictions", s(&preds), "--out", s(&out_dir)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 questions have no prediction (scored as format errors, −1): b"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("| all | 2 | 0.500 | 0.500 | 0.500 | 0.000 |"), "{}", stdout(&out));
    std::fs::write(&preds, "{\"id\":\"a\",\"answer\":\"X\"}\n{\"id\":\"b\"}\n").unwrap();
    let out = run(&["score", "--data", s(&data), "--predictions", s(&preds), "--out", s(&out_dir)]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("p.jsonl:2") && stderr(&out).contains("no `response` or `answer`"),
        "{}",
        stderr(&out)
    );
}
