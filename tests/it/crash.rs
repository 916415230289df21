//! A writer killed with SIGKILL in the middle of an import leaves only whole captures: after reopening (which
//! rebuilds the index) `verify` passes, and importing again completes the set without duplicates.
use std::time::{Duration, Instant};

use crate::common::*;

#[test]
fn sigkill_mid_import_leaves_whole_captures() {
    let tmp = tempdir();
    let total = 6000;
    let mut warc = Vec::new();
    for i in 0..total {
        let text = format!("page number {i} with some words {}", "filler text ".repeat(150));
        warc.extend_from_slice(&response_record(
            &format!("https://crash.example/p/{i}"),
            "2024-03-01T12:00:00Z",
            &page(&format!("Page {i}"), &text),
        ));
    }
    let input = write_file(tmp.path(), "big.warc", &warc);
    let snap = tmp.path().join("snap");
    ok(&["snapshot", "create", s(&snap)]);

    let mut child = webtape().args(["snapshot", "import-warc", s(&snap), s(&input)]).spawn().unwrap();
    // Kill once the database has taken some writes, well before the import can finish.
    let start = Instant::now();
    loop {
        let written: u64 =
            std::fs::read_dir(snap.join("db")).unwrap().flatten().map(|e| e.metadata().map_or(0, |m| m.len())).sum();
        if written > 2 << 20 || start.elapsed() > Duration::from_secs(60) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    assert!(!child.wait().unwrap().success(), "the import was still running when killed");

    let repaired = ok(&["snapshot", "repair", s(&snap)]);
    let captures = info(&snap, "/manifest/counts/page_captures").as_u64().unwrap();
    assert!(captures > 0 && captures < total, "killed mid-run: {captures} of {total} captures ({repaired})");
    assert_eq!(info(&snap, "/indexed_pages").as_u64().unwrap(), captures);
    assert!(ok(&["snapshot", "verify", s(&snap)]).contains(": ok"));

    // The same command again: nothing recorded twice, nothing lost.
    let out = ok(&["snapshot", "import-warc", s(&snap), s(&input)]);
    assert!(
        out.contains(&format!("{} imported", total - captures)) && out.contains(&format!("{captures} already present")),
        "{out}"
    );
    assert_eq!(info(&snap, "/manifest/counts/page_captures").as_u64().unwrap(), total);
    assert!(ok(&["snapshot", "verify", s(&snap)]).contains(": ok"));
}
