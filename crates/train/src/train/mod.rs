//! \[train\] The training-step math: batches of rollout sequences, per-token log-probs under the policy,
//! GRPO's clipped policy loss with a low-variance KL to a frozen reference, supervised warm-start steps,
//! our own AdamW with resumable state, and the loop around them: rollouts, checkpoints, metrics, evaluation.
//!
//! | module | owns |
//! |---|---|
//! | [`batch`] | [`batch::Sequence`] / [`batch::TrainBatch`] (plain data), [`batch::group_advantages`] |
//! | [`logprobs`] | packing sequences into tensors; log-probs and entropy of given tokens |
//! | [`optim`] | AdamW (decoupled decay, bias correction), gradient-norm clipping, state on disk |
//! | [`grpo`] | [`grpo::GrpoConfig`], [`grpo::grpo_loss`], [`grpo::StepStats`] |
//! | [`trainer`] | [`trainer::Trainer`]: reference model, micro-batched GRPO and SFT steps |
//! | [`run`] | the training loop (rollouts → advantages → GRPO step), SFT warm start, data order |
//! | [`session`] | a whole run: start point or `--resume`, SFT then GRPO, the config digest |
//! | [`checkpoint`] | run folders: weights + optimizer + run state, `latest` |
//! | [`metrics`] | `metrics.jsonl` and `curves.png` |
//! | [`eval`] | per-dataset F1 / EM tables and saved trajectories |
//! | [`pretrain`] | `model pretrain`: a small base from recorded sim worlds and the expert's turn windows |
//! | [`digits`] | SFT data: digits outside URLs permuted per sequence, so numbers are copied, not recalled |
//! | [`windows`] | SFT data: whole expert episodes or one short turn window per policy turn |
pub mod batch;
pub mod checkpoint;
pub mod digits;
pub mod eval;
pub mod grpo;
pub mod logprobs;
pub mod metrics;
pub mod optim;
pub mod pretrain;
pub mod run;
pub mod session;
pub mod trainer;
pub mod windows;

pub use batch::{group_advantages, Sequence, TrainBatch};
pub use grpo::{grpo_loss, GrpoConfig, LossParts, StepStats};
pub use optim::{AdamW, AdamWConfig};
pub use trainer::Trainer;
