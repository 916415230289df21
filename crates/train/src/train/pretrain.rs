//! `webtape model pretrain`: a small pretrained base made from seeds alone, no download — what a real run gets
//! from a pretrained checkpoint. Sim worlds (seeds the demo never uses) are served on loopback and recorded
//! through the real recorder; a BPE tokenizer and a random policy are initialised on their text; the scripted
//! expert's trajectories are replayed against the recordings; and the policy is trained on their turn windows,
//! which teaches a small model to copy names, URLs and facts from its context. Same config → same bytes.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::checkpoint::TrainerState;
use super::{GrpoConfig, Trainer};
use crate::agent::plans::{run_expert, Demonstrator};
use crate::agent::{RolloutConfig, Tools, Trajectory};
use crate::config::{DataSection, EnvSection, ModelSection, Schedule, TrainConfig};
use crate::env::Environment;
use crate::error::{Error, Result};
use crate::model::codec::TextCodec;
use crate::model::init::{corpus_from_snapshots, init_model, InitSpec};
use crate::model::policy::{parse_device, Policy, DEFAULT_SHARD_BYTES};
use crate::recorder::RecordConfig;
use crate::sim::{SimConfig, SimServer, World, WorldConfig};
use crate::snapshot::Snapshot;
use crate::web::guard::Resolve;
use crate::web::{FetchConfig, Guard, ProviderKind, RetryPolicy, Searcher};

/// Written into the finished base: how it was made.
pub const STAMP_FILE: &str = "pretrain.json";

/// The sim worlds a base learns from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Worlds {
    /// World seeds; keep them apart from the seeds a base is evaluated on.
    pub seeds: Vec<u64>,
    /// Entities per world.
    pub entities: usize,
    /// Loopback port of the sim web while recording. Page URLs carry it, so a base meant for the demo records on
    /// the demo's port (18088).
    pub port: u16,
    /// Host name search results link to instead of `127.0.0.1:PORT` (e.g. `wiki.sim`), fetched from the loopback
    /// port through the recorder's `resolve`: page URLs then hold no digits. A base meant for the demo uses the
    /// demo's (`HOST` in scripts/demo.sh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// `webtape model pretrain --config FILE`: a TOML file with these sections.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PretrainConfig {
    /// The finished base (model folder) goes here.
    pub out: PathBuf,
    /// Recordings, the initial checkpoint, expert trajectories and the training run.
    pub work_dir: PathBuf,
    /// `cpu` (default; bit-reproducible) or `cuda`.
    #[serde(default = "cpu")]
    pub device: String,
    /// CPU threads libtorch computes with (see `[model] threads` of a training config).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    pub worlds: Worlds,
    /// Tokenizer and model shape.
    pub init: InitSpec,
    /// Environment rules and the prompt date (required, so the base does not depend on the day it was made).
    pub env: EnvSection,
    #[serde(default)]
    pub rollout: RolloutConfig,
    /// Optimizer settings (AdamW betas, grad clip, micro-batch); the learning rate is `train.sft_lr`.
    #[serde(default)]
    pub grpo: GrpoConfig,
    /// The SFT schedule (`sft_steps`, `sft_questions_per_step`, `sft_lr`, warm-up, `sft_sequences`, `seed`).
    pub train: Schedule,
    /// An optional second phase with its own schedule, on a fresh optimizer: e.g. whole episodes after turn
    /// windows, so the base also acts in a full-length context (system prompt, every earlier turn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish: Option<Schedule>,
}

fn cpu() -> String {
    "cpu".into()
}

/// What a pretraining run did.
#[derive(Debug, Clone, Serialize)]
pub struct PretrainReport {
    pub pages: u64,
    pub questions: usize,
    pub trajectories: usize,
    pub parameters: usize,
    pub vocab: usize,
    pub first_loss: f64,
    pub final_loss: f64,
}

