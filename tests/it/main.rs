//! Integration tests, compiled as one binary: each module is a user story told through the CLI or the public API.
mod arc_import;
mod bad_input;
mod cli;
mod common;
mod corruption;
mod crash;
#[cfg(feature = "train")]
mod demo;
mod durability;
mod durability_serve;
#[cfg(feature = "train")]
mod durability_train;
mod env_rules;
mod faults;
mod fetch;
mod frameworks;
#[cfg(feature = "train")]
mod gpu_check;
#[cfg(feature = "train")]
mod model_chat;
#[cfg(feature = "train")]
mod model_forward;
#[cfg(feature = "train")]
mod model_generate;
#[cfg(feature = "train")]
mod model_init;
#[cfg(feature = "train")]
mod model_pretrain;
#[cfg(feature = "train")]
mod model_weights;
mod proxy;
mod ranking;
mod reader;
mod record;
mod resume;
mod rollout;
mod score;
mod serve;
mod serve_episodes;
mod serve_mcp;
mod serve_reader;
mod serve_replicas;
mod serve_token;
mod serve_tools;
mod side_data;
mod ssrf;
#[cfg(feature = "train")]
mod train_grpo;
#[cfg(feature = "train")]
mod train_learn;
#[cfg(feature = "train")]
mod train_lora;
#[cfg(feature = "train")]
mod train_lora_run;
#[cfg(feature = "train")]
mod train_optim;
#[cfg(feature = "train")]
mod train_remote;
#[cfg(feature = "train")]
mod train_run;
mod warc_roundtrip;
