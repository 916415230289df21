//! Durability under faults: a full disk during import, record and optimize (a small tmpfs in a user+mount
//! namespace), damaged SST and index files, a read-only snapshot served by two processes, and SIGKILL of
//! `serve --mode record` under concurrent load. Each: nothing acknowledged is lost, `verify` passes (after
//! `repair` where the rule says so), and rerunning completes.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::*;

const KEY: &str = "durable-key-7781";

/// Runs `script` in a private mount namespace where `mnt` is a fresh tmpfs of `size` (e.g. `2m`); works without
/// root through a user namespace. `$W` is the webtape binary.
pub fn in_tmpfs(mnt: &Path, size: &str, script: &str) -> Output {
    std::fs::create_dir_all(mnt).unwrap();
    let full = format!("mount -t tmpfs -o size={size} tmpfs '{}' && {script}", s(mnt));
    Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", &full])
        .env("W", env!("CARGO_BIN_EXE_webtape"))
        .output()
        .expect("unshare (util-linux) runs: user and mount namespaces are needed for the disk-full tests")
}

/// A WARC of `n` pages with incompressible words (about 28 KB each).
fn big_warc(dir: &Path, n: usize) -> PathBuf {
    let mut warc = Vec::new();
    for i in 0..n {
        let words: String = (0..1000u32)
            .map(|j| format!("w{} ", &blake3::hash(&(i as u32 * 7919 + j).to_le_bytes()).to_hex()[..12]))
            .collect();
        warc.extend(response_record(
            &format!("https://full.example/{i}"),
            "2024-01-01T00:00:00Z",
            &page(&format!("P{i}"), &words),
        ));
    }
    write_file(dir, "big.warc", &warc)
}

fn assert_disk_full(out: &Output, what: &str) {
    let err = stderr(out);
    assert!(!out.status.success(), "{what} should fail on a full disk: {}", stdout(out));
    assert!(err.contains("No space left on device") && err.contains("the disk is full"), "{what}: {err}");
}

fn verify_ok(snap: &Path) {
    let out = run(&["snapshot", "verify", s(snap)]);
    assert!(out.status.success() && stdout(&out).contains(": ok"), "{}", stdout(&out));
}

/// After a failed writer the data is whole: verify finds only the unfinished writer (stale index and manifest).
fn only_unfinished(snap: &Path) {
    let text = stdout(&run(&["snapshot", "verify", s(snap)]));
    for line in text.lines().filter(|l| l.starts_with("DAMAGED")) {
        assert!(line.starts_with("DAMAGED index:") || line.starts_with("DAMAGED manifest.json:"), "{text}");
    }
}

#[test]
fn disk_full_during_import_and_optimize_loses_nothing() {
    let tmp = tempdir();
    let warc = big_warc(tmp.path(), 300);
    let (mnt, out_dir) = (tmp.path().join("mnt"), tmp.path().join("out"));
    std::fs::create_dir_all(&out_dir).unwrap();
    let script = format!(
        "$W snapshot import-warc {m}/snap '{w}'; rc=$?; cp -a {m}/snap '{o}/'; exit $rc",
        m = s(&mnt),
        w = s(&warc),
        o = s(&out_dir)
    );
    assert_disk_full(&in_tmpfs(&mnt, "3m", &script), "import");
    let snap = out_dir.join("snap");
    only_unfinished(&snap);
    let kept = info(&snap, "/manifest/counts/page_captures").as_u64().unwrap_or(0);
    // Rerun on a larger disk: completes, nothing twice.
    let report = ok(&["snapshot", "import-warc", s(&snap), s(&warc)]);
    assert!(report.starts_with("300 imported") || report.contains("already present"), "{report}");
    assert_eq!(info(&snap, "/manifest/counts/page_captures"), 300, "{report} (had {kept})");
    verify_ok(&snap);

    // optimize with the disk nearly full: a clear error, the copy still whole, and a rerun completes.
    let fill =
        "avail=$(df -k --output=avail \"$M\" | tail -1); head -c $(( (avail - 64) * 1024 )) /dev/zero > \"$M/fill\"";
    let script = format!(
        "cp -a '{snap}' {m}/snap && M={m} && {fill}; $W snapshot optimize {m}/snap; rc=$?; rm -f {m}/fill; rm -rf '{o}/opt'; cp -a {m}/snap '{o}/opt'; exit $rc",
        snap = s(&snap), m = s(&mnt), o = s(&out_dir)
    );
    assert_disk_full(&in_tmpfs(&mnt, "40m", &script), "optimize");
    let opt = out_dir.join("opt");
    only_unfinished(&opt);
    assert!(ok(&["snapshot", "optimize", s(&opt)]).contains("merged into 1"));
    verify_ok(&opt);
    assert_eq!(info(&opt, "/manifest/content_digest"), info(&snap, "/manifest/content_digest"));
}

#[test]
fn disk_full_during_record_loses_nothing() {
    let tmp = tempdir();
    let sim = SimProc::start(&["--api-key", KEY]);
    let queries = sim_questions(tmp.path(), 200);
    let (mnt, out_dir) = (tmp.path().join("mnt"), tmp.path().join("out"));
    std::fs::create_dir_all(&out_dir).unwrap();
    let script = format!(
        "SERPER_API_KEY={KEY} $W record --provider serper --endpoint {u} --queries '{q}' --snapshot {m}/snap --rate none --host-rate none --allow-private --pages-per-query 5; rc=$?; cp -a {m}/snap '{o}/'; exit $rc",
        u = sim.url, q = s(&queries), m = s(&mnt), o = s(&out_dir)
    );
    assert_disk_full(&in_tmpfs(&mnt, "1m", &script), "record");
    let snap = out_dir.join("snap");
    only_unfinished(&snap);
    let summary = record(&sim, "serper", KEY, &queries, &snap, &["--pages-per-query", "5"]);
    let done = summary["recorded"].as_u64().unwrap() + summary["resumed"].as_u64().unwrap();
    assert_eq!(done, 200, "the rerun completes every query: {summary}");
    let kept = summary["resumed"].as_u64().unwrap();
    assert!(
        kept > 0 && kept < 200,
        "the disk filled mid-recording and what was recorded before it was kept: {summary}"
    );
    verify_ok(&snap);
    assert_eq!(info(&snap, "/manifest/counts/search_captures"), 200, "every query recorded once: {summary}");
}
