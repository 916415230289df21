//! Questions that carry the scripted expert's plan (`webtape sim questions` files: `expert_queries`, `support`,
//! `answers`, optional `expert_notes`), and running the [`Expert`] over them against an environment. The CLI's
//! `webtape expert` and `webtape model pretrain` both make their SFT data here.
use std::collections::BTreeMap;
use std::path::Path;

use super::expert::{Expert, ExpertPlan, MISSED_URL};
use super::generator::ChatCodec;
use super::{rollout, RolloutConfig, Task, Tools, Trajectory};
use crate::error::{Error, Result};

/// One question with the expert's plan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct PlannedQuestion {
    pub id: String,
    pub question: String,
    pub answers: Vec<String>,
    /// One search query per hop.
    pub expert_queries: Vec<String>,
    /// Per hop, the path (URL suffix) of the page to browse.
    pub support: Vec<String>,
    /// Per hop, the fact read on that page (said in the expert's thinking); may be absent.
    #[serde(default)]
    pub expert_notes: Vec<String>,
    #[serde(default)]
    pub data_source: Option<String>,
}

impl PlannedQuestion {
    /// The expert's plan for this question; it stumbles (see [`ExpertPlan::stumble`]) on a stable share
    /// `recovery_rate` of question ids.
    pub fn plan(&self, recovery_rate: f64) -> ExpertPlan {
        ExpertPlan {
            queries: self.expert_queries.clone(),
            targets: self.support.clone(),
            answer: self.answers.first().cloned().unwrap_or_default(),
            notes: self.expert_notes.clone(),
            stumble: share_of(&self.id) < recovery_rate,
        }
    }

    /// The question as a rollout task (its subject: the first expert query).
    pub fn task(&self) -> Task {
        Task {
            id: self.id.clone(),
            question: self.question.clone(),
            answers: self.answers.clone(),
            data_source: self.data_source.clone(),
            subject: self.expert_queries.first().cloned(),
        }
    }
}

/// Reads a JSONL file of planned questions; a bad line is an error naming it.
pub fn read_planned(path: &Path) -> Result<Vec<PlannedQuestion>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| {
                Error::bad_input(
                    format!("{}:{}", path.display(), i + 1),
                    format!("not a question with an expert plan (question, answers, expert_queries, support): {e}"),
                )
            })
        })
        .collect()
}

/// A stable number in [0, 1) for a question id (FNV-1a), to pick which questions the expert stumbles on.
fn share_of(id: &str) -> f64 {
    let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    (hash >> 11) as f64 / (1_u64 << 53) as f64
}

/// Rolls the expert out once per question (`codec` tokenizes what it writes, as the policy's would) and returns
/// every trajectory, successful or not, in question order. On a share `recovery_rate` of the questions it
/// stumbles once and recovers; the misspelt turn's tokens are taken out of the loss mask.
#[allow(clippy::too_many_arguments)]
pub fn run_expert(
    codec: &dyn ChatCodec,
    tools: &Tools,
    questions: &[PlannedQuestion],
    date: &str,
    max_queries: usize,
    cfg: &RolloutConfig,
    seed: u64,
    recovery_rate: f64,
    runtime: &tokio::runtime::Runtime,
) -> Result<Vec<Trajectory>> {
    let plans: BTreeMap<String, ExpertPlan> =
        questions.iter().map(|q| (q.question.clone(), q.plan(recovery_rate))).collect();
    let tasks: Vec<Task> = questions.iter().map(PlannedQuestion::task).collect();
    let mut trajs = rollout(&mut Expert::new(codec, plans), tools, &tasks, 1, date, max_queries, cfg, seed, runtime)?;
    for t in &mut trajs {
        mask_missed_turns(codec, t)?;
    }
    Ok(trajs)
}

/// Zeroes the loss mask over every turn whose browse missed (a slip the policy must not learn to make).
fn mask_missed_turns(codec: &dyn ChatCodec, t: &mut Trajectory) -> Result<()> {
    let missed: Vec<String> = t
        .turns
        .iter()
        .filter(|turn| turn.observation.as_deref().is_some_and(|o| o.contains(MISSED_URL)))
        .map(|turn| turn.text.clone())
        .collect();
    for text in missed {
        let ids = codec.encode(&text)?;
        let at = t.response_ids.windows(ids.len().max(1)).position(|w| w == ids.as_slice()).ok_or_else(|| {
            Error::Config(format!("expert: the tokens of a missed turn of {} are not in its response", t.task.id))
        })?;
        t.loss_mask[at..at + ids.len()].fill(0);
    }
    Ok(())
}
