//! `webtape eval`: roll out a policy (greedy by default) on a question set and report F1, EM, format errors and
//! tool calls per dataset as a markdown table and CSV, with every trajectory saved as JSONL for inspection.
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use crate::agent::generator::Generator;
use crate::agent::judge::{Judge, JudgeItem, Verdict};
use crate::agent::{rollout, RolloutConfig, Task, Tools, Trajectory};
use crate::error::{Error, Result};

/// Scores of one dataset (or `all`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EvalRow {
    pub data_source: String,
    pub questions: usize,
    pub f1: f64,
    pub em: f64,
    pub format_errors: f64,
    pub tool_calls: f64,
    /// Share judged correct by the LLM judge (MBE), when one was asked; unjudged answers count as not correct.
    pub mbe: Option<f64>,
}

fn row(name: &str, trajs: &[(&Trajectory, Option<Verdict>)]) -> EvalRow {
    let n = trajs.len().max(1) as f64;
    let judged = trajs.iter().all(|(_, v)| v.is_some());
    EvalRow {
        data_source: name.to_string(),
        questions: trajs.len(),
        f1: trajs.iter().map(|(t, _)| t.score.f1 as f64).sum::<f64>() / n,
        em: trajs.iter().filter(|(t, _)| t.score.em).count() as f64 / n,
        format_errors: trajs.iter().filter(|(t, _)| !t.score.format_ok).count() as f64 / n,
        tool_calls: trajs.iter().map(|(t, _)| t.tool_calls as f64).sum::<f64>() / n,
        mbe: judged.then(|| trajs.iter().filter(|(_, v)| *v == Some(Verdict::Correct)).count() as f64 / n),
    }
}

/// Per-dataset rows (sorted by name) and an `all` row; `verdicts` (one per trajectory) add the MBE column.
pub fn table(trajs: &[Trajectory], verdicts: Option<&[Verdict]>) -> Vec<EvalRow> {
    let pairs: Vec<(&Trajectory, Option<Verdict>)> =
        trajs.iter().enumerate().map(|(i, t)| (t, verdicts.and_then(|v| v.get(i).copied()))).collect();
    let mut groups: BTreeMap<String, Vec<(&Trajectory, Option<Verdict>)>> = BTreeMap::new();
    for p in &pairs {
        groups.entry(p.0.task.data_source.clone().unwrap_or_else(|| "default".into())).or_default().push(*p);
    }
    let mut rows: Vec<EvalRow> = groups.iter().map(|(name, ts)| row(name, ts)).collect();
    rows.push(row("all", &pairs));
    rows
}

fn mbe_cell(r: &EvalRow, digits: usize) -> String {
    r.mbe.map_or_else(|| "-".to_string(), |m| format!("{m:.digits$}"))
}

/// The table as markdown.
pub fn markdown(rows: &[EvalRow]) -> String {
    let judged = rows.iter().any(|r| r.mbe.is_some());
    let mut out = String::from("| dataset | questions | F1 | EM | format errors | tool calls |");
    out.push_str(if judged {
        " MBE |\n|---|---:|---:|---:|---:|---:|---:|\n"
    } else {
        "\n|---|---:|---:|---:|---:|---:|\n"
    });
    for r in rows {
        let _ = write!(
            out,
            "| {} | {} | {:.3} | {:.3} | {:.3} | {:.2} |",
            r.data_source, r.questions, r.f1, r.em, r.format_errors, r.tool_calls
        );
        out.push_str(&if judged { format!(" {} |\n", mbe_cell(r, 3)) } else { "\n".to_string() });
    }
    out
}

/// Evaluates `generator` on `tasks` (one rollout each) and writes `table.md`, `table.csv` and
/// `trajectories.jsonl` into `out_dir`; with a `judge`, also the MBE column and `judgements.jsonl`.
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    generator: &mut dyn Generator,
    tools: &Tools,
    tasks: &[Task],
    date: &str,
    max_queries: usize,
    cfg: &RolloutConfig,
    seed: u64,
    out_dir: &Path,
    judge: Option<&Judge>,
) -> Result<Vec<EvalRow>> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::io("tokio runtime", e))?;
    let trajs = rollout(generator, tools, tasks, 1, date, max_queries, cfg, seed, &runtime)?;
    let verdicts = match judge {
        Some(j) => Some(j.judge(&judge_items(&trajs), &runtime)?),
        None => None,
    };
    let rows = table(&trajs, verdicts.as_deref());
    let write = |name: &str, text: String| {
        let path = out_dir.join(name);
        std::fs::write(&path, text).map_err(|e| Error::io(&path, e))
    };
    write("table.md", markdown(&rows))?;
    let mut csv = String::from("dataset,questions,f1,em,format_errors,tool_calls,mbe\n");
    for r in &rows {
        let mbe = if r.mbe.is_some() { mbe_cell(r, 6) } else { String::new() };
        let _ = writeln!(
            csv,
            "{},{},{:.6},{:.6},{:.6},{:.4},{mbe}",
            r.data_source, r.questions, r.f1, r.em, r.format_errors, r.tool_calls
        );
    }
    write("table.csv", csv)?;
    if let Some(verdicts) = &verdicts {
        let mut lines = String::new();
        for (t, v) in trajs.iter().zip(verdicts) {
            let line = serde_json::json!({"id": t.task.id, "answer": t.answer, "gold": t.task.answers, "verdict": v});
            lines.push_str(&format!("{line}\n"));
        }
        write("judgements.jsonl", lines)?;
    }
    let mut lines = String::new();
    for t in &trajs {
        lines.push_str(&serde_json::to_string(t).map_err(|e| Error::Config(e.to_string()))?);
        lines.push('\n');
    }
    write("trajectories.jsonl", lines)?;
    Ok(rows)
}

fn judge_items(trajs: &[Trajectory]) -> Vec<JudgeItem> {
    trajs
        .iter()
        .map(|t| JudgeItem {
            question: t.task.question.clone(),
            answers: t.task.answers.clone(),
            predicted: t.answer.clone().filter(|_| t.score.format_ok),
        })
        .collect()
}
