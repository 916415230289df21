//! Fuzzing on stable Rust. `cargo test --test fuzz` replays every seed in `fuzz/corpus/<target>/` and every input
//! that ever crashed in `fuzz/regressions/<target>/` through its entry in `webtape::fuzz` (fast; part of
//! `make test`). `make fuzz` runs the ignored `fuzz_for_a_while` driver: seeded mutation of the corpora for
//! `FUZZ_SECONDS` per target (default 600), saving any crashing input as a regression and failing.
mod driver;
mod guard;
mod mutate;

use webtape::fuzz::{Scratch, Target};

/// Runs `f` on a thread with a large stack: deep recursion in a parser should be found, not abort the test.
pub fn on_big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let worker = std::thread::Builder::new().stack_size(256 << 20).spawn(f).expect("spawn the fuzz thread");
    worker.join().expect("the fuzz thread")
}

#[test]
fn every_corpus_and_regression_input_is_handled_without_a_crash() {
    let failures = on_big_stack(|| {
        guard::install_hook();
        let tmp = tempfile::tempdir().expect("temp dir");
        let mut failures = Vec::new();
        for target in Target::ALL {
            let mut scratch = Scratch::new(&tmp.path().join(target.name())).expect("scratch");
            let seeds = guard::inputs("corpus", target);
            assert!(!seeds.is_empty(), "no seed corpus for {}", target.name());
            for (path, data) in seeds.iter().chain(&guard::inputs("regressions", target)) {
                if let guard::Outcome::Crash(why) = guard::run(target, &mut scratch, data) {
                    failures.push(format!("{}: {why}", guard::short(path)));
                }
            }
        }
        failures
    });
    assert!(failures.is_empty(), "inputs that crash:\n{}", failures.join("\n"));
}

#[test]
#[ignore = "long: `make fuzz` (FUZZ_SECONDS per target, FUZZ_SEED, FUZZ_TARGETS)"]
fn fuzz_for_a_while() {
    let summary = on_big_stack(driver::fuzz_all);
    println!("{summary}");
    assert!(!summary.contains("CRASH"), "crashing inputs were saved under fuzz/regressions/");
}
