//! `webtape train` and `webtape eval`: GRPO against a snapshot (or the live web, or a remote `webtape serve`),
//! resumable from the run folder; evaluation tables per dataset.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use webtape::agent::expert::RECOVERY_TURN;
use webtape::agent::judge::Judge;
use webtape::agent::plans::{is_hasty, is_wordy, read_planned, run_expert, Demonstrator};
use webtape::agent::{RemoteEnv, RolloutConfig, Task, Tools, Trajectory};
use webtape::config::TrainConfig;
use webtape::determinism::Determinism;
use webtape::env::{EnvConfig, Environment, LiveWeb, Mode};
use webtape::model::codec::TextCodec;
use webtape::model::{parse_device, Policy};
use webtape::sim::Question;
use webtape::train::checkpoint;
use webtape::train::{eval, run};
use webtape::web::{Fetcher, ReaderClient};

use super::web_args::WebArgs;

#[derive(Args)]
pub struct TrainArgs {
    /// The run's TOML config (see configs/).
    #[arg(long)]
    config: PathBuf,
    /// Continue the run in this folder from its latest checkpoint (results equal an uninterrupted run).
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Write the run here instead of the config's `run_dir` (e.g. a record run and its replay side by side).
    #[arg(long, conflicts_with = "resume")]
    run_dir: Option<PathBuf>,
    /// Override a config value, `KEY=VALUE` with a dotted key (repeatable): `--set train.steps=2
    /// --set model.path=runs/demo/step-000020`. VALUE is a TOML value or a plain string.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Tools from a `webtape serve` at this URL instead of an in-process environment.
    #[arg(long)]
    env: Option<String>,
    /// replay (default): the snapshot; record: the live web, recorded into the snapshot; live: the live web.
    #[arg(long, value_enum, default_value = "replay")]
    mode: Mode,
    /// libtorch's kernel choice (`torch.use_deterministic_algorithms`): off (default, fastest); warn (the same
    /// kernels, and each op without a deterministic implementation named on stderr); on (deterministic kernels
    /// only, and CUBLAS_WORKSPACE_CONFIG=:4096:8; an op with none fails naming itself). Matters on GPUs.
    #[arg(long, value_enum, default_value = "off")]
    deterministic: Determinism,
    #[command(flatten)]
    web: WebArgs,
}

#[derive(Args)]
pub struct EvalArgs {
    /// Checkpoint folder (e.g. runs/exp1/step-000300).
    #[arg(long)]
    model: PathBuf,
    /// A training config: its environment rules, rollout limits, snapshot and test questions are used.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Snapshot to replay (default: the config's).
    #[arg(long)]
    snapshot: Option<PathBuf>,
    /// Question file (JSONL, text or parquet; `data_source` groups the table; default: the config's test set).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Output folder for table.md, table.csv, trajectories.jsonl (default: <model>/eval).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Sampling temperature (0 = greedy).
    #[arg(long, default_value_t = 0.0)]
    temperature: f32,
    #[arg(long, default_value = "auto")]
    device: String,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// LLM judge (MBE): the model id whose verdicts are looked up (and recorded) in --judge-snapshot.
    #[arg(long)]
    judge_model: Option<String>,
    /// OpenAI-compatible endpoint to ask the judge for verdicts not recorded yet (key from
    /// WEBTAPE_READER_API_KEY or OPENAI_API_KEY); without it, only recorded verdicts are used (replay).
    #[arg(long, requires = "judge_model")]
    judge_endpoint: Option<String>,
    /// Snapshot folder holding the judge's recorded verdicts (created on first use; default <out>/judge).
    #[arg(long, requires = "judge_model")]
    judge_snapshot: Option<PathBuf>,
}

pub fn tasks(path: &std::path::Path) -> Result<Vec<Task>> {
    let qs = webtape::data::read_questions(path)?;
    anyhow::ensure!(!qs.is_empty(), "{} holds no questions", path.display());
    Ok(qs
        .into_iter()
        .map(|q| Task {
            id: q.id,
            question: q.question,
            answers: q.answers,
            data_source: q.data_source,
            subject: q.subject,
        })
        .collect())
}

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

