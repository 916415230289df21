//! [train] What libtorch this build runs on: version, CUDA devices, and a tiny computation proving it loads.
//! Used by `webtape doctor`; the policy model and trainer live in their own modules.

/// A one-paragraph report on libtorch: CUDA availability and device count, and the result of a small matmul.
pub fn describe() -> String {
    let cuda = tch::Cuda::is_available();
    let devices = tch::Cuda::device_count();
    let a = tch::Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0]).reshape([2, 2]);
    let trace = a.matmul(&a).trace().double_value(&[]);
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| "(machine default)".into());
    format!(
        "libtorch: loaded (tch {}), cuda available: {cuda}, cuda devices: {devices}, cudnn: {}, check [[1,2],[3,4]]^2 trace = {trace}\n\
         cpu kernels: ATEN_CPU_CAPABILITY={}, MKL_CBWR={}, intra-op threads {}",
        TCH_VERSION,
        tch::Cuda::cudnn_is_available(),
        var("ATEN_CPU_CAPABILITY"),
        var("MKL_CBWR"),
        tch::get_num_threads()
    )
}

const TCH_VERSION: &str = "0.24";
