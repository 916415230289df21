// Build script: the workspace root's (../../build.rs), so this crate's test binaries find libtorch too.
include!("../../build.rs");
