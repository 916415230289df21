//! `webtape score`: another system's predictions scored with exactly the training reward, per `data_source`.
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use webtape::agent::predictions::{
    read_predictions, score_csv, score_markdown, score_predictions, score_table, Mismatches,
};

#[derive(Args)]
pub struct ScoreArgs {
    /// Questions with gold answers (JSONL, text or DeepResearcher / Search-R1 parquet; several answers in one
    /// string joined by `<|answer_split|>` are split, as DeepResearcher's reward does).
    #[arg(long)]
    data: PathBuf,
    /// JSONL, one line per question: `{"id", "response"}` (the full response text, scored with the format check:
    /// −1 when tags are unbalanced or there is no `<answer>`) or `{"id", "answer"}` (the answer alone).
    #[arg(long)]
    predictions: PathBuf,
    /// Folder for table.md, table.csv and scores.jsonl (one line per question: id, data_source, f1 = the
    /// reward, em, format_ok).
    #[arg(long)]
    out: PathBuf,
    /// Exit with status 1 when prediction ids name no question, repeat, or questions have no prediction
    /// (always reported; without --strict the scores are still written).
    #[arg(long)]
    strict: bool,
}

pub fn score(a: ScoreArgs) -> Result<ExitCode> {
    let questions = webtape::data::read_questions(&a.data)?;
    anyhow::ensure!(!questions.is_empty(), "{} holds no questions", a.data.display());
    let mut seen = std::collections::HashSet::new();
    if let Some(q) = questions.iter().find(|q| !seen.insert(q.id.as_str())) {
        anyhow::bail!(
            "{}: question id {:?} appears twice; ids must be unique to match predictions",
            a.data.display(),
            q.id
        );
    }
    let predictions = read_predictions(&a.predictions)?;
    let (lines, mismatches) = score_predictions(&questions, &predictions);
    let rows = score_table(&lines);
    let table = score_markdown(&rows);
    print!("{table}");
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let write = |name: &str, body: String| {
        let path = a.out.join(name);
        std::fs::write(&path, body).with_context(|| format!("writing {}", path.display()))
    };
    write("table.md", table)?;
    write("table.csv", score_csv(&rows))?;
    let mut jsonl = String::new();
    for l in &lines {
        jsonl.push_str(&serde_json::to_string(l)?);
        jsonl.push('\n');
    }
    write("scores.jsonl", jsonl)?;
    report(&mismatches);
    println!(
        "scored {} questions from {} prediction lines; wrote {}/table.md, table.csv, scores.jsonl",
        lines.len(),
        predictions.len(),
        a.out.display()
    );
    Ok(if a.strict && !mismatches.is_empty() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Names what did not match (up to 5 ids each) on stderr.
fn report(m: &Mismatches) {
    let show = |ids: &[String]| {
        let head: Vec<&str> = ids.iter().take(5).map(String::as_str).collect();
        format!("{}{}", head.join(", "), if ids.len() > 5 { ", …" } else { "" })
    };
    if !m.unknown.is_empty() {
        eprintln!("warning: {} prediction ids name no question (not scored): {}", m.unknown.len(), show(&m.unknown));
    }
    if !m.duplicates.is_empty() {
        eprintln!(
            "warning: {} ids are predicted more than once (the first line counts): {}",
            m.duplicates.len(),
            show(&m.duplicates)
        );
    }
    if !m.missing.is_empty() {
        eprintln!(
            "warning: {} questions have no prediction (scored as format errors, −1): {}",
            m.missing.len(),
            show(&m.missing)
        );
    }
}
