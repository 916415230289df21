//! The agent side of training: what it asks of a policy model ([`generator`]). Depends on no tensor library.
pub mod generator;
