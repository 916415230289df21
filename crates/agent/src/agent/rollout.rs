//! The rollout engine: lock-step multi-turn episodes over a batch (n samples × questions). Each turn generates
//! for every live sequence until a stop string, parses the turns, runs all tool calls of the turn concurrently,
//! and appends the tokenized observations with loss mask 0. Token ids and sampling log-probs are kept end to
//! end and never re-tokenized; the reward scores the final answer.
use super::generator::{FinishReason, GenRequest, Generator, SamplingParams};
use super::parse::{parse_turn, Action};
use super::prompt::{initial_prompt, TurnFormat};
use super::reward::{score, Score};
use super::tools::Tools;
use crate::env::Episode;
use crate::error::{Error, Result};

/// What the policy may do when a turn breaks the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InvalidAction {
    /// End the rollout; it scores the format penalty (DeepResearcher).
    Penalty,
    /// Answer with an error observation and let it go on (Search-R1 style).
    Feedback,
}

/// Rollout limits and sampling.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RolloutConfig {
    pub max_turns: usize,
    /// New tokens per turn.
    pub max_turn_tokens: usize,
    /// Tokens after the prompt (policy + observations) per rollout.
    pub max_response_tokens: usize,
    /// Observation text beyond this many characters is cut.
    pub max_observation_chars: usize,
    pub temperature: f32,
    pub top_p: f32,
    pub top_k: usize,
    pub invalid_action: InvalidAction,
    pub format: TurnFormat,
}

impl Default for RolloutConfig {
    fn default() -> Self {
        RolloutConfig {
            max_turns: 10,
            max_turn_tokens: 512,
            max_response_tokens: 8192,
            max_observation_chars: 20_000,
            temperature: 1.0,
            top_p: 1.0,
            top_k: 0,
            invalid_action: InvalidAction::Penalty,
            format: TurnFormat::default(),
        }
    }
}

/// A question to roll out: a question file's row ([`crate::data::Question`]), one type for both.
pub type Task = crate::data::Question;

/// One turn as it happened.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Turn {
    /// What the policy wrote (after the prefilled `<think>`).
    pub text: String,
    /// `search`, `browse`, `answer` or `invalid: <reason>`.
    pub action: String,
    pub observation: Option<String>,
}

/// One finished rollout.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Trajectory {
    pub task: Task,
    /// Which of the n samples of its task.
    pub sample: usize,
    pub prompt_ids: Vec<u32>,
    pub response_ids: Vec<u32>,
    /// 1 for tokens the policy generated, 0 for observation tokens.
    pub loss_mask: Vec<u8>,
    /// Sampling log-prob of each response token (0 for observation tokens).
    pub logprobs: Vec<f32>,
    pub turns: Vec<Turn>,
    pub answer: Option<String>,
    pub format_error: Option<String>,
    pub score: Score,
    pub tool_calls: usize,
}

impl Trajectory {
    fn push(&mut self, tokens: &[u32], logprobs: Option<&[f32]>) {
        self.response_ids.extend_from_slice(tokens);
        self.loss_mask.extend(std::iter::repeat_n(u8::from(logprobs.is_some()), tokens.len()));
        match logprobs {
            Some(lp) => self.logprobs.extend_from_slice(lp),
            None => self.logprobs.extend(std::iter::repeat_n(0.0, tokens.len())),
        }
    }
}

/// Wall-clock seconds a rollout spent generating and waiting for tools (for timing reports, never for results).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RolloutTimes {
    pub generate_s: f64,
    pub tools_s: f64,
}

/// Rolls out `n` samples of every task with `generator`, tools from `tools`, "today" = `date`.
#[allow(clippy::too_many_arguments)]
pub fn rollout(
    generator: &mut dyn Generator,
    tools: &Tools,
    tasks: &[Task],
    n: usize,
    date: &str,
    max_queries: usize,
    cfg: &RolloutConfig,
    seed: u64,
    runtime: &tokio::runtime::Runtime,
) -> Result<Vec<Trajectory>> {
    rollout_timed(generator, tools, tasks, n, date, max_queries, cfg, seed, runtime).map(|(t, _)| t)
}