impl PretrainConfig {
    /// Reads and checks a config file; errors name the file and the field.
    pub fn from_file(path: &Path) -> Result<PretrainConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let cfg: PretrainConfig =
            toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<()> {
        if self.worlds.seeds.is_empty() {
            return Err(Error::Config("worlds.seeds: give at least one world seed".into()));
        }
        if self.env.date.is_none() {
            return Err(Error::Config("env.date: a pretraining config needs a fixed prompt date (YYYY-MM-DD)".into()));
        }
        for (name, phase) in [("train", Some(&self.train)), ("finish", self.finish.as_ref())] {
            if phase.is_some_and(|p| p.sft_steps == 0 || p.sft_questions_per_step == 0) {
                return Err(Error::Config(format!(
                    "{name}.sft_steps and {name}.sft_questions_per_step must be at least 1"
                )));
            }
        }
        WorldConfig { seed: 0, entities: self.worlds.entities, test_fraction: 0.2 }.validate()?;
        self.init.validate()?;
        self.phase_config("train", &self.train).validate()
    }

    /// One SFT phase as a training config (run folder `work_dir/NAME`).
    fn phase_config(&self, name: &str, schedule: &Schedule) -> TrainConfig {
        TrainConfig {
            run_dir: self.work_dir.join(name),
            model: ModelSection {
                path: self.work_dir.join("init"),
                device: self.device.clone(),
                dtype: None,
                threads: self.threads,
            },
            data: DataSection { train: PathBuf::new(), test: None, sft: None },
            env: EnvSection { snapshot: Some(self.work_dir.clone()), ..self.env.clone() },
            rollout: self.rollout.clone(),
            grpo: GrpoConfig { lr: schedule.sft_lr, ..self.grpo.clone() },
            train: Schedule { steps: 0, ..schedule.clone() },
            init: None,
            lora: None,
        }
    }
}

/// The planned questions of a sim world (all of them: the base never sees the evaluated world).
fn planned(world: &World) -> Vec<crate::sim::Question> {
    let sim = |q: &crate::sim::Question| crate::sim::Question { data_source: Some("sim".into()), ..q.clone() };
    world.questions.iter().map(sim).collect()
}

/// What the demo records of a world: every page title, every expert query and every question.
fn queries(world: &World) -> Vec<crate::data::Question> {
    let mut seen = std::collections::BTreeSet::new();
    let titles = world.pages.iter().map(|p| p.title.clone());
    let asked = world.questions.iter().flat_map(|q| q.expert_queries.iter().cloned().chain([q.question.clone()]));
    titles
        .chain(asked)
        .filter(|q| seen.insert(q.clone()))
        .enumerate()
        .map(|(i, q)| crate::data::Question {
            id: format!("q{i}"),
            question: q,
            answers: Vec::new(),
            data_source: None,
            subject: None,
        })
        .collect()
}

/// Serves world `seed` on the configured port and records it into `work_dir/world-SEED` (resumable).
fn record_world(cfg: &PretrainConfig, seed: u64) -> Result<(PathBuf, World)> {
    let world_cfg = WorldConfig { seed, entities: cfg.worlds.entities, test_fraction: 0.2 };
    let world = World::generate(&world_cfg)?;
    let snapshot = cfg.work_dir.join(format!("world-{seed}"));
    let link_base = cfg.worlds.host.as_ref().map(|h| format!("http://{h}"));
    let sim = SimConfig { world: world_cfg, link_base, ..SimConfig::default() };
    let server = SimServer::start(&sim, SocketAddr::from(([127, 0, 0, 1], cfg.worlds.port))).map_err(|e| {
        Error::Config(format!("pretrain: cannot serve the sim web on port {} ({e}); is it in use?", cfg.worlds.port))
    })?;
    let provider = ProviderKind::Serper.with_key(server.url(), "sim".into());
    let searcher = Searcher::new(provider, Duration::from_secs(30), RetryPolicy::default(), None)?;
    let fetch = FetchConfig {
        host_concurrency: 0,
        host_rate: None,
        guard: Guard { resolve: resolve(cfg), ..Guard::new(true) },
        ..FetchConfig::default()
    };
    let rc = RecordConfig {
        pages_per_query: 3,
        concurrency: 32,
        num_results: cfg.env.rules.search_num,
        fetch,
        progress: false,
        handle_ctrl_c: false,
    };
    crate::recorder::record(&snapshot, &queries(&world), searcher, rc)?;
    drop(server);
    Ok((snapshot, world))
}

