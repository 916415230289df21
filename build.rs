// Build script: with the `train` feature, lets the binaries find libtorch at run time (rpath to the pip
// PyTorch's `torch/lib`) and keeps `libtorch_cuda.so` linked so CUDA is usable when present.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") else { return };
    println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    if std::path::Path::new(&dir).join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-L{dir},-ltorch_cuda,-ltorch,--as-needed");
    }
}
