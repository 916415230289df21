//! The subcommands of the `webtape` binary, one module each; each parses flags into one library call.
pub mod digest;
#[cfg(feature = "train")]
pub mod generate;
#[cfg(feature = "train")]
pub mod model;
#[cfg(feature = "train")]
pub mod model_probe;
pub mod proxy;
pub mod record;
pub mod score;
pub mod serve;
pub mod sim;
pub mod snapshot;
#[cfg(feature = "train")]
pub mod train;
pub mod web_args;