/// `host` fetched from the loopback port, when the worlds link to a host name.
fn resolve(cfg: &PretrainConfig) -> Vec<Resolve> {
    let addr = SocketAddr::from(([127, 0, 0, 1], cfg.worlds.port));
    cfg.worlds.host.iter().map(|h| Resolve { host: h.to_ascii_lowercase(), addr }).collect()
}

/// The scripted expert's full-reward trajectories on every world, tokenized by the checkpoint in `init`.
fn expert_data(cfg: &PretrainConfig, worlds: &[(PathBuf, World)], init: &Path) -> Result<Vec<Trajectory>> {
    let codec = TextCodec::from_dir(init)?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| Error::io("tokio runtime", e))?;
    let date = cfg.env.date.clone().unwrap_or_default();
    let mut out = Vec::new();
    for (snapshot, world) in worlds {
        let env = Arc::new(Environment::replay(snapshot, cfg.env.rules.clone(), None)?);
        let tools = Tools::Local(env);
        let (rules, seed) = (&cfg.env.rules, cfg.train.seed);
        let trajs = run_expert(
            &codec,
            &tools,
            &planned(world),
            &date,
            rules.max_queries,
            &cfg.rollout,
            seed,
            &Demonstrator::default(),
            &runtime,
        )?;
        out.extend(trajs.into_iter().filter(|t| t.score.reward >= 1.0));
    }
    Ok(out)
}

/// Builds the base (see the module docs); `say` reports each stage.
pub fn pretrain(cfg: &PretrainConfig, say: &dyn Fn(&str)) -> Result<PretrainReport> {
    cfg.validate()?;
    std::fs::create_dir_all(&cfg.work_dir).map_err(|e| Error::io(&cfg.work_dir, e))?;
    let mut worlds = Vec::new();
    for &seed in &cfg.worlds.seeds {
        say(&format!("recording sim world {seed} ({} entities) on port {}", cfg.worlds.entities, cfg.worlds.port));
        worlds.push(record_world(cfg, seed)?);
    }
    let snapshots = worlds.iter().map(|(dir, _)| Snapshot::open(dir)).collect::<Result<Vec<_>>>()?;
    let pages = snapshots.iter().map(|s| s.indexed_pages()).sum();
    say("training the tokenizer and initialising the policy");
    let init = cfg.work_dir.join("init");
    let snapshot_refs: Vec<&Snapshot> = snapshots.iter().collect();
    let corpus = corpus_from_snapshots(&snapshot_refs, cfg.init.max_corpus_chars, cfg.init.agent_repeats)?;
    init_model(&cfg.init, &corpus, &init)?;
    say("replaying the scripted expert on every world");
    let trajs = expert_data(cfg, &worlds, &init)?;
    let questions = worlds.iter().map(|(_, w)| w.questions.len()).sum();
    let (policy, losses) = train(cfg, &init, &trajs, say)?;
    let report = PretrainReport {
        pages,
        questions,
        trajectories: trajs.len(),
        parameters: policy.var_store().variables().values().map(tch::Tensor::numel).sum(),
        vocab: policy.tokenizer().vocab_size(),
        first_loss: losses.0,
        final_loss: losses.1,
    };
    write_base(cfg, &policy, &report, &trajs)?;
    Ok(report)
}

