//! `webtape eval`: roll out a policy (greedy by default) on a question set and report F1, EM, format errors and
//! tool calls per dataset as a markdown table and CSV, with every trajectory saved as JSONL for inspection.
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use crate::agent::generator::Generator;
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
}

fn row(name: &str, trajs: &[&Trajectory]) -> EvalRow {
    let n = trajs.len().max(1) as f64;
    EvalRow {
        data_source: name.to_string(),
        questions: trajs.len(),
        f1: trajs.iter().map(|t| t.score.f1 as f64).sum::<f64>() / n,
        em: trajs.iter().filter(|t| t.score.em).count() as f64 / n,
        format_errors: trajs.iter().filter(|t| !t.score.format_ok).count() as f64 / n,
        tool_calls: trajs.iter().map(|t| t.tool_calls as f64).sum::<f64>() / n,
    }
}

/// Per-dataset rows (sorted by name) and an `all` row.
pub fn table(trajs: &[Trajectory]) -> Vec<EvalRow> {
    let mut groups: BTreeMap<String, Vec<&Trajectory>> = BTreeMap::new();
    for t in trajs {
        groups.entry(t.task.data_source.clone().unwrap_or_else(|| "default".into())).or_default().push(t);
    }
    let mut rows: Vec<EvalRow> = groups.iter().map(|(name, ts)| row(name, ts)).collect();
    rows.push(row("all", &trajs.iter().collect::<Vec<_>>()));
    rows
}

/// The table as markdown.
pub fn markdown(rows: &[EvalRow]) -> String {
    let mut out = String::from(
        "| dataset | questions | F1 | EM | format errors | tool calls |\n|---|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {:.3} | {:.3} | {:.3} | {:.2} |",
            r.data_source, r.questions, r.f1, r.em, r.format_errors, r.tool_calls
        );
    }
    out
}

/// Evaluates `generator` on `tasks` (one rollout each) and writes `table.md`, `table.csv` and
/// `trajectories.jsonl` into `out_dir`.
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
) -> Result<Vec<EvalRow>> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::io("tokio runtime", e))?;
    let trajs = rollout(generator, tools, tasks, 1, date, max_queries, cfg, seed, &runtime)?;
    let rows = table(&trajs);
    let write = |name: &str, text: String| {
        let path = out_dir.join(name);
        std::fs::write(&path, text).map_err(|e| Error::io(&path, e))
    };
    write("table.md", markdown(&rows))?;
    let mut csv = String::from("dataset,questions,f1,em,format_errors,tool_calls\n");
    for r in &rows {
        let _ = writeln!(
            csv,
            "{},{},{:.6},{:.6},{:.6},{:.4}",
            r.data_source, r.questions, r.f1, r.em, r.format_errors, r.tool_calls
        );
    }
    write("table.csv", csv)?;
    let mut lines = String::new();
    for t in &trajs {
        lines.push_str(&serde_json::to_string(t).map_err(|e| Error::Config(e.to_string()))?);
        lines.push('\n');
    }
    write("trajectories.jsonl", lines)?;
    Ok(rows)
}
