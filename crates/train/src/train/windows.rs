//! Turn windows: one short training sequence per policy turn of a trajectory — the user's question, the turn
//! before and its observation, then the turn itself (the only trained tokens). Cut from the trajectory's own
//! token ids, never re-tokenized. A small model learns to copy a name, a URL or a fact from its context far
//! sooner on these than on whole episodes, where the system prompt and old observations dilute the signal.
use super::batch::Sequence;
use crate::agent::Trajectory;

/// What an SFT step trains on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SftSequences {
    /// Whole expert trajectories (every policy turn of an episode in one sequence).
    #[default]
    Episodes,
    /// One [turn window](self) per policy turn.
    Windows,
}

/// The SFT sequences of `trajs` with the index of the trajectory each came from. `im_start` is the token id of
/// `<|im_start|>`: the window's context starts at the prompt's last user turn (the second-to-last `<|im_start|>`,
/// the last one opening the assistant turn), or at the whole prompt when there is no such marker.
pub fn sft_sequences(trajs: &[Trajectory], kind: SftSequences, im_start: Option<u32>) -> Vec<(Sequence, usize)> {
    let mut out = Vec::new();
    for (i, t) in trajs.iter().enumerate() {
        match kind {
            SftSequences::Episodes => out.push((whole(t), i)),
            SftSequences::Windows => out.extend(turn_windows(t, im_start).into_iter().map(|s| (s, i))),
        }
    }
    out
}

fn whole(t: &Trajectory) -> Sequence {
    Sequence {
        prompt_ids: t.prompt_ids.clone(),
        response_ids: t.response_ids.clone(),
        loss_mask: t.loss_mask.clone(),
        old_logprobs: t.logprobs.clone(),
        advantage: 0.0,
    }
}

/// Maximal runs of equal mask values as `(start, end, mask)`.
fn runs(mask: &[u8]) -> Vec<(usize, usize, u8)> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=mask.len() {
        if i == mask.len() || mask[i] != mask[start] {
            if start < mask.len() {
                out.push((start, i, mask[start]));
            }
            start = i;
        }
    }
    out
}

/// One sequence per policy turn of `t` (see the module docs).
pub fn turn_windows(t: &Trajectory, im_start: Option<u32>) -> Vec<Sequence> {
    let marks: Vec<usize> = match im_start {
        Some(id) => t.prompt_ids.iter().enumerate().filter(|&(_, &tok)| tok == id).map(|(i, _)| i).collect(),
        None => Vec::new(),
    };
    let question = if marks.len() >= 2 { &t.prompt_ids[marks[marks.len() - 2]..] } else { &t.prompt_ids[..] };
    let runs = runs(&t.loss_mask);
    let mut out = Vec::new();
    for (k, &(start, end, mask)) in runs.iter().enumerate() {
        if mask != 1 {
            continue;
        }
        let mut prompt_ids = question.to_vec();
        // The policy turn and observation just before this turn (an observation run follows a policy run).
        if k >= 2 && runs[k - 1].2 == 0 && runs[k - 2].2 == 1 {
            prompt_ids.extend_from_slice(&t.response_ids[runs[k - 2].0..runs[k - 1].1]);
        } else if k >= 1 {
            prompt_ids.extend_from_slice(&t.response_ids[runs[k - 1].0..runs[k - 1].1]);
        }
        out.push(Sequence {
            prompt_ids,
            response_ids: t.response_ids[start..end].to_vec(),
            loss_mask: vec![1; end - start],
            old_logprobs: t.logprobs[start..end].to_vec(),
            advantage: 0.0,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::reward::Score;
    use crate::agent::Task;

    fn traj(prompt: Vec<u32>, response: Vec<u32>, mask: Vec<u8>) -> Trajectory {
        let n = response.len();
        Trajectory {
            task: Task { id: "q".into(), question: "q".into(), answers: vec![], data_source: None, subject: None },
            sample: 0,
            prompt_ids: prompt,
            response_ids: response,
            loss_mask: mask,
            logprobs: (0..n).map(|i| i as f32).collect(),
            turns: vec![],
            answer: None,
            format_error: None,
            score: Score { reward: 1.0, f1: 1.0, em: true, format_ok: true },
            tool_calls: 0,
        }
    }

    #[test]
    fn each_turn_sees_the_question_the_turn_before_and_its_observation() {
        // prompt: <s>=1 system 5 <s> user 6 <s> assistant 7; turns 10,11 | obs 20 | 12 | obs 21,22 | 13
        let t = traj(vec![1, 5, 1, 6, 1, 7], vec![10, 11, 20, 12, 21, 22, 13], vec![1, 1, 0, 1, 0, 0, 1]);
        let w = turn_windows(&t, Some(1));
        assert_eq!(w.len(), 3);
        assert_eq!((w[0].prompt_ids.clone(), w[0].response_ids.clone()), (vec![1, 6, 1, 7], vec![10, 11]));
        assert_eq!((w[1].prompt_ids.clone(), w[1].response_ids.clone()), (vec![1, 6, 1, 7, 10, 11, 20], vec![12]));
        assert_eq!((w[2].prompt_ids.clone(), w[2].response_ids.clone()), (vec![1, 6, 1, 7, 12, 21, 22], vec![13]));
        assert!(w.iter().all(|s| s.loss_mask.iter().all(|&m| m == 1)));
        assert_eq!(w[2].old_logprobs, vec![6.0], "sampling log-probs follow their tokens");
        let all = sft_sequences(&[t.clone(), t], SftSequences::Windows, Some(1));
        assert_eq!(all.iter().map(|(_, i)| *i).collect::<Vec<_>>(), [0, 0, 0, 1, 1, 1]);
    }

    #[test]
    fn without_a_user_marker_the_whole_prompt_is_the_context() {
        let t = traj(vec![3, 4], vec![10, 20, 11], vec![1, 0, 1]);
        let w = turn_windows(&t, None);
        assert_eq!(w[1].prompt_ids, vec![3, 4, 10, 20]);
        let e = sft_sequences(std::slice::from_ref(&t), SftSequences::Episodes, None);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].0.response_ids, t.response_ids);
    }
}
