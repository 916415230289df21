//! \[train\] libtorch's deterministic-algorithms switch: what `torch.use_deterministic_algorithms(on, warn_only)`
//! sets in Python, for a process that drives libtorch through tch. Owns nothing else; the model and trainer never
//! read it (it changes which kernels libtorch picks, not what they compute).
//!
//! On a GPU some kernels accumulate with atomic adds (an embedding's gradient, `index_add`, some attention
//! backward passes), so two runs of one seeded step can round differently. [`Determinism::Warn`] keeps the kernels
//! and makes libtorch name each such op on stderr (`… does not have a deterministic implementation …`);
//! [`Determinism::On`] switches to deterministic implementations (an op that has none fails, naming itself) and
//! sets `CUBLAS_WORKSPACE_CONFIG=:4096:8`, without which cuBLAS is not deterministic. tch has no binding for the
//! switch, so it is called through libtorch's exported C++ symbols (`at::globalContext()` and
//! `at::Context::setDeterministicAlgorithms(bool, bool)`, Itanium ABI, libtorch 2.11 as tch 0.24 pins it).
use std::ffi::c_void;

use crate::{Error, Result};

/// The cuBLAS setting libtorch requires for deterministic matrix products on CUDA ≥ 10.2.
pub const CUBLAS_WORKSPACE: &str = ":4096:8";

/// Which kernels libtorch may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Determinism {
    /// libtorch's default: the fastest kernels, some of which are not deterministic on a GPU.
    #[default]
    Off,
    /// The default kernels, and a warning on stderr naming each op that is not deterministic.
    Warn,
    /// Deterministic kernels only (an op without one is an error that names it); sets `CUBLAS_WORKSPACE_CONFIG`.
    On,
}

extern "C" {
    #[link_name = "_ZN2at13globalContextEv"]
    fn at_global_context() -> *mut c_void;
    #[link_name = "_ZN2at7Context26setDeterministicAlgorithmsEbb"]
    fn at_context_set_deterministic_algorithms(context: *mut c_void, on: bool, warn_only: bool);
}

/// Applies `mode` to this process's libtorch. Call it before CUDA is first used: `On` sets
/// `CUBLAS_WORKSPACE_CONFIG` (unless already set), which cuBLAS reads when it starts.
pub fn apply(mode: Determinism) -> Result<()> {
    if mode == Determinism::On {
        match std::env::var("CUBLAS_WORKSPACE_CONFIG") {
            Err(_) => std::env::set_var("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE),
            Ok(v) if v == ":4096:8" || v == ":16:8" => {}
            Ok(v) => {
                return Err(Error::Config(format!(
                    "CUBLAS_WORKSPACE_CONFIG={v}: deterministic kernels need :4096:8 or :16:8 (or leave it unset)"
                )))
            }
        }
    }
    let (on, warn_only) = match mode {
        Determinism::Off => (false, false),
        Determinism::Warn => (true, true),
        Determinism::On => (true, false),
    };
    // SAFETY: both symbols are exported by libtorch_cpu, which the `train` feature links. `globalContext()`
    // returns a reference to a process-wide object that lives until exit; the setter is a non-virtual member
    // function taking (this, bool, bool) and returning nothing, which is this declaration under the x86-64 and
    // AArch64 C++ ABIs. It only stores two flags.
    unsafe {
        let context = at_global_context();
        if context.is_null() {
            return Err(Error::Torch("at::globalContext() returned null".into()));
        }
        at_context_set_deterministic_algorithms(context, on, warn_only);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind, Tensor};

    /// `put_` without accumulation has no deterministic implementation on any device (also on the CPU), so the
    /// switch is seen working: an error under `On`, none under `Warn` or `Off`.
    fn put_works() -> bool {
        let mut target = Tensor::zeros([4], (Kind::Float, Device::Cpu));
        let index = Tensor::from_slice(&[0i64, 0]);
        let values = Tensor::from_slice(&[1f32, 2.0]);
        target.f_put_(&index, &values, false).is_ok()
    }

    #[test]
    fn the_switch_reaches_libtorch() {
        apply(Determinism::On).unwrap();
        let refused = !put_works();
        let uninitialised_is_nan = Tensor::empty([3], (Kind::Float, Device::Cpu)).isnan().all().int64_value(&[]);
        apply(Determinism::Warn).unwrap();
        let warned = put_works();
        apply(Determinism::Off).unwrap();
        assert!(refused, "On refuses an op with no deterministic implementation");
        assert_eq!(uninitialised_is_nan, 1, "On fills uninitialised memory with NaN, as PyTorch documents");
        assert!(warned && put_works(), "Warn and Off let it run");
        assert_eq!(std::env::var("CUBLAS_WORKSPACE_CONFIG").as_deref(), Ok(CUBLAS_WORKSPACE));
    }
}
