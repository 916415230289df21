//! webtape-train: the only crate with libtorch — the Qwen2-family policy (checkpoints, tokenizer, chat template,
//! batched sampling), SFT, GRPO, evaluation, training configs, and libtorch's status and determinism switches.
pub mod config;
pub mod determinism;
pub mod model;
pub mod torch_info;
pub mod train;

use webtape_agent::agent;
use webtape_core::{data, error, progress};
use webtape_core::{Error, Result};
use webtape_env::{env, recorder};
use webtape_sim::sim;
use webtape_snapshot::snapshot;
use webtape_web::web;

/// libtorch's errors as webtape's: `tensor_op().torch()?`. (The core error type cannot name tch, or every crate
/// would link libtorch.)
pub(crate) trait TorchResult<T> {
    fn torch(self) -> Result<T>;
}

impl<T> TorchResult<T> for std::result::Result<T, tch::TchError> {
    fn torch(self) -> Result<T> {
        self.map_err(|e| Error::Torch(e.to_string()))
    }
}
