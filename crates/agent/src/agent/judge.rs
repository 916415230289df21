//! Model-based evaluation (MBE, DeepResearcher's LLM-as-judge metric): an OpenAI-compatible model says whether a
//! predicted answer matches any gold answer. Verdicts are recorded in a snapshot's `reader` column family under
//! blake3(model ‖ prompt), like reading-model outputs, so a rerun replays them exactly without the endpoint.
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::snapshot::{Snapshot, SnapshotWriter};
use crate::web::ReaderClient;

/// Judge calls in flight at once.
const CONCURRENCY: usize = 8;

/// One answer to judge.
#[derive(Debug, Clone)]
pub struct JudgeItem {
    pub question: String,
    pub answers: Vec<String>,
    /// The policy's answer (`None`: the rollout gave none, which is incorrect without asking).
    pub predicted: Option<String>,
}

/// What the judge made of one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Correct,
    Incorrect,
    /// Not recorded and no endpoint to ask, or an output without a judgement line.
    Unjudged,
}

/// The prompt for one item: the question, the gold answers, the prediction, and the reply format.
pub fn judge_prompt(question: &str, answers: &[String], predicted: &str) -> String {
    format!(
        "You grade answers to questions. Decide whether the predicted answer says the same thing as at least one of \
         the ground-truth answers; wording, case and extra detail do not matter, a different or missing fact does.\n\
         Question: {question}\n\
         Ground-truth answers: {}\n\
         Predicted answer: {predicted}\n\
         Reply with one line of rationale, then a last line that is exactly `Judgement: correct` or \
         `Judgement: incorrect`.",
        serde_json::to_string(answers).unwrap_or_default()
    )
}

/// The verdict in a judge's reply: its last `judgement:` line (any case).
pub fn parse_verdict(reply: &str) -> Verdict {
    let line = reply.lines().rev().find_map(|l| {
        let l = l.trim().trim_matches(|c| c == '*' || c == '`').to_lowercase();
        l.strip_prefix("judgement:").or_else(|| l.strip_prefix("judgment:")).map(|v| v.trim().to_string())
    });
    match line.as_deref().map(|v| v.trim_matches(|c: char| !c.is_alphabetic())) {
        Some("correct") => Verdict::Correct,
        Some("incorrect") => Verdict::Incorrect,
        _ => Verdict::Unjudged,
    }
}

/// A judging model: its recorded verdicts in `store` (a snapshot folder) and, optionally, an endpoint to ask
/// for the ones not recorded yet (whose replies are then recorded there).
pub struct Judge {
    model: String,
    store: PathBuf,
    client: Option<ReaderClient>,
}

impl Judge {
    pub fn new(model: &str, store: &Path, client: Option<ReaderClient>) -> Result<Judge> {
        if model.trim().is_empty() {
            return Err(Error::Config("the judge model must be named".into()));
        }
        if let Some(c) = &client {
            if c.model() != model {
                return Err(Error::Config(format!("judge client is for {:?}, not {model:?}", c.model())));
            }
        }
        Ok(Judge { model: model.to_string(), store: store.to_path_buf(), client })
    }

    /// Verdicts for `items`, in order: recorded replies first, then the endpoint (if any) for the rest, whose
    /// replies are recorded before returning. A failed call is an error (nothing half-recorded is lost).
    pub fn judge(&self, items: &[JudgeItem], runtime: &tokio::runtime::Runtime) -> Result<Vec<Verdict>> {
        let prompts: Vec<Option<String>> =
            items.iter().map(|i| i.predicted.as_deref().map(|p| judge_prompt(&i.question, &i.answers, p))).collect();
        let mut replies: Vec<Option<String>> = vec![None; items.len()];
        if self.store.join("manifest.json").exists() {
            let snap = Snapshot::open(&self.store)?;
            for (reply, prompt) in replies.iter_mut().zip(&prompts) {
                if let Some(p) = prompt {
                    *reply = snap.reader_output(&self.model, p)?;
                }
            }
        }
        let missing: Vec<usize> = (0..items.len()).filter(|&i| prompts[i].is_some() && replies[i].is_none()).collect();
        if let (Some(client), false) = (&self.client, missing.is_empty()) {
            let asked = runtime.block_on(ask_all(client, &missing, &prompts))?;
            self.record(&asked, &prompts)?;
            for (i, reply) in asked {
                replies[i] = Some(reply);
            }
        }
        Ok(prompts
            .iter()
            .zip(replies)
            .map(|(prompt, reply)| match (prompt, reply) {
                (None, _) => Verdict::Incorrect,
                (Some(_), Some(r)) => parse_verdict(&r),
                (Some(_), None) => Verdict::Unjudged,
            })
            .collect())
    }

    fn record(&self, asked: &[(usize, String)], prompts: &[Option<String>]) -> Result<()> {
        let mut writer = SnapshotWriter::open_or_create(&self.store)?;
        for (i, reply) in asked {
            let prompt = prompts[*i].as_deref().unwrap_or_default();
            writer.put_reader_output(&self.model, prompt, reply)?;
        }
        writer.finish().map(|_| ())
    }
}

/// Asks the endpoint for each of `which`, `CONCURRENCY` at a time; replies in `which` order.
async fn ask_all(client: &ReaderClient, which: &[usize], prompts: &[Option<String>]) -> Result<Vec<(usize, String)>> {
    let mut out = Vec::with_capacity(which.len());
    for batch in which.chunks(CONCURRENCY) {
        let calls = batch.iter().map(|&i| async move {
            let prompt = prompts[i].as_deref().unwrap_or_default();
            client.complete(prompt).await.map(|reply| (i, reply))
        });
        for result in futures_util::future::join_all(calls).await {
            out.push(result?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_are_read_from_the_last_judgement_line() {
        assert_eq!(parse_verdict("Same city.\nJudgement: correct"), Verdict::Correct);
        assert_eq!(parse_verdict("judgement: correct\n**Judgment: Incorrect.**"), Verdict::Incorrect);
        assert_eq!(parse_verdict("It is correct."), Verdict::Unjudged);
        assert_eq!(parse_verdict(""), Verdict::Unjudged);
        let p = judge_prompt("Who?", &["Ann \"A\" Lee".into()], "Ann");
        assert!(p.contains("Ground-truth answers: [\"Ann \\\"A\\\" Lee\"]") && p.contains("Predicted answer: Ann\n"));
    }
}
