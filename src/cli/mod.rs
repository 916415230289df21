//! The subcommands of the `webtape` binary, one module each; each parses flags into one library call.
pub mod record;
pub mod sim;
pub mod snapshot;
