//! Integration tests, compiled as one binary: each module is a user story told through the CLI or the public API.
mod bad_input;
mod cli;
mod common;
mod corruption;
mod crash;
mod env_rules;
mod faults;
mod fetch;
mod reader;
mod record;
mod resume;
mod serve;
mod ssrf;
mod warc_roundtrip;