/// [`rollout`], also returning where the time went.
#[allow(clippy::too_many_arguments)]
pub fn rollout_timed(
    generator: &mut dyn Generator,
    tools: &Tools,
    tasks: &[Task],
    n: usize,
    date: &str,
    max_queries: usize,
    cfg: &RolloutConfig,
    seed: u64,
    runtime: &tokio::runtime::Runtime,
) -> Result<(Vec<Trajectory>, RolloutTimes)> {
    generator.codec().set_date(date)?;
    let mut times = RolloutTimes::default();
    let mut trajs = fresh_trajectories(generator, tasks, n, date, max_queries, cfg)?;
    let mut episodes = vec![Episode::default(); trajs.len()];
    let mut live: Vec<usize> = (0..trajs.len()).collect();
    for turn in 0..cfg.max_turns {
        live.retain(|&i| trajs[i].response_ids.len() < cfg.max_response_tokens);
        if live.is_empty() {
            break;
        }
        let clock = std::time::Instant::now();
        let actions = generate_turn(generator, &mut trajs, &live, cfg, seed, turn)?;
        times.generate_s += clock.elapsed().as_secs_f64();
        let clock = std::time::Instant::now();
        let calls = run_tools(tools, &mut trajs, &mut episodes, &actions, runtime)?;
        times.tools_s += clock.elapsed().as_secs_f64();
        let mut still = Vec::new();
        for (i, action) in actions {
            let observation = match action {
                Action::Answer(a) => {
                    trajs[i].answer = Some(a);
                    None
                }
                Action::Invalid(reason) if cfg.invalid_action == InvalidAction::Penalty => {
                    trajs[i].format_error = Some(reason);
                    None
                }
                Action::Invalid(reason) => Some(serde_json::json!({ "error": reason }).to_string()),
                Action::Search(_) | Action::Browse(_) => calls.iter().find(|(j, _)| *j == i).map(|(_, o)| o.clone()),
            };
            if let Some(obs) = observation {
                append_observation(generator, &mut trajs[i], &obs, cfg)?;
                still.push(i);
            }
        }
        live = still;
    }
    for t in &mut trajs {
        if t.answer.is_none() && t.format_error.is_none() {
            t.format_error =
                Some(format!("no answer within {} turns or {} tokens", cfg.max_turns, cfg.max_response_tokens));
        }
        t.score = score(t.answer.as_deref(), &t.task.answers);
    }
    Ok((trajs, times))
}

/// `n` empty trajectories per task, each holding the task's encoded initial prompt.
fn fresh_trajectories(
    generator: &mut dyn Generator,
    tasks: &[Task],
    n: usize,
    date: &str,
    max_queries: usize,
    cfg: &RolloutConfig,
) -> Result<Vec<Trajectory>> {
    let mut trajs = Vec::with_capacity(tasks.len() * n);
    for task in tasks {
        let prompt = initial_prompt(generator.codec(), &task.question, date, max_queries, &cfg.format)?;
        let prompt_ids = generator.codec().encode(&prompt)?;
        for sample in 0..n {
            trajs.push(Trajectory {
                task: task.clone(),
                sample,
                prompt_ids: prompt_ids.clone(),
                response_ids: Vec::new(),
                loss_mask: Vec::new(),
                logprobs: Vec::new(),
                turns: Vec::new(),
                answer: None,
                format_error: None,
                score: score(None, &[]),
                tool_calls: 0,
            });
        }
    }
    Ok(trajs)
}