/// SFT from `init` on the expert data, phase by phase; the policy and its first and last losses.
fn train(cfg: &PretrainConfig, init: &Path, trajs: &[Trajectory], say: &dyn Fn(&str)) -> Result<(Policy, (f64, f64))> {
    if trajs.is_empty() {
        return Err(Error::Config("pretrain: the expert earned the full reward on no question".into()));
    }
    cfg.phase_config("train", &cfg.train).model.apply_threads();
    let mut policy = Policy::load(init, parse_device(&cfg.device)?, None)?;
    let mut losses = Vec::new();
    for (name, schedule) in [("train", Some(&cfg.train)), ("finish", cfg.finish.as_ref())] {
        let Some(schedule) = schedule else { continue };
        say(&format!(
            "{name}: {} steps of {} {:?} from {} expert trajectories",
            schedule.sft_steps,
            schedule.sft_questions_per_step,
            schedule.sft_sequences,
            trajs.len()
        ));
        losses.extend(sft_phase(&cfg.phase_config(name, schedule), &mut policy, trajs)?);
    }
    let (first, last) = (losses.first().copied(), losses.last().copied());
    Ok((policy, (first.unwrap_or(f64::NAN), last.unwrap_or(f64::NAN))))
}

/// One SFT phase on a fresh optimizer; the loss of each step.
fn sft_phase(tc: &TrainConfig, policy: &mut Policy, trajs: &[Trajectory]) -> Result<Vec<f64>> {
    if tc.run_dir.exists() {
        std::fs::remove_dir_all(&tc.run_dir).map_err(|e| Error::io(&tc.run_dir, e))?;
    }
    std::fs::create_dir_all(&tc.run_dir).map_err(|e| Error::io(&tc.run_dir, e))?;
    let mut trainer = Trainer::new(policy, tc.grpo.clone())?;
    let state = TrainerState { seed: tc.train.seed, ..TrainerState::default() };
    let bar = crate::progress::bar(tc.train.sft_steps as u64, "pretrain");
    super::run::run_sft(tc, policy, &mut trainer, trajs, state, &bar)?;
    bar.finish_and_clear();
    let metrics = super::metrics::MetricsLog::read(&tc.run_dir.join("metrics.jsonl"))?;
    Ok(metrics.iter().map(|m| m.loss).collect())
}

/// Writes the base into `cfg.out` through a staging folder (a crash leaves no half base); an `out` that holds
/// something other than an earlier base is refused.
fn write_base(cfg: &PretrainConfig, policy: &Policy, report: &PretrainReport, trajs: &[Trajectory]) -> Result<()> {
    let out = &cfg.out;
    if out.exists() && !out.join(STAMP_FILE).exists() && std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_some()) {
        return Err(Error::Config(format!(
            "{}: not empty and not a pretrained base; choose another out",
            out.display()
        )));
    }
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let name = out.file_name().ok_or_else(|| Error::Config(format!("{} names no folder", out.display())))?;
    let staging = parent.join(format!(".{}.pretrain-tmp", name.to_string_lossy()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
    }
    policy.save(&staging, DEFAULT_SHARD_BYTES)?;
    let mut hasher = blake3::Hasher::new();
    for t in trajs {
        hasher.update(&serde_json::to_vec(t).map_err(|e| Error::json("expert trajectory", e))?);
    }
    let stamp = json!({
        "format": 1,
        "made_by": format!("webtape {} model pretrain", env!("CARGO_PKG_VERSION")),
        "config": cfg,
        "report": report,
        "expert_trajectories_blake3": hasher.finalize().to_hex().to_string(),
    });
    let text = serde_json::to_string_pretty(&stamp).map_err(|e| Error::json("base model stamp", e))? + "\n";
    std::fs::write(staging.join(STAMP_FILE), text).map_err(|e| Error::io(&staging, e))?;
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(|e| Error::io(out, e))?;
    }
    std::fs::rename(&staging, out).map_err(|e| Error::io(out, e))
}