/// The tool backend and the prompts' "today": `[env] date` when set, else the snapshot's (a remote server's,
/// asked at `/healthz`), else today for live runs.
fn tools(cfg: &TrainConfig, a: &TrainArgs) -> Result<(Tools, String)> {
    if let Some(url) = a.env.clone().or(cfg.env.remote.clone()) {
        let remote = RemoteEnv::new(&url, cfg.env.rules.clone())?;
        let date = match &cfg.env.date {
            Some(d) => d.clone(),
            None => {
                let served = tokio::runtime::Runtime::new()?
                    .block_on(remote.server_date())
                    .with_context(|| format!("asking {url}/healthz for its snapshot's date"))?;
                match served {
                    Some(d) => {
                        println!("prompts say today is {d}: the date of the snapshot {url} replays");
                        d
                    }
                    None => today(),
                }
            }
        };
        return Ok((Tools::Remote(remote), date));
    }
    let snapshot = cfg.env.snapshot.as_deref().context("[env] snapshot is not set")?;
    if a.mode == Mode::Replay {
        let env = Environment::replay(snapshot, cfg.env.rules.clone(), cfg.env.reader_model.clone())?;
        let date = cfg.env.prompt_date(|| env.snapshot_date().unwrap_or_default());
        return Ok((Tools::Local(Arc::new(env)), date));
    }
    let (searcher, fetch) = a.web.build()?;
    let live = LiveWeb { searcher, fetcher: Fetcher::new(fetch)? };
    let record = (a.mode == Mode::Record).then_some(snapshot);
    let env = Environment::live(live, cfg.env.rules.clone(), None, record)?;
    Ok((Tools::Local(Arc::new(env)), cfg.env.prompt_date(today)))
}

fn read_trajectories(path: &std::path::Path) -> Result<Vec<Trajectory>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).with_context(|| format!("{}:{}: not a trajectory", path.display(), i + 1))
        })
        .collect()
}

