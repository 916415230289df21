//! The agent: DeepResearcher's prompt and tool-call format, the multi-turn rollout engine over a [`Generator`],
//! tools from an in-process environment or a remote `webtape serve`, and the reward. Depends on no tensor
//! library: the policy comes in through [`generator::Generator`].
//!
//! [`Generator`]: generator::Generator
pub mod expert;
pub mod generator;
pub mod judge;
pub mod parse;
pub mod plans;
pub mod predictions;
pub mod prompt;
pub mod reward;
pub mod rollout;
pub mod tools;

pub use rollout::{rollout, rollout_timed, InvalidAction, RolloutConfig, RolloutTimes, Task, Trajectory, Turn};
pub use tools::{RemoteEnv, Tools};
