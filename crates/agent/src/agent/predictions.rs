//! Scoring another system's predictions with exactly the training reward (`webtape score`): reading a
//! predictions file, matching it to a question file by id (unknown ids, duplicates and missing predictions are
//! counted and named, never dropped silently), and the per-`data_source` table.
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde_json::Value;

use super::reward::{score, score_response, Score};
use crate::data::Question;
use crate::error::{Error, Result};

/// What a system predicted for one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prediction {
    /// The full response text: scored with DeepResearcher's format check.
    Response(String),
    /// The answer alone: scored as a well-formed answer.
    Answer(String),
}

/// One line of a predictions file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredictionLine {
    pub id: String,
    pub prediction: Prediction,
}

/// Reads `{"id", "response"}` or `{"id", "answer"}` lines (ids may be strings or numbers); a bad line is an error
/// naming it.
pub fn read_predictions(path: &Path) -> Result<Vec<PredictionLine>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let bad = |m: String| Error::bad_input(format!("{}:{}", path.display(), i + 1), m);
        let v: Value = serde_json::from_str(line).map_err(|e| bad(format!("invalid JSON: {e}")))?;
        let id = match v.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(bad("no `id` (a string or a number)".into())),
        };
        let text = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
        let prediction = match (text("response"), text("answer")) {
            (Some(r), None) => Prediction::Response(r),
            (None, Some(a)) => Prediction::Answer(a),
            (Some(_), Some(_)) => return Err(bad("both `response` and `answer`: give one".into())),
            (None, None) => return Err(bad("no `response` or `answer` text".into())),
        };
        out.push(PredictionLine { id, prediction });
    }
    Ok(out)
}

/// One question's score.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ScoredLine {
    pub id: String,
    pub data_source: String,
    /// The reward: F1, or −1 for a broken format (DeepResearcher's `compute_score`).
    pub f1: f32,
    pub em: bool,
    pub format_ok: bool,
    /// Whether the predictions file had a line for this question (a missing one scores as a format error).
    #[serde(skip)]
    pub predicted: bool,
}

/// What did not match between the two files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mismatches {
    /// Prediction ids that name no question (not scored).
    pub unknown: Vec<String>,
    /// Ids predicted more than once (the first line counts).
    pub duplicates: Vec<String>,
    /// Questions with no prediction (scored as format errors, −1).
    pub missing: Vec<String>,
}

impl Mismatches {
    pub fn is_empty(&self) -> bool {
        self.unknown.is_empty() && self.duplicates.is_empty() && self.missing.is_empty()
    }
}

/// Scores `predictions` against `questions` (matched by id), in question order.
pub fn score_predictions(questions: &[Question], predictions: &[PredictionLine]) -> (Vec<ScoredLine>, Mismatches) {
    let mut by_id: BTreeMap<&str, &Prediction> = BTreeMap::new();
    let mut m = Mismatches::default();
    let known: HashSet<&str> = questions.iter().map(|q| q.id.as_str()).collect();
    for p in predictions {
        if !known.contains(p.id.as_str()) {
            m.unknown.push(p.id.clone());
        } else if by_id.contains_key(p.id.as_str()) {
            m.duplicates.push(p.id.clone());
        } else {
            by_id.insert(p.id.as_str(), &p.prediction);
        }
    }
    let lines = questions
        .iter()
        .map(|q| {
            let found = by_id.get(q.id.as_str());
            let s: Score = match found {
                Some(Prediction::Response(r)) => score_response(r, &q.answers),
                Some(Prediction::Answer(a)) => score(Some(a.trim()), &q.answers),
                None => {
                    m.missing.push(q.id.clone());
                    score(None, &q.answers)
                }
            };
            ScoredLine {
                id: q.id.clone(),
                data_source: q.data_source.clone().unwrap_or_else(|| "default".into()),
                f1: s.reward,
                em: s.em,
                format_ok: s.format_ok,
                predicted: found.is_some(),
            }
        })
        .collect();
    (lines, m)
}