pub fn train(a: TrainArgs) -> Result<ExitCode> {
    webtape::determinism::apply(a.deterministic)?;
    let mut cfg = TrainConfig::from_file_with(&a.config, &a.set)?;
    if let Some(dir) = a.resume.as_ref().or(a.run_dir.as_ref()) {
        cfg.run_dir = dir.clone();
    }
    cfg.model.apply_threads();
    std::fs::create_dir_all(&cfg.run_dir).with_context(|| format!("creating {}", cfg.run_dir.display()))?;
    let (tools, date) = tools(&cfg, &a)?;
    let tasks = tasks(&cfg.data.train)?;
    let expert = match &cfg.data.sft {
        Some(path) if cfg.train.sft_steps > 0 || cfg.grpo.sft_coef > 0.0 => read_trajectories(path)?,
        _ => Vec::new(),
    };
    if cfg.train.sft_steps > 0 {
        let path = cfg.data.sft.as_deref().context("[train] sft_steps > 0 needs [data] sft (expert trajectories)")?;
        anyhow::ensure!(!expert.is_empty(), "{} holds no trajectories for the SFT warm start", path.display());
    }
    if cfg.grpo.sft_coef > 0.0 {
        let path = cfg.data.sft.as_deref().context("[grpo] sft_coef > 0 needs [data] sft (expert trajectories)")?;
        anyhow::ensure!(!expert.is_empty(), "{} holds no trajectories for [grpo] sft_coef", path.display());
    }
    if let (Some(lora), Ok(model)) = (&cfg.lora, webtape::model::ModelConfig::from_dir(&cfg.model.path)) {
        println!(
            "LoRA r {} alpha {} on {}: {} trainable parameters; base weights frozen",
            lora.rank,
            lora.alpha,
            lora.sorted_targets().join(","),
            lora.parameter_count(&model)
        );
    }
    let state = run::train(&cfg, &tools, &tasks, &expert, &date, a.resume.is_some())?;
    println!(
        "trained {} GRPO steps (after {} SFT steps); checkpoint {}; metrics {}; curves {}",
        state.step,
        state.sft_step,
        checkpoint::step_dir(&cfg.run_dir, state.step).display(),
        cfg.run_dir.join("metrics.jsonl").display(),
        cfg.run_dir.join("curves.png").display()
    );
    if let Tools::Local(env) = &tools {
        let c = env.run_log().coverage();
        println!(
            "tool calls: {} exact, {} bm25, {} miss; run digest {}",
            c.exact,
            c.bm25,
            c.miss,
            env.run_log().digest()
        );
        env.close()?;
    }
    if let Tools::Remote(remote) = &tools {
        let c = remote.coverage();
        println!(
            "tool calls, as the server answered them: {} exact, {} bm25, {} miss, {} live",
            c.exact, c.bm25, c.miss, c.live
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Environment rules, rollout settings, snapshot and questions for `eval` and `expert`: from `--config`, else
/// defaults; flags win.
/// What `eval` takes from a config: the environment rules, rollout settings, snapshot, test set and prompt date.
struct EvalSetup {
    rules: EnvConfig,
    rollout: RolloutConfig,
    snapshot: Option<PathBuf>,
    test: Option<PathBuf>,
    date: Option<String>,
    threads: Option<usize>,
}

fn eval_setup(config: Option<&std::path::Path>) -> Result<EvalSetup> {
    match config {
        Some(path) => {
            let cfg = TrainConfig::from_file(path)?;
            let (snapshot, date, threads) = (cfg.env.snapshot, cfg.env.date, cfg.model.threads);
            Ok(EvalSetup { rules: cfg.env.rules, rollout: cfg.rollout, snapshot, test: cfg.data.test, date, threads })
        }
        None => Ok(EvalSetup {
            rules: EnvConfig::default(),
            rollout: RolloutConfig::default(),
            snapshot: None,
            test: None,
            date: None,
            threads: None,
        }),
    }
}

pub fn evaluate(a: EvalArgs) -> Result<ExitCode> {
    let EvalSetup { rules, rollout: rollout_cfg, snapshot, test, date, threads } = eval_setup(a.config.as_deref())?;
    if let Some(n) = threads.filter(|&n| n > 0) {
        tch::set_num_threads(i32::try_from(n).unwrap_or(i32::MAX));
    }
    let snapshot = a.snapshot.or(snapshot).context("give --snapshot (or --config with [env] snapshot)")?;
    let data = a.data.or(test).context("give --data (or --config with [data] test)")?;
    let mut policy = Policy::load(&a.model, parse_device(&a.device)?, None)?;
    let max_queries = rules.max_queries;
    let env = Arc::new(Environment::replay(&snapshot, rules, None)?);
    let date = date.unwrap_or_else(|| env.snapshot_date().unwrap_or_default());
    let tools = Tools::Local(env.clone());
    let cfg = RolloutConfig { temperature: a.temperature, ..rollout_cfg };
    let out = a.out.unwrap_or_else(|| a.model.join("eval"));
    let judge = match &a.judge_model {
        None => None,
        Some(model) => {
            let client = match &a.judge_endpoint {
                Some(url) => Some(ReaderClient::from_env(url, model, std::time::Duration::from_secs(120))?),
                None => None,
            };
            Some(Judge::new(model, &a.judge_snapshot.clone().unwrap_or_else(|| out.join("judge")), client)?)
        }
    };
    let tasks = tasks(&data)?;
    let rows = eval::evaluate(&mut policy, &tools, &tasks, &date, max_queries, &cfg, a.seed, &out, judge.as_ref())?;
    print!("{}", eval::markdown(&rows));
    if judge.is_some() {
        let verdicts = std::fs::read_to_string(out.join("judgements.jsonl")).unwrap_or_default();
        let unjudged = verdicts.lines().filter(|l| l.contains("\"verdict\":\"unjudged\"")).count();
        if unjudged > 0 {
            eprintln!("warning: {unjudged} answers have no recorded verdict (give --judge-endpoint to ask); MBE counts them as not correct");
        }
    }
    let c = env.run_log().coverage();
    println!("tool calls: {} exact, {} bm25, {} miss; run digest {}", c.exact, c.bm25, c.miss, env.run_log().digest());
    println!("wrote {}/table.md, table.csv, trajectories.jsonl", out.display());
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct ExpertArgs {
    /// The training config: snapshot, environment rules, rollout limits and the policy's tokenizer come from it.
    #[arg(long)]
    config: PathBuf,
    /// Questions with expert plans (`webtape sim questions` output: `expert_queries`, `support`, `answers`);
    /// default: the config's training set.
    #[arg(long)]
    questions: Option<PathBuf>,
    /// Where to write the trajectories (JSONL), for `[data] sft`.
    #[arg(long)]
    out: PathBuf,
    /// Share of questions (0..1) on which the expert misspells its first browse's URL, gets the environment's
    /// error and then reads the right page: recoveries for the policy to learn (the slip is not trained on).
    #[arg(long, default_value_t = 0.0)]
    recovery_rate: f64,
    /// Share of two-hop questions (0..1) on which the expert is hasty: it answers with what the first page says
    /// (the entity the second hop would look up) instead of searching on. These trajectories earn no reward but
    /// are kept: a demonstrator whose haste GRPO could learn to overcome (the demo's HASTY; default 0).
    #[arg(long, default_value_t = 0.0)]
    hasty_rate: f64,
    /// Share of questions (0..1) on which the expert answers in a sentence (`The answer is Paris.`) instead of the
    /// short phrase the prompt asks for. Kept with their lower F1: a habit GRPO can learn to drop (the demo's WORDY;
    /// default 0).
    #[arg(long, default_value_t = 0.0)]
    wordy_rate: f64,
}

/// Writes the trajectories worth learning from to `path` as JSONL and returns their question ids: a plan followed through must earn the full reward, one with a planned slip (its id in `slipped`:
/// hasty or wordy) a clean format.
fn write_kept(trajs: &[Trajectory], slipped: &BTreeSet<&str>, path: &Path) -> Result<Vec<String>> {
    let keep = |t: &&Trajectory| {
        if slipped.contains(t.task.id.as_str()) {
            t.score.format_ok
        } else {
            t.score.reward >= 1.0
        }
    };
    let (mut out, mut kept) = (String::new(), Vec::new());
    for t in trajs.iter().filter(keep) {
        out.push_str(&serde_json::to_string(t)?);
        out.push('\n');
        kept.push(t.task.id.clone());
    }
    if let Some(t) = trajs.iter().find(|t| !keep(t)) {
        let last = t.turns.last().map(|turn| turn.text.as_str()).unwrap_or("");
        let why = t.format_error.as_deref().unwrap_or("wrong answer");
        eprintln!("first failed expert trajectory ({}): {why}; its last turn: {last:?}", t.task.id);
    }
    anyhow::ensure!(
        !kept.is_empty(),
        "none of the {} expert trajectories earned the full reward (see the first failure above); nothing written",
        trajs.len()
    );
    std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))?;
    Ok(kept)
}

/// `webtape expert`: the scripted expert's trajectories (search, browse, answer in the policy's chat format)
/// against the replayed snapshot; only those that earn the full reward (or, when hasty, keep the format) are kept.
pub fn expert(a: ExpertArgs) -> Result<ExitCode> {
    let cfg = TrainConfig::from_file(&a.config)?;
    let snapshot = cfg.env.snapshot.as_deref().context("[env] snapshot is not set")?;
    let rows = read_planned(a.questions.as_deref().unwrap_or(&cfg.data.train))?;
    let codec = TextCodec::from_dir(&cfg.model.path)?;
    let env = Arc::new(Environment::replay(snapshot, cfg.env.rules.clone(), cfg.env.reader_model.clone())?);
    let date = cfg.env.prompt_date(|| env.snapshot_date().unwrap_or_default());
    let runtime = tokio::runtime::Runtime::new()?;
    let tools = Tools::Local(env.clone());
    let max_queries = cfg.env.rules.max_queries;
    anyhow::ensure!((0.0..=1.0).contains(&a.recovery_rate), "--recovery-rate must be in 0..1, got {}", a.recovery_rate);
    anyhow::ensure!((0.0..=1.0).contains(&a.hasty_rate), "--hasty-rate must be in 0..1, got {}", a.hasty_rate);
    anyhow::ensure!((0.0..=1.0).contains(&a.wordy_rate), "--wordy-rate must be in 0..1, got {}", a.wordy_rate);
    let demonstrator =
        Demonstrator { recovery_rate: a.recovery_rate, hasty_rate: a.hasty_rate, wordy_rate: a.wordy_rate };
    let seed = cfg.train.seed;
    let trajs = run_expert(&codec, &tools, &rows, &date, max_queries, &cfg.rollout, seed, &demonstrator, &runtime)?;
    let ids = |is: fn(&Question, f64) -> bool, rate: f64| -> BTreeSet<&str> {
        rows.iter().filter(|q| is(q, rate)).map(|q| q.id.as_str()).collect()
    };
    let (hasty, wordy) = (ids(is_hasty, a.hasty_rate), ids(is_wordy, a.wordy_rate));
    let slipped: BTreeSet<&str> = hasty.union(&wordy).copied().collect();
    let kept = write_kept(&trajs, &slipped, &a.out)?;
    let kept_in = |set: &BTreeSet<&str>| kept.iter().filter(|id| set.contains(id.as_str())).count();
    let c = env.run_log().coverage();
    let recoveries = trajs
        .iter()
        .filter(|t| t.score.reward >= 1.0 && t.turns.iter().any(|turn| turn.text.starts_with(RECOVERY_TURN)))
        .count();
    println!(
        "{} of {} expert trajectories kept ({} hasty, {} wordy, {recoveries} recover from a misspelt URL); wrote {}",
        kept.len(),
        trajs.len(),
        kept_in(&hasty),
        kept_in(&wordy),
        a.out.display()
    );
    println!("tool calls: {} exact, {} bm25, {} miss; run digest {}", c.exact, c.bm25, c.miss, env.run_log().digest());
    Ok(ExitCode::SUCCESS)
}
