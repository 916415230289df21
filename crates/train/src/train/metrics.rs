//! Training metrics: one JSON line per step in `metrics.jsonl` (appended, so a resumed run continues the file),
//! and `curves.png` (reward, F1, KL, tool calls per rollout over steps) redrawn as training runs (plotters).
use std::io::Write;
use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::error::{Error, Result};

/// Everything measured in one step that follows from the seed and the data: byte-identical across reruns.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct StepMetrics {
    pub step: usize,
    /// `sft` or `grpo`.
    pub phase: String,
    pub reward_mean: f64,
    pub reward_std: f64,
    pub f1: f64,
    pub em: f64,
    pub format_error_rate: f64,
    pub tool_calls: f64,
    pub response_tokens: f64,
    pub loss: f64,
    pub kl: f64,
    pub entropy: f64,
    pub clip_frac: f64,
    pub grad_norm: f64,
    /// GRPO with `[grpo] sft_coef` > 0: cross-entropy of the expert batch mixed into the step.
    pub sft_loss: f64,
    pub env_exact: u64,
    pub env_bm25: u64,
    pub env_miss: u64,
}

/// Where one step's wall-clock time went (`timing.jsonl`; differs between reruns, so kept apart).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct StepTiming {
    pub step: usize,
    pub phase: String,
    pub seconds: f64,
    pub generate_s: f64,
    pub tools_s: f64,
    pub train_s: f64,
    /// Tokens the policy generated per second of generation.
    pub generated_tokens_per_s: f64,
    /// Tokens (prompt + response) the update processed per second of training.
    pub train_tokens_per_s: f64,
}

/// `metrics.jsonl` and `timing.jsonl` of a run.
pub struct MetricsLog {
    path: PathBuf,
    timing: PathBuf,
}

impl MetricsLog {
    /// The logs in `run_dir`, keeping from an earlier run (resume) only the SFT steps `<= sft_done` and the GRPO
    /// steps `<= grpo_done`: steps a crash left after the last checkpoint are dropped, as they will be redone.
    pub fn open(run_dir: &Path, sft_done: usize, grpo_done: usize) -> Result<MetricsLog> {
        std::fs::create_dir_all(run_dir).map_err(|e| Error::io(run_dir, e))?;
        let log = MetricsLog { path: run_dir.join("metrics.jsonl"), timing: run_dir.join("timing.jsonl") };
        for path in [&log.path, &log.timing] {
            truncate(path, sft_done, grpo_done)?;
        }
        Ok(log)
    }

    /// Every step recorded so far (an absent file is empty).
    pub fn read(path: &Path) -> Result<Vec<StepMetrics>> {
        read_lines(path)
    }

    /// Appends one step to both files.
    pub fn append(&self, m: &StepMetrics, t: &StepTiming) -> Result<()> {
        append_line(&self.path, m)?;
        append_line(&self.timing, t)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn read_lines<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    let Ok(text) = std::fs::read_to_string(path) else { return Ok(Vec::new()) };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| Error::bad_input(format!("{}:{}", path.display(), i + 1), e.to_string()))
        })
        .collect()
}

/// Keeps the lines of steps already checkpointed (a torn last line, from a crash mid-write, is dropped).
fn truncate(path: &Path, sft_done: usize, grpo_done: usize) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(path) else { return Ok(()) };
    let mut kept = String::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let step = v["step"].as_u64().unwrap_or(u64::MAX) as usize;
        let keep = if v["phase"] == "sft" { step <= sft_done } else { step <= grpo_done };
        if keep {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    std::fs::write(path, kept).map_err(|e| Error::io(path, e))
}

fn append_line<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut f = std::fs::OpenOptions::new().append(true).create(true).open(path).map_err(|e| Error::io(path, e))?;
    let line = serde_json::to_string(value).map_err(|e| Error::json("metrics line", e))?;
    writeln!(f, "{line}").map_err(|e| Error::io(path, e))
}

type Series = (&'static str, fn(&StepMetrics) -> f64);

/// Steps in the running mean drawn over each curve.
pub const SMOOTHING: usize = 5;

/// The mean of each point and the up to `window - 1` points before it.
pub fn running_mean(points: &[(f64, f64)], window: usize) -> Vec<(f64, f64)> {
    (0..points.len())
        .map(|i| {
            let part = &points[i.saturating_sub(window.max(1) - 1)..=i];
            (points[i].0, part.iter().map(|p| p.1).sum::<f64>() / part.len() as f64)
        })
        .collect()
}

/// Draws reward, F1, KL and tool calls per rollout against the step into a PNG at `out`: each step's value (thin)
/// and its running mean over the last [`SMOOTHING`] steps (thick), as RL papers plot their curves.
pub fn plot(metrics: &[StepMetrics], out: &Path) -> Result<()> {
    let err = |e: String| Error::Config(format!("plotting {}: {e}", out.display()));
    let root = BitMapBackend::new(out, (1200, 1200)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let panels: [Series; 6] = [
        ("reward (mean)", |m| m.reward_mean),
        ("F1", |m| m.f1),
        ("tool calls per rollout", |m| m.tool_calls),
        ("format errors (share of rollouts)", |m| m.format_error_rate),
        ("KL to reference (0 when kl_coef = 0)", |m| m.kl),
        ("response tokens per rollout", |m| m.response_tokens),
    ];
    for (area, (name, get)) in root.split_evenly((3, 2)).iter().zip(panels) {
        draw_panel(area, metrics, name, get).map_err(err)?;
    }
    root.present().map_err(|e| err(e.to_string()))
}

fn draw_panel(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    metrics: &[StepMetrics],
    name: &str,
    get: fn(&StepMetrics) -> f64,
) -> std::result::Result<(), String> {
    let last = metrics.iter().map(|m| m.step).max().unwrap_or(1).max(1) as f64;
    let values: Vec<f64> = metrics.iter().map(get).filter(|v| v.is_finite()).collect();
    let (lo, hi) = values.iter().fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
    let (lo, hi) = if values.is_empty() {
        (0.0, 1.0)
    } else if hi - lo < 1e-9 {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    };
    let pad = (hi - lo) * 0.05;
    let mut chart = ChartBuilder::on(area)
        .caption(name, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..last, (lo - pad)..(hi + pad))
        .map_err(|e| e.to_string())?;
    chart.configure_mesh().x_desc("step").draw().map_err(|e| e.to_string())?;
    for (phase, color) in [("sft", RGBColor(150, 150, 150)), ("grpo", RGBColor(31, 119, 180))] {
        let points: Vec<(f64, f64)> =
            metrics.iter().filter(|m| m.phase == phase).map(|m| (m.step as f64, get(m))).collect();
        let faint = color.mix(0.35).stroke_width(1);
        chart.draw_series(LineSeries::new(points.iter().copied(), faint)).map_err(|e| e.to_string())?;
        let smooth = running_mean(&points, SMOOTHING);
        chart.draw_series(LineSeries::new(smooth, color.stroke_width(3))).map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::running_mean;

    #[test]
    fn running_mean_covers_the_last_steps_only() {
        let points = [(1.0, 0.0), (2.0, 1.0), (3.0, 2.0), (4.0, 6.0)];
        assert_eq!(running_mean(&points, 2), vec![(1.0, 0.0), (2.0, 0.5), (3.0, 1.5), (4.0, 4.0)]);
        assert_eq!(running_mean(&points, 1), points.to_vec());
        assert!(running_mean(&[], 5).is_empty());
    }
}
