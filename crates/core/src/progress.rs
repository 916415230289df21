//! Progress bars for long work (imports, exports, verification). They draw on stderr only when it is a
//! terminal, so logs and tests stay clean.
use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `len` items with rate and ETA.
pub fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// A bar over `len` bytes.
pub fn bytes_bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {prefix}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// A spinner with a running count, for work of unknown length.
pub fn spinner(what: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{msg:>12} {spinner} {pos} {per_sec}").expect("static template"));
    bar.set_message(what.to_string());
    bar
}