/// Generates one turn for every live rollout; returns each one's parsed action.
fn generate_turn(
    generator: &mut dyn Generator,
    trajs: &mut [Trajectory],
    live: &[usize],
    cfg: &RolloutConfig,
    seed: u64,
    turn: usize,
) -> Result<Vec<(usize, Action)>> {
    let requests: Vec<GenRequest> = live
        .iter()
        .map(|&i| GenRequest {
            prompt: [trajs[i].prompt_ids.as_slice(), &trajs[i].response_ids].concat(),
            stream: i as u64,
        })
        .collect();
    let budget = live.iter().map(|&i| cfg.max_response_tokens - trajs[i].response_ids.len()).max().unwrap_or(0);
    let params = SamplingParams {
        max_new_tokens: cfg.max_turn_tokens.min(budget).max(1),
        temperature: cfg.temperature,
        top_p: cfg.top_p,
        top_k: cfg.top_k,
        stop: vec!["</tool_call>".into(), "</answer>".into()],
        seed: seed.wrapping_add((turn as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
    };
    let outputs = generator.generate(&requests, &params)?;
    if outputs.len() != live.len() {
        return Err(Error::internal(format!(
            "generator returned {} outputs for {} requests",
            outputs.len(),
            live.len()
        )));
    }
    let mut actions = Vec::with_capacity(live.len());
    for (&i, out) in live.iter().zip(outputs) {
        let t = &mut trajs[i];
        t.push(&out.tokens, Some(&out.logprobs));
        let action = match out.finish {
            FinishReason::Length if !out.text.contains("</answer>") && !out.text.contains("</tool_call>") => {
                Action::Invalid("the turn ran out of tokens before a tool call or an answer".into())
            }
            _ => parse_turn(&out.text),
        };
        t.turns.push(Turn { text: out.text, action: describe(&action), observation: None });
        actions.push((i, action));
    }
    Ok(actions)
}

fn describe(action: &Action) -> String {
    match action {
        Action::Search(_) => "search".into(),
        Action::Browse(_) => "browse".into(),
        Action::Answer(_) => "answer".into(),
        Action::Invalid(reason) => format!("invalid: {reason}"),
    }
}

/// Runs every tool call of the turn concurrently; returns `(rollout, observation)` pairs.
fn run_tools(
    tools: &Tools,
    trajs: &mut [Trajectory],
    episodes: &mut [Episode],
    actions: &[(usize, Action)],
    runtime: &tokio::runtime::Runtime,
) -> Result<Vec<(usize, String)>> {
    let mut jobs = Vec::new();
    for (i, action) in actions {
        if matches!(action, Action::Search(_) | Action::Browse(_)) {
            let (tools, action, question) = (tools.clone(), action.clone(), trajs[*i].task.question.clone());
            let mut episode = std::mem::take(&mut episodes[*i]);
            let i = *i;
            jobs.push(async move {
                let obs = match &action {
                    Action::Search(q) => tools.search(&mut episode, q).await,
                    Action::Browse(u) => tools.browse(&mut episode, u, &question).await,
                    _ => unreachable!("only tool actions are queued"),
                };
                (i, episode, obs)
            });
        }
    }
    let done = runtime.block_on(futures_util::future::join_all(jobs));
    let mut out = Vec::with_capacity(done.len());
    for (i, episode, obs) in done {
        episodes[i] = episode;
        trajs[i].tool_calls += 1;
        out.push((i, obs?));
    }
    Ok(out)
}

/// Appends a tool response (wrapped for the chat format, cut to size) as loss-masked tokens.
fn append_observation(generator: &mut dyn Generator, t: &mut Trajectory, obs: &str, cfg: &RolloutConfig) -> Result<()> {
    let cut = obs.char_indices().nth(cfg.max_observation_chars).map_or(obs, |(i, _)| &obs[..i]);
    let tokens = generator.codec().encode(&cfg.format.observation(cut))?;
    t.push(&tokens, None);
    if let Some(last) = t.turns.last_mut() {
        last.observation = Some(cut.to_string());
    }
    Ok(())
}
