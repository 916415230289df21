//! Our AdamW (decoupled weight decay and bias correction exactly as `torch.optim.AdamW`), global L2
//! gradient-norm clipping as `torch.nn.utils.clip_grad_norm_`, and optimizer state saved to / loaded from a
//! safetensors file by variable name, so a resumed run continues bit for bit.
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use safetensors::SafeTensors;

/// The metadata key of an optimizer state file (its value: the update count of every parameter, as JSON).
const FORMAT: &str = "webtape-adamw-1";
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use crate::model::weights::{kind_of, TensorView};
use crate::TorchResult;
use crate::{Error, Result};

/// AdamW hyper-parameters (`torch.optim.AdamW` names).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWConfig {
    pub lr: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    pub weight_decay: f64,
}

impl AdamWConfig {
    pub fn validate(&self) -> Result<()> {
        let (b1, b2) = self.betas;
        let ok = self.lr >= 0.0
            && self.lr.is_finite()
            && (0.0..1.0).contains(&b1)
            && (0.0..1.0).contains(&b2)
            && self.eps >= 0.0
            && self.weight_decay >= 0.0
            && self.weight_decay.is_finite();
        if !ok {
            return Err(Error::Config(format!("invalid AdamW settings {self:?}")));
        }
        Ok(())
    }
}

/// Per-parameter state, as `torch.optim.AdamW` keeps it.
#[derive(Debug)]
struct ParamState {
    step: u64,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
}

/// AdamW over named parameters; state is created on a parameter's first update (in its dtype and device).
#[derive(Debug)]
pub struct AdamW {
    pub config: AdamWConfig,
    state: BTreeMap<String, ParamState>,
}

/// The trainable variables of `vs` (those that require grad), sorted by name.
pub fn trainable_params(vs: &VarStore) -> Vec<(String, Tensor)> {
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().filter(|(_, t)| t.requires_grad()).collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars
}

/// Zeroes the gradients of `params` (undefined ones stay undefined).
pub fn zero_grads(params: &[(String, Tensor)]) {
    for (_, p) in params {
        p.shallow_clone().zero_grad();
    }
}

/// Scales all gradients so their global L2 norm is at most `max_norm` (`clip_grad_norm_`: coefficient
/// `max_norm / (norm + 1e-6)` clamped to 1, applied always). Returns the norm before clipping; when it is
/// not finite the gradients are left alone.
pub fn clip_grad_norm(params: &[(String, Tensor)], max_norm: f64) -> Result<f64> {
    let grads: Vec<Tensor> = params.iter().map(|(_, p)| p.grad()).filter(Tensor::defined).collect();
    if grads.is_empty() {
        return Ok(0.0);
    }
    tch::no_grad(|| {
        let norms: Vec<Tensor> = grads.iter().map(|g| g.to_kind(Kind::Float).norm()).collect();
        let total = Tensor::stack(&norms, 0).norm();
        let norm = total.to_device(Device::Cpu).f_double_value(&[]).torch()?;
        if !norm.is_finite() {
            return Ok(norm);
        }
        let coef = (max_norm / (total + 1e-6)).clamp_max(1.0);
        for g in &grads {
            let _ = g.shallow_clone().f_mul_(&coef).torch()?;
        }
        Ok(norm)
    })
}

impl AdamW {
    pub fn new(config: AdamWConfig) -> Result<Self> {
        config.validate()?;
        Ok(AdamW { config, state: BTreeMap::new() })
    }

    /// Most updates any parameter has had.
    pub fn steps(&self) -> u64 {
        self.state.values().map(|s| s.step).max().unwrap_or(0)
    }

    /// One update of every parameter that has a gradient (those without one are skipped, as in PyTorch).
    pub fn step(&mut self, params: &[(String, Tensor)]) -> Result<()> {
        tch::no_grad(|| {
            for (name, p) in params {
                let g = p.grad();
                if g.defined() {
                    self.update(name, p, &g)?;
                }
            }
            Ok(())
        })
    }

