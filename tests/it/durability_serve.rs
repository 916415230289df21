//! Serving under faults: damaged SST and index files are named by `verify` and the derived index is rebuilt by
//! `repair`; a snapshot on a read-only filesystem is served by two processes at once; SIGKILL of
//! `serve --mode record` under concurrent load loses no answer a client received (the durability rule in README).
use std::io::BufRead;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::*;

const KEY: &str = "durable-key-7781";

fn corrupt(path: &Path, every: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    for i in (64..bytes.len()).step_by(every) {
        bytes[i] ^= 0xff;
    }
    std::fs::write(path, bytes).unwrap();
}

fn largest(dir: &Path, ext: &str) -> std::path::PathBuf {
    let files = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path());
    files.filter(|p| p.extension().is_some_and(|e| e == ext)).max_by_key(|p| p.metadata().unwrap().len()).unwrap()
}

#[test]
fn damaged_sst_and_index_segment_are_named_and_the_index_rebuilt() {
    let tmp = tempdir();
    let mut warc = Vec::new();
    for i in 0..200u32 {
        let words: String =
            (0..300u32).map(|j| format!("x{} ", &blake3::hash(&(i * 1000 + j).to_le_bytes()).to_hex()[..10])).collect();
        warc.extend(response_record(&format!("https://d.example/{i}"), "2024-01-01T00:00:00Z", &page("D", &words)));
    }
    let good = tmp.path().join("good");
    ok(&["snapshot", "import-warc", s(&good), s(&write_file(tmp.path(), "d.warc", &warc))]);
    let copy = |name: &str| {
        let to = tmp.path().join(name);
        assert!(std::process::Command::new("cp").args(["-a", s(&good), s(&to)]).status().unwrap().success());
        to
    };
    // A damaged SST (database, the primary data): verify names the file; repair refuses, naming it too.
    let sst_snap = copy("sst");
    let sst = largest(&sst_snap.join("db"), "sst");
    corrupt(&sst, 4096);
    let out = run(&["snapshot", "verify", s(&sst_snap)]);
    let name = sst.file_name().unwrap().to_str().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stdout(&out).contains("Corruption") && stdout(&out).contains(name), "{}", stdout(&out));
    let out = run(&["snapshot", "repair", s(&sst_snap)]);
    assert!(!out.status.success() && stderr(&out).contains(name), "{}", stderr(&out));

    // A damaged index segment (derived data): verify names the index; repair rebuilds it from the database.
    let idx_snap = copy("idx");
    corrupt(&largest(&idx_snap.join("index"), "store"), 64);
    let out = run(&["snapshot", "verify", s(&idx_snap)]);
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!out.status.success() && said.contains("snapshot index") && said.contains(".store"), "{said}");
    assert!(ok(&["snapshot", "repair", s(&idx_snap)]).contains("200 pages indexed"));
    assert!(ok(&["snapshot", "verify", s(&idx_snap)]).contains(": ok"));
    assert_eq!(info(&idx_snap, "/manifest/content_digest"), info(&good, "/manifest/content_digest"));
}