/// One row of the table: a `data_source`, or `all`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ScoreRow {
    pub dataset: String,
    pub count: usize,
    /// Mean F1 with format errors counted as 0 (the reward's mean is `reward`).
    pub f1: f64,
    pub em: f64,
    pub format_errors: f64,
    /// Mean reward (F1, −1 for format errors).
    pub reward: f64,
}

/// The per-`data_source` rows (sorted) and `all`.
pub fn score_table(lines: &[ScoredLine]) -> Vec<ScoreRow> {
    let mut groups: BTreeMap<&str, Vec<&ScoredLine>> = BTreeMap::new();
    for l in lines {
        groups.entry(l.data_source.as_str()).or_default().push(l);
    }
    let row = |name: &str, ls: &[&ScoredLine]| {
        let n = ls.len().max(1) as f64;
        ScoreRow {
            dataset: name.to_string(),
            count: ls.len(),
            f1: ls.iter().map(|l| l.f1.max(0.0) as f64).sum::<f64>() / n,
            em: ls.iter().filter(|l| l.em).count() as f64 / n,
            format_errors: ls.iter().filter(|l| !l.format_ok).count() as f64 / n,
            reward: ls.iter().map(|l| l.f1 as f64).sum::<f64>() / n,
        }
    };
    let mut rows: Vec<ScoreRow> = groups.iter().map(|(name, ls)| row(name, ls)).collect();
    rows.push(row("all", &lines.iter().collect::<Vec<_>>()));
    rows
}

/// The table as markdown.
pub fn score_markdown(rows: &[ScoreRow]) -> String {
    let mut out =
        String::from("| dataset | questions | F1 | EM | format errors | reward |\n|---|---:|---:|---:|---:|---:|\n");
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {:.3} | {:.3} | {:.3} | {:.3} |\n",
            r.dataset, r.count, r.f1, r.em, r.format_errors, r.reward
        ));
    }
    out
}

/// The table as CSV.
pub fn score_csv(rows: &[ScoreRow]) -> String {
    let mut out = String::from("dataset,questions,f1,em,format_errors,reward\n");
    for r in rows {
        let name = if r.dataset.contains([',', '"']) {
            format!("\"{}\"", r.dataset.replace('"', "\"\""))
        } else {
            r.dataset.clone()
        };
        out.push_str(&format!("{name},{},{:.6},{:.6},{:.6},{:.6}\n", r.count, r.f1, r.em, r.format_errors, r.reward));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(id: &str, source: &str, answers: &[&str]) -> Question {
        Question {
            id: id.into(),
            question: "?".into(),
            answers: answers.iter().map(|a| a.to_string()).collect(),
            data_source: Some(source.into()),
            subject: None,
        }
    }

    #[test]
    fn mismatches_are_named_and_the_first_duplicate_counts() {
        let questions = [q("1", "nq", &["Paris"]), q("2", "nq", &["Lyon"]), q("3", "hotpot", &["Ada"])];
        let p = |id: &str, a: &str| PredictionLine { id: id.into(), prediction: Prediction::Answer(a.into()) };
        let preds = [p("1", "Paris"), p("1", "Rome"), p("9", "x"), p("3", "ada.")];
        let (lines, m) = score_predictions(&questions, &preds);
        assert_eq!(m.unknown, ["9"]);
        assert_eq!(m.duplicates, ["1"]);
        assert_eq!(m.missing, ["2"]);
        assert_eq!(lines.iter().map(|l| l.f1).collect::<Vec<_>>(), [1.0, -1.0, 1.0]);
        let rows = score_table(&lines);
        assert_eq!(rows.iter().map(|r| r.dataset.as_str()).collect::<Vec<_>>(), ["hotpot", "nq", "all"]);
        let all = rows.last().unwrap();
        assert_eq!((all.count, all.f1, all.reward), (3, 2.0 / 3.0, 1.0 / 3.0));
        assert!(score_markdown(&rows).contains("| nq | 2 | 0.500 | 0.500 | 0.500 | 0.000 |"));
    }
}
