//! `webtape digest combine`: the run digest of calls spread over several `webtape serve` replicas, from each
//! one's `GET /digest` parts (files, or `-` for one on stdin).
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use webtape::env::DigestParts;

#[derive(clap::Subcommand, Debug)]
pub enum DigestCommand {
    /// Add up the digest parts of several servers (each the JSON of its `GET /digest`, or `GET /digest?since=T`
    /// for one step) into the run digest one server would have printed for all those calls, in any order
    Combine {
        /// Files holding `GET /digest` answers (`-`: read one from stdin)
        #[arg(required = true)]
        parts: Vec<PathBuf>,
        /// Print the combined parts as JSON instead of the digest line
        #[arg(long)]
        json: bool,
    },
}

fn read(path: &PathBuf) -> Result<DigestParts> {
    let text = if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        s
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    let v: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: not JSON (want a GET /digest answer)", path.display()))?;
    DigestParts::from_json(&v).with_context(|| format!("{}", path.display()))
}

pub fn run(cmd: DigestCommand) -> Result<ExitCode> {
    match cmd {
        DigestCommand::Combine { parts, json } => {
            let all = parts.iter().map(read).collect::<Result<Vec<_>>>()?;
            let combined = DigestParts::combine(&all);
            if json {
                println!("{}", combined.to_json());
            } else {
                println!("{} calls; run digest {}", combined.entries, combined.digest());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