/// Starts `webtape serve` on `snap` inside its own mount namespace, where the snapshot folder is a read-only bind
/// mount (a write there fails first, to prove it); returns the child and its URL.
fn serve_read_only(snap: &Path) -> (std::process::Child, String) {
    let d = s(snap);
    let script = format!(
        "mount --bind '{d}' '{d}' && mount -o remount,bind,ro '{d}' && ! touch '{d}/probe' 2>/dev/null && exec \"$W\" serve --port 0 --snapshot '{d}' --miss strict"
    );
    let mut child = std::process::Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", &script])
        .env("W", env!("CARGO_BIN_EXE_webtape"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("unshare runs");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.split_whitespace().find(|w| w.starts_with("http://")).unwrap_or_else(|| panic!("no URL: {line:?}"));
    (child, url.to_string())
}

fn search(url: &str, q: &str) -> Option<Vec<u8>> {
    let (status, body) = post(&format!("{url}/search"), &json!({"q": q}).to_string());
    (status == 200).then_some(body)
}

#[test]
fn read_only_snapshot_is_served_by_two_processes() {
    let tmp = tempdir();
    let (snap, questions) = crate::serve::recorded(tmp.path(), 3);
    let (mut a, url_a) = serve_read_only(&snap);
    let (mut b, url_b) = serve_read_only(&snap);
    for q in &questions {
        let (ra, rb) = (search(&url_a, &q.question), search(&url_b, &q.question));
        assert!(ra.is_some() && ra == rb, "{}", q.question);
    }
    for child in [&mut a, &mut b] {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert!(ok(&["snapshot", "verify", s(&snap)]).contains(": ok"));
}

/// Clients asking `/search` with unique queries until the server dies; returns every (query, answer) received.
/// What one client received: (query, answer body) pairs.
type Received = Vec<(String, Vec<u8>)>;

fn load(url: &str, clients: usize, stop: Arc<Mutex<bool>>) -> Vec<std::thread::JoinHandle<Received>> {
    (0..clients)
        .map(|c| {
            let (url, stop) = (url.to_string(), stop.clone());
            std::thread::spawn(move || {
                let mut got = Vec::new();
                for i in 0.. {
                    if *stop.lock().unwrap() {
                        break;
                    }
                    let q = format!("history of rivers client {c} question {i}");
                    match std::panic::catch_unwind(|| search(&url, &q)) {
                        Ok(Some(body)) => got.push((q, body)),
                        _ => break,
                    }
                }
                got
            })
        })
        .collect()
}

#[test]
fn sigkill_of_serve_record_under_load_keeps_every_answer_given() {
    let tmp = tempdir();
    let sim = SimProc::start(&["--api-key", KEY]);
    let snap = tmp.path().join("rec");
    let args = ["--mode", "record", "--snapshot", s(&snap), "--provider", "serper", "--endpoint", &sim.url];
    let extra = ["--allow-private", "--rate", "none", "--host-rate", "none"];
    let mut rec = ServeProc::start(&[&args[..], &extra[..]].concat(), &[("SERPER_API_KEY", KEY)]);
    let stop = Arc::new(Mutex::new(false));
    let clients = load(&rec.url, 8, stop.clone());
    let start = Instant::now();
    while sim.requests().values().filter_map(|v| v.as_u64()).sum::<u64>() < 60
        && start.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    rec.child.kill().unwrap(); // SIGKILL, mid-load
    rec.child.wait().unwrap();
    *stop.lock().unwrap() = true;
    let answered: Vec<(String, Vec<u8>)> = clients.into_iter().flat_map(|h| h.join().unwrap()).collect();
    assert!(answered.len() >= 40, "load was running when killed: {} answers", answered.len());

    // The rule: a capture is in the database before its answer is sent; repair brings index and manifest along.
    ok(&["snapshot", "repair", s(&snap)]);
    assert!(ok(&["snapshot", "verify", s(&snap)]).contains(": ok"));
    let recorded = info(&snap, "/manifest/counts/search_captures").as_u64().unwrap();
    assert!(recorded >= answered.len() as u64, "{recorded} recorded, {} answered", answered.len());
    drop(sim); // replay alone must give every answer a client got, byte for byte
    let rep = ServeProc::start(&["--snapshot", s(&snap), "--miss", "strict"], &[]);
    for (q, body) in &answered {
        assert_eq!(search(&rep.url, q).as_deref(), Some(body.as_slice()), "{q}: answered before the kill");
    }
    drop(rep);

    // Rerunning the recording on the same folder completes and finishes cleanly.
    let sim = SimProc::start(&["--api-key", KEY]);
    let args = ["--mode", "record", "--snapshot", s(&snap), "--provider", "serper", "--endpoint", &sim.url];
    let rec = ServeProc::start(&[&args[..], &extra[..]].concat(), &[("SERPER_API_KEY", KEY)]);
    assert!(search(&rec.url, "history of rivers after the crash").is_some());
    assert_eq!(search(&rec.url, &answered[0].0).as_deref(), Some(answered[0].1.as_slice()), "kept, not refetched");
    assert!(rec.stop().0);
    assert!(ok(&["snapshot", "verify", s(&snap)]).contains(": ok"));
}
