//! `webtape train --env URL` against a `webtape serve` replaying a snapshot: the prompts' "today" is the
//! snapshot's date as the server reports it (not the wall clock), and the run reports where the server took
//! each answer from.
use crate::common::*;
use crate::train_run::{config, world};

#[test]
fn train_over_http_dates_prompts_by_the_servers_snapshot() {
    let tmp = tempdir();
    let dir = tmp.path();
    let (questions, snap) = world(dir, 2);
    // An older capture makes the snapshot's date one that is surely not today.
    let old = response_record("http://127.0.0.1:9/old", "2019-06-01T12:00:00Z", &page("Old", "an old page"));
    let warc = write_file(dir, "old.warc", &old);
    ok(&["snapshot", "import-warc", s(&snap), s(&warc)]);
    let server = ServeProc::start(&["--snapshot", s(&snap)], &[]);
    let (_, health) = http_get(&format!("{}/healthz", server.url));
    let health: serde_json::Value = serde_json::from_slice(&health).unwrap();
    assert_eq!(health["date"], "2019-06-01", "{health}");

    let cfg = config(dir, "remote", &questions, &snap, 1);
    let out = ok(&["train", "--config", s(&cfg), "--env", &server.url, "--set", "train.sft_steps=0"]);
    assert!(
        out.contains(&format!("prompts say today is 2019-06-01: the date of the snapshot {}", server.url)),
        "{out}"
    );
    let line = out
        .lines()
        .find(|l| l.starts_with("tool calls, as the server answered them:"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.ends_with(" 0 live"), "a replaying server answers nothing live: {line}");

    // A date in the config wins over the server's.
    let out = ok(&[
        "train",
        "--config",
        s(&cfg),
        "--env",
        &server.url,
        "--set",
        "train.sft_steps=0",
        "--set",
        "env.date=2026-01-01",
        "--run-dir",
        s(&dir.join("fixed")),
    ]);
    assert!(!out.contains("prompts say today is"), "{out}");
}
