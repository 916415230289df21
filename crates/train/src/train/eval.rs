//! `webtape eval`: roll out a policy (greedy by default) on a question set and report F1, EM, format errors,
//! tool calls and (where questions name their subject) the copy rate per dataset as a markdown table and CSV,
//! with every trajectory saved as JSONL for inspection.
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
    /// Share of questions with a known subject whose first search query contains it (`None`: no subject known).
    pub copy_rate: Option<f64>,
}

/// Whether the first `web_search` of `t` names its task's subject (case-insensitive); `None` without a subject.
/// A rollout that never searched counts as not copying.
pub fn copies_subject(t: &Trajectory) -> Option<bool> {
    let subject = t.task.subject.as_deref()?.to_lowercase();
    let first = t.turns.iter().find_map(|turn| match crate::agent::parse::parse_turn(&turn.text) {
        crate::agent::parse::Action::Search(queries) => Some(queries),
        _ => None,
    });
    Some(first.is_some_and(|queries| queries.iter().any(|q| q.to_lowercase().contains(&subject))))
}

/// The copy rate of `trajs` (see [`EvalRow::copy_rate`]).
pub fn copy_rate<'a>(trajs: impl IntoIterator<Item = &'a Trajectory>) -> Option<f64> {
    let known: Vec<bool> = trajs.into_iter().filter_map(copies_subject).collect();
    (!known.is_empty()).then(|| known.iter().filter(|&&c| c).count() as f64 / known.len() as f64)
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
        copy_rate: copy_rate(trajs.iter().map(|(t, _)| *t)),
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

fn cell(value: Option<f64>, digits: usize) -> String {
    value.map_or_else(|| "-".to_string(), |m| format!("{m:.digits$}"))
}

/// The table as markdown (the MBE and copy-rate columns only when some row has them).
pub fn markdown(rows: &[EvalRow]) -> String {
    let judged = rows.iter().any(|r| r.mbe.is_some());
    let copies = rows.iter().any(|r| r.copy_rate.is_some());
    let mut out = String::from("| dataset | questions | F1 | EM | format errors | tool calls |");
    let mut rule = String::from("|---|---:|---:|---:|---:|---:|");
    for (shown, name) in [(copies, " copy rate |"), (judged, " MBE |")] {
        if shown {
            out.push_str(name);
            rule.push_str("---:|");
        }
    }
    let _ = write!(out, "\n{rule}\n");
    for r in rows {
        let _ = write!(
            out,
            "| {} | {} | {:.3} | {:.3} | {:.3} | {:.2} |",
            r.data_source, r.questions, r.f1, r.em, r.format_errors, r.tool_calls
        );
        for (shown, value) in [(copies, r.copy_rate), (judged, r.mbe)] {
            if shown {
                let _ = write!(out, " {} |", cell(value, 3));
            }
        }
        out.push('\n');
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
    let mut csv = String::from("dataset,questions,f1,em,format_errors,tool_calls,mbe,copy_rate\n");
    let optional = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v:.6}"));
    for r in &rows {
        let _ = writeln!(
            csv,
            "{},{},{:.6},{:.6},{:.6},{:.4},{},{}",
            r.data_source,
            r.questions,
            r.f1,
            r.em,
            r.format_errors,
            r.tool_calls,
            optional(r.mbe),
            optional(r.copy_rate)
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
        lines.push_str(&serde_json::to_string(t).map_err(|e| Error::json("eval trajectory", e))?);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::reward::Score;
    use crate::agent::Turn;

    fn traj(subject: Option<&str>, turns: &[&str]) -> Trajectory {
        let task = Task {
            id: "q".into(),
            question: "Where was Ada Lenz born?".into(),
            answers: vec!["Wobymville".into()],
            data_source: Some("sim".into()),
            subject: subject.map(str::to_string),
        };
        let turns =
            turns.iter().map(|t| Turn { text: t.to_string(), action: String::new(), observation: None }).collect();
        let score = Score { reward: 0.0, f1: 0.0, em: false, format_ok: true };
        Trajectory {
            task,
            sample: 0,
            prompt_ids: vec![1],
            response_ids: vec![],
            loss_mask: vec![],
            logprobs: vec![],
            turns,
            answer: None,
            format_error: None,
            score,
            tool_calls: 0,
        }
    }

    fn search(q: &str) -> String {
        format!("go\n</think>\n<tool_call>\n{{\"name\":\"web_search\",\"arguments\":{{\"query\":[\"{q}\"]}}}}\n</tool_call>")
    }

    #[test]
    fn copy_rate_counts_first_searches_naming_the_subject() {
        let (hit, miss) = (search("ada lenz birthplace"), search("The Laboratories"));
        let answer = "done\n</think>\n<answer>x</answer>";
        let trajs = [
            traj(Some("Ada Lenz"), &[&hit]),
            traj(Some("Ada Lenz"), &[&miss, &hit]),
            traj(Some("Ada Lenz"), &[answer]),
            traj(None, &[&hit]),
        ];
        let copies: Vec<Option<bool>> = trajs.iter().map(copies_subject).collect();
        assert_eq!(copies, [Some(true), Some(false), Some(false), None], "only the first search counts");
        assert_eq!(copy_rate(&trajs), Some(1.0 / 3.0));
        assert_eq!(copy_rate(&trajs[3..]), None, "no subject known");
        let rows = table(&trajs, None);
        assert!(markdown(&rows).contains("| copy rate |"), "{}", markdown(&rows));
    }
}
