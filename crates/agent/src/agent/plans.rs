//! Questions that carry the scripted expert's plan ([`crate::sim::Question`], from `webtape sim questions` files: `expert_queries`, `support`,
//! `answers`, optional `expert_notes`), and running the [`Expert`] over them against an environment. The CLI's
//! `webtape expert` and `webtape model pretrain` both make their SFT data here.
use std::collections::BTreeMap;
use std::path::Path;

use super::expert::{Expert, ExpertPlan, MISSED_URL};
use super::generator::ChatCodec;
use super::{rollout, RolloutConfig, Task, Tools, Trajectory};
use crate::error::{Error, Result};
use crate::sim::Question;

/// How the scripted expert departs from its plans, each on a stable share of question ids (0 and 0: never).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Demonstrator {
    /// Share of questions on which it misspells its first browse and recovers (see [`ExpertPlan::stumble`]).
    pub recovery_rate: f64,
    /// Share of multi-hop questions on which it answers after the first page (see [`ExpertPlan::hasty`]).
    pub hasty_rate: f64,
    /// Share of questions on which it answers in a sentence (see [`ExpertPlan::wordy`]).
    pub wordy_rate: f64,
}

/// The expert's plan for a question, with the slips `demonstrator` asks for.
pub fn plan(q: &Question, demonstrator: &Demonstrator) -> ExpertPlan {
    ExpertPlan {
        queries: q.expert_queries.clone(),
        targets: q.support.clone(),
        answer: q.answers.first().cloned().unwrap_or_default(),
        notes: q.expert_notes.clone(),
        stumble: share_of(&q.id) < demonstrator.recovery_rate,
        hasty: is_hasty(q, demonstrator.hasty_rate),
        wordy: is_wordy(q, demonstrator.wordy_rate),
    }
}

/// Whether the expert answers `q` one hop short at `hasty_rate`: only multi-hop questions with a note for their
/// first page, picked by a hash of the id independent of the stumbling one.
pub fn is_hasty(q: &Question, hasty_rate: f64) -> bool {
    q.expert_queries.len() > 1 && !q.expert_notes.is_empty() && share_of(&format!("{}#hasty", q.id)) < hasty_rate
}

/// Whether the expert answers `q` in a sentence at `wordy_rate`, picked by a hash of the id independent of the
/// other slips.
pub fn is_wordy(q: &Question, wordy_rate: f64) -> bool {
    share_of(&format!("{}#wordy", q.id)) < wordy_rate
}

/// A planned question as a rollout task (its subject: the first expert query).
pub fn task(q: &Question) -> Task {
    Task {
        id: q.id.clone(),
        question: q.question.clone(),
        answers: q.answers.clone(),
        data_source: q.data_source.clone(),
        subject: q.expert_queries.first().cloned(),
    }
}

/// Reads a JSONL file of planned questions; a bad line is an error naming it.
pub fn read_planned(path: &Path) -> Result<Vec<Question>> {
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
/// every trajectory, successful or not, in question order, with the slips `demonstrator` asks for; the tokens of a
/// misspelt turn are taken out of the loss mask (a hasty answer stays in: it is what the demonstrator did).
#[allow(clippy::too_many_arguments)]
pub fn run_expert(
    codec: &dyn ChatCodec,
    tools: &Tools,
    questions: &[Question],
    date: &str,
    max_queries: usize,
    cfg: &RolloutConfig,
    seed: u64,
    demonstrator: &Demonstrator,
    runtime: &tokio::runtime::Runtime,
) -> Result<Vec<Trajectory>> {
    let plans: BTreeMap<String, ExpertPlan> =
        questions.iter().map(|q| (q.question.clone(), plan(q, demonstrator))).collect();
    let tasks: Vec<Task> = questions.iter().map(task).collect();
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
            Error::internal(format!("expert: the tokens of a missed turn of {} are not in its response", t.task.id))
        })?;
        t.loss_mask[at..at + ids.len()].fill(0);
    }
    Ok(())
}