    fn update(&mut self, name: &str, p: &Tensor, g: &Tensor) -> Result<()> {
        let AdamWConfig { lr, betas: (b1, b2), eps, weight_decay } = self.config;
        let st = self.state.entry(name.to_string()).or_insert_with(|| ParamState {
            step: 0,
            exp_avg: p.zeros_like(),
            exp_avg_sq: p.zeros_like(),
        });
        if st.exp_avg.size() != p.size() || st.exp_avg.kind() != p.kind() {
            return Err(Error::Config(format!("optimizer state of {name:?} does not fit the parameter")));
        }
        st.step += 1;
        let step = st.step as f64;
        let mut p = p.shallow_clone();
        let _ = p.f_mul_scalar_(1.0 - lr * weight_decay).torch()?;
        let _ = st.exp_avg.f_lerp_(g, 1.0 - b1).torch()?;
        let _ = st.exp_avg_sq.f_mul_scalar_(b2).torch()?;
        let _ = st.exp_avg_sq.f_addcmul_(&(g * (1.0 - b2)), g).torch()?;
        let step_size = lr / (1.0 - b1.powf(step));
        let bias_correction2_sqrt = (1.0 - b2.powf(step)).sqrt();
        let denom = st.exp_avg_sq.sqrt() / bias_correction2_sqrt + eps;
        let _ = p.f_addcdiv_(&(&st.exp_avg * -step_size), &denom).torch()?;
        Ok(())
    }

    /// Writes the state to `path` (safetensors: `<name>.exp_avg`, `<name>.exp_avg_sq`; steps in the metadata
    /// under the one key `webtape-adamw-1`: one key, because safetensors writes its metadata map in hash order,
    /// and the file must be byte-identical across reruns).
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut views = Vec::with_capacity(2 * self.state.len());
        let mut steps = BTreeMap::new();
        for (name, st) in &self.state {
            views.push((format!("{name}.exp_avg"), TensorView::new(&st.exp_avg)?));
            views.push((format!("{name}.exp_avg_sq"), TensorView::new(&st.exp_avg_sq)?));
            steps.insert(name.clone(), st.step);
        }
        let steps = serde_json::to_string(&steps).map_err(|e| Error::json("optimizer steps", e))?;
        let metadata = HashMap::from([(FORMAT.to_string(), steps)]);
        safetensors::serialize_to_file(views, Some(metadata), path).map_err(|e| Error::checkpoint(path, e.to_string()))
    }

    /// Replaces the state with the one saved at `path`, checked against `params` (names, shapes, dtypes) and
    /// placed on their devices.
    pub fn load(&mut self, path: &Path, params: &[(String, Tensor)]) -> Result<()> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let bad = |msg: String| Error::checkpoint(path, msg);
        let (_, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| bad(e.to_string()))?;
        let meta = meta.metadata().clone().unwrap_or_default();
        let Some(steps) = meta.get(FORMAT) else {
            return Err(bad(format!("not a webtape optimizer state (no {FORMAT} metadata)")));
        };
        let steps: BTreeMap<String, u64> =
            serde_json::from_str(steps).map_err(|e| bad(format!("bad steps metadata: {e}")))?;
        let st = SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
        let by_name: HashMap<&str, &Tensor> = params.iter().map(|(n, t)| (n.as_str(), t)).collect();
        let mut state = BTreeMap::new();
        for (name, &step) in &steps {
            let p = by_name.get(name.as_str()).ok_or_else(|| bad(format!("state for unknown parameter {name:?}")))?;
            let read = |suffix: &str| -> Result<Tensor> {
                let key = format!("{name}.{suffix}");
                let view = st.tensor(&key).map_err(|e| bad(format!("{key}: {e}")))?;
                let kind = kind_of(view.dtype()).ok_or_else(|| bad(format!("{key}: unsupported dtype")))?;
                let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
                if shape != p.size() || kind != p.kind() {
                    return Err(bad(format!("{key}: {kind:?} {shape:?} does not fit the parameter")));
                }
                Ok(Tensor::f_from_data_size(view.data(), &shape, kind).torch()?.to_device(p.device()))
            };
            state.insert(name.clone(), ParamState { step, exp_avg: read("exp_avg")?, exp_avg_sq: read("exp_avg_sq")? });
        }
        self.state = state;
        Ok(())
    }
}
