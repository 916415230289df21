//! Runs one input through a target and says whether it crashed: a panic anywhere (caught here or on another
//! thread, seen by a process-wide panic hook) or a [`Verdict::Broken`] property. Panics inside the PDF and parquet
//! crates are not counted: `extract_pdf` and `read_questions` catch those on purpose (a page keeps its bytes and
//! gets no text; a damaged parquet file is an error) and the run still has to return.
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, Once};

use webtape::fuzz::{Scratch, Target, Verdict};

/// Crates whose panics webtape catches by design (`extract_pdf`, `data::read_parquet`): not crashes.
const CAUGHT_ON_PURPOSE: [&str; 4] = ["pdf-extract", "pdf_extract", "lopdf", "/parquet-"];

static PANICS: AtomicU64 = AtomicU64::new(0);
/// Whether a [`run`] is in progress: panics outside one (a failing assert) go to the default hook, loudly.
static GUARDING: AtomicBool = AtomicBool::new(false);
static LAST_PANIC: Mutex<String> = Mutex::new(String::new());

/// What one run did.
pub enum Outcome {
    Ok(Verdict),
    Crash(String),
}

/// Installs (once) the hook that counts panics during a [`run`], silently; the message is kept for the report.
pub fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !GUARDING.load(Ordering::SeqCst) {
                return previous(info);
            }
            let location = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
            if CAUGHT_ON_PURPOSE.iter().any(|c| location.contains(c)) {
                return;
            }
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            PANICS.fetch_add(1, Ordering::SeqCst);
            if let Ok(mut last) = LAST_PANIC.lock() {
                *last = format!("panicked at {location}: {message}");
            }
        }));
    });
}

/// Runs `data` through `target`.
pub fn run(target: Target, scratch: &mut Scratch, data: &[u8]) -> Outcome {
    let before = PANICS.load(Ordering::SeqCst);
    GUARDING.store(true, Ordering::SeqCst);
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| target.run(scratch, data)));
    GUARDING.store(false, Ordering::SeqCst);
    let panicked = PANICS.load(Ordering::SeqCst) != before || result.is_err();
    if panicked {
        let last = LAST_PANIC.lock().map(|s| s.clone()).unwrap_or_default();
        return Outcome::Crash(if last.is_empty() { "panicked".into() } else { last });
    }
    match result {
        Ok(Verdict::Broken(why)) => Outcome::Crash(format!("property failed: {why}")),
        Ok(v) => Outcome::Ok(v),
        Err(_) => Outcome::Crash("panicked".into()),
    }
}

/// The repository root (where `fuzz/` lives).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The files of `fuzz/<kind>/<target>/`, sorted by name (none when the folder is missing).
pub fn inputs(kind: &str, target: Target) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = root().join("fuzz").join(kind).join(target.name());
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files.into_iter().filter_map(|p| std::fs::read(&p).ok().map(|d| (p, d))).collect()
}

/// Saves a crashing input as `fuzz/regressions/<target>/<prefix>-<blake3 prefix>`; returns its path.
pub fn save_regression(target: Target, prefix: &str, data: &[u8]) -> PathBuf {
    let dir = root().join("fuzz/regressions").join(target.name());
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{prefix}-{}", &blake3::hash(data).to_hex()[..16]));
    let _ = std::fs::write(&path, data);
    path
}

/// A short relative name for reports.
pub fn short(path: &Path) -> String {
    path.strip_prefix(root()).unwrap_or(path).display().to_string()
}
