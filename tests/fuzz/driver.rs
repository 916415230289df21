//! The `make fuzz` driver: for each target, mutate its corpus (and regressions) for `FUZZ_SECONDS`, from a seed
//! printed at the start (`FUZZ_SEED` repeats a run). Inputs that reach a new kind of answer (a new error message,
//! numbers taken out) join the pool, a cheap stand-in for coverage feedback. A crash is saved under
//! `fuzz/regressions/<target>/`; an input that killed the process outright (abort, stack overflow) is left in
//! `target/fuzz-inflight/` and saved as a regression by the next run. An input slower than `FUZZ_SLOW_SECONDS`
//! (default 10) is a hang, saved as `slow-*`. Each target's stream depends only on the seed and the target.
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use webtape::fuzz::{Scratch, Target, Verdict};

use crate::guard::{self, Outcome};
use crate::mutate::{mutate, Rng};

const DEFAULT_SECONDS: u64 = 600;
const DEFAULT_SEED: u64 = 0x5eed_f022;
const MAX_POOL: usize = 4096;
const MAX_SAVED_CRASHES: usize = 20;
/// An input slower than this (`FUZZ_SLOW_SECONDS`) is a hang: saved and counted like a crash.
const DEFAULT_SLOW_SECONDS: u64 = 10;

/// Counts for one target.
#[derive(Default)]
struct Stats {
    execs: u64,
    crashes: u64,
    saved: Vec<String>,
    kinds: usize,
    pool: usize,
    slowest: Duration,
}

fn env_u64(name: &str, default: u64) -> u64 {
    let Ok(v) = std::env::var(name) else { return default };
    let v = v.trim();
    let parsed = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    parsed.unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
}

fn chosen_targets() -> Vec<Target> {
    let Ok(list) = std::env::var("FUZZ_TARGETS") else { return Target::ALL.to_vec() };
    let names: Vec<&str> = list.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    for name in &names {
        assert!(Target::ALL.iter().any(|t| t.name() == *name), "FUZZ_TARGETS: no target {name:?}");
    }
    Target::ALL.into_iter().filter(|t| names.contains(&t.name())).collect()
}

/// Fuzzes every chosen target in turn; returns the summary table (with `CRASH` rows when any crashed).
pub fn fuzz_all() -> String {
    guard::install_hook();
    let seconds = env_u64("FUZZ_SECONDS", DEFAULT_SECONDS);
    let seed = env_u64("FUZZ_SEED", DEFAULT_SEED);
    let targets = chosen_targets();
    println!("fuzz: seed {seed:#x}, {seconds} s per target, {} targets (repeat: FUZZ_SEED={seed:#x})", targets.len());
    let mut out = String::from("target           execs    execs/s  crashes  kinds  pool  slowest\n");
    for target in targets {
        let mut stats = adopt_aborted(target);
        // Each target's stream depends only on the seed and its place in `Target::ALL`, not on what else runs.
        let index = Target::ALL.iter().position(|t| *t == target).unwrap_or(0) as u64;
        fuzz_one(target, Duration::from_secs(seconds), seed ^ index.wrapping_mul(0x9e37_79b9), &mut stats);
        let rate = stats.execs as f64 / seconds.max(1) as f64;
        let _ = writeln!(
            out,
            "{:<15} {:>7} {:>10.0} {:>8}  {:>5} {:>5}  {:>5} ms{}",
            target.name(),
            stats.execs,
            rate,
            stats.crashes,
            stats.kinds,
            stats.pool,
            stats.slowest.as_millis(),
            if stats.crashes > 0 { "  CRASH" } else { "" }
        );
        for path in &stats.saved {
            let _ = writeln!(out, "    saved {path}");
        }
        println!("{}", out.lines().last().unwrap_or(""));
    }
    out
}

/// The in-flight file of `target`: the input being run, removed when the run ends normally.
fn inflight(target: Target) -> std::path::PathBuf {
    guard::root().join("target/fuzz-inflight").join(target.name())
}

/// An input left in flight by a run that died saves as a regression and counts as a crash.
fn adopt_aborted(target: Target) -> Stats {
    let mut stats = Stats::default();
    if let Ok(data) = std::fs::read(inflight(target)) {
        let path = guard::save_regression(target, "abort", &data);
        println!("{}: an earlier run died on {}", target.name(), guard::short(&path));
        stats.crashes += 1;
        stats.saved.push(guard::short(&path));
    }
    stats
}

/// What kind of answer `v` is: its message without digits and quoted parts (which echo the input), cut short.
fn kind_of(v: &Verdict) -> String {
    let (Verdict::Rejected(m) | Verdict::Broken(m)) = v else { return "ok".into() };
    let mut quoted = false;
    let mut kind = String::new();
    for c in m.chars() {
        if c == '"' || c == '`' {
            quoted = !quoted;
        } else if !quoted && !c.is_ascii_digit() {
            kind.push(c);
        }
    }
    kind.chars().take(100).collect()
}

fn fuzz_one(target: Target, budget: Duration, seed: u64, stats: &mut Stats) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut scratch = Scratch::new(tmp.path()).expect("scratch");
    let mut pool: Vec<Vec<u8>> = guard::inputs("corpus", target).into_iter().map(|(_, d)| d).collect();
    pool.extend(guard::inputs("regressions", target).into_iter().map(|(_, d)| d));
    if pool.is_empty() {
        pool.push(Vec::new());
    }
    let inflight = inflight(target);
    let _ = std::fs::create_dir_all(inflight.parent().expect("in-flight folder"));
    let mut rng = Rng::new(seed);
    let (mut kinds, mut crash_kinds) = (BTreeSet::new(), BTreeSet::new());
    let start = Instant::now();
    let mut next_note = Duration::from_secs(30);
    let slow = Duration::from_secs(env_u64("FUZZ_SLOW_SECONDS", DEFAULT_SLOW_SECONDS));
    while start.elapsed() < budget {
        let input = if (stats.execs as usize) < pool.len() {
            pool[stats.execs as usize].clone()
        } else {
            let (a, b) = (rng.below(pool.len()), rng.below(pool.len()));
            mutate(&mut rng, &pool[a], &pool[b])
        };
        let _ = std::fs::write(&inflight, &input);
        let t0 = Instant::now();
        let mut outcome = guard::run(target, &mut scratch, &input);
        let took = t0.elapsed();
        stats.slowest = stats.slowest.max(took);
        stats.execs += 1;
        if took > slow {
            outcome = Outcome::Crash(format!("hang: one input took {} ms", took.as_millis()));
        }
        match outcome {
            Outcome::Crash(why) => {
                stats.crashes += 1;
                let kind: String = why.chars().filter(|c| !c.is_ascii_digit()).take(120).collect();
                if crash_kinds.insert(kind) && stats.saved.len() < MAX_SAVED_CRASHES {
                    let prefix = if why.starts_with("hang:") { "slow" } else { "crash" };
                    let path = guard::save_regression(target, prefix, &input);
                    println!("{}: CRASH {why}\n    saved {}", target.name(), guard::short(&path));
                    stats.saved.push(guard::short(&path));
                }
            }
            Outcome::Ok(v) => {
                if kinds.insert(kind_of(&v)) && pool.len() < MAX_POOL {
                    pool.push(input);
                }
            }
        }
        if start.elapsed() > next_note {
            println!("{}: {} execs, {} crashes, {} kinds", target.name(), stats.execs, stats.crashes, kinds.len());
            next_note += Duration::from_secs(30);
        }
    }
    let _ = std::fs::remove_file(&inflight);
    stats.kinds = kinds.len();
    stats.pool = pool.len();
}
