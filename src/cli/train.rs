//! `webtape train` and `webtape eval`: GRPO against a snapshot (or the live web, or a remote `webtape serve`),
//! resumable from the run folder; evaluation tables per dataset.
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use webtape::agent::{RemoteEnv, RolloutConfig, Task, Tools, Trajectory};
use webtape::config::TrainConfig;
use webtape::env::{EnvConfig, Environment, LiveWeb, Mode};
use webtape::model::{parse_device, parse_kind, Policy};
use webtape::train::checkpoint::{self, TrainerState};
use webtape::train::{eval, run, Trainer};
use webtape::web::Fetcher;

use super::web_args::WebArgs;

#[derive(Args)]
pub struct TrainArgs {
    /// The run's TOML config (see configs/).
    #[arg(long)]
    config: PathBuf,
    /// Continue the run in this folder from its latest checkpoint (results equal an uninterrupted run).
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Tools from a `webtape serve` at this URL instead of an in-process environment.
    #[arg(long)]
    env: Option<String>,
    /// replay (default): the snapshot; record: the live web, recorded into the snapshot; live: the live web.
    #[arg(long, value_enum, default_value = "replay")]
    mode: Mode,
    #[command(flatten)]
    web: WebArgs,
}

#[derive(Args)]
pub struct EvalArgs {
    /// Checkpoint folder (e.g. runs/exp1/step-000300).
    #[arg(long)]
    model: PathBuf,
    /// Snapshot to replay.
    #[arg(long)]
    snapshot: PathBuf,
    /// Question file (JSONL, text or parquet; `data_source` groups the table).
    #[arg(long)]
    data: PathBuf,
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
}

pub fn tasks(path: &std::path::Path) -> Result<Vec<Task>> {
    let qs = webtape::data::read_questions(path)?;
    anyhow::ensure!(!qs.is_empty(), "{} holds no questions", path.display());
    Ok(qs
        .into_iter()
        .map(|q| Task { id: q.id, question: q.question, answers: q.answers, data_source: q.data_source })
        .collect())
}

fn tools(cfg: &TrainConfig, a: &TrainArgs) -> Result<(Tools, String)> {
    if let Some(url) = a.env.clone().or(cfg.env.remote.clone()) {
        let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
        return Ok((Tools::Remote(RemoteEnv::new(&url, cfg.env.rules.clone())?), today));
    }
    let snapshot = cfg.env.snapshot.as_deref().context("[env] snapshot is not set")?;
    if a.mode == Mode::Replay {
        let env = Environment::replay(snapshot, cfg.env.rules.clone(), cfg.env.reader_model.clone())?;
        let date = env.snapshot_date().unwrap_or_default();
        return Ok((Tools::Local(Arc::new(env)), date));
    }
    let (searcher, fetch) = a.web.build()?;
    let live = LiveWeb { searcher, fetcher: Fetcher::new(fetch)? };
    let record = (a.mode == Mode::Record).then_some(snapshot);
    let env = Environment::live(live, cfg.env.rules.clone(), None, record)?;
    Ok((Tools::Local(Arc::new(env)), chrono::Utc::now().format("%Y-%m-%d").to_string()))
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
    let mut cfg = TrainConfig::from_file(&a.config)?;
    if let Some(dir) = &a.resume {
        cfg.run_dir = dir.clone();
    }
    std::fs::create_dir_all(&cfg.run_dir).with_context(|| format!("creating {}", cfg.run_dir.display()))?;
    let device = parse_device(&cfg.model.device)?;
    let kind = cfg.model.dtype.as_deref().map(parse_kind).transpose()?;
    let resumed = match &a.resume {
        Some(dir) => {
            Some(checkpoint::latest(dir)?.with_context(|| format!("{} has no checkpoint to resume", dir.display()))?)
        }
        None => None,
    };
    let model_dir = resumed.as_ref().map_or(cfg.model.path.clone(), |(d, _)| d.clone());
    let mut policy = Policy::load(&model_dir, device, kind)?;
    // The KL reference is always the run's starting checkpoint, also after a resume.
    let mut trainer = match &resumed {
        Some(_) => Trainer::with_reference(&policy, &cfg.model.path, cfg.grpo.clone())?,
        None => Trainer::new(&policy, cfg.grpo.clone())?,
    };
    let state = match &resumed {
        Some((dir, state)) => {
            trainer.load_state(&policy, dir)?;
            eprintln!("resuming {} at step {} (sft {})", cfg.run_dir.display(), state.step, state.sft_step);
            state.clone()
        }
        None => TrainerState { seed: cfg.train.seed, ..TrainerState::default() },
    };
    let (tools, date) = tools(&cfg, &a)?;
    let tasks = tasks(&cfg.data.train)?;
    let state = match &cfg.data.sft {
        Some(path) if state.sft_step < cfg.train.sft_steps => {
            run::run_sft(&cfg, &mut policy, &mut trainer, &read_trajectories(path)?, state)?
        }
        _ => state,
    };
    let bar = webtape::progress::bar(cfg.train.steps as u64, "grpo");
    bar.set_position(state.step as u64);
    let state = run::run_grpo(&cfg, &mut policy, &mut trainer, &tools, &tasks, &date, state, &bar)?;
    bar.finish_and_clear();
    run::redraw(&cfg.run_dir);
    println!(
        "trained {} steps; checkpoint {}; metrics {}; curves {}",
        state.step,
        checkpoint::step_dir(&cfg.run_dir, state.step).display(),
        cfg.run_dir.join("metrics.jsonl").display(),
        cfg.run_dir.join("curves.png").display()
    );
    if let Tools::Local(env) = &tools {
        println!("run digest {}", env.run_log().digest());
        env.close()?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn evaluate(a: EvalArgs) -> Result<ExitCode> {
    let mut policy = Policy::load(&a.model, parse_device(&a.device)?, None)?;
    let env = Environment::replay(&a.snapshot, EnvConfig::default(), None)?;
    let date = env.snapshot_date().unwrap_or_default();
    let tools = Tools::Local(Arc::new(env));
    let cfg = RolloutConfig { temperature: a.temperature, ..RolloutConfig::default() };
    let out = a.out.unwrap_or_else(|| a.model.join("eval"));
    let rows = eval::evaluate(&mut policy, &tools, &tasks(&a.data)?, &date, 3, &cfg, a.seed, &out)?;
    print!("{}", eval::markdown(&rows));
    println!("wrote {}/table.md, table.csv, trajectories.jsonl", out.display());
    Ok(ExitCode::SUCCESS)
}
