//! What an import did, as counts a user can read: `N imported, M skipped (reasons)`.
use std::collections::BTreeMap;
use std::fmt;

/// How many skip details are kept verbatim (the rest are only counted).
const MAX_EXAMPLES: usize = 20;

/// The outcome of an import (WARC or JSONL).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub files: u64,
    /// Files that could not be read at all, with the reason.
    pub failed_files: Vec<(String, String)>,
    /// Records (or lines) read.
    pub records: u64,
    pub imported: u64,
    /// Identical captures already in the snapshot.
    pub duplicates: u64,
    /// Records passed over on purpose, by kind (WARC request, metadata, warcinfo ...).
    pub ignored: BTreeMap<String, u64>,
    /// Malformed input skipped, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// The first few skips, with file and position.
    pub skip_examples: Vec<String>,
    /// Records kept although something in them was wrong (a wrong length, a broken chunked body), by reason.
    pub warnings: BTreeMap<String, u64>,
    /// The first few warnings, with file and position.
    pub warning_examples: Vec<String>,
}

impl ImportReport {
    /// Counts one skipped record at `position` of `source`.
    pub fn skip(&mut self, source: &str, position: u64, reason: &str) {
        *self.skipped.entry(reason_class(reason)).or_default() += 1;
        if self.skip_examples.len() < MAX_EXAMPLES {
            self.skip_examples.push(format!("{source} at {position}: {reason}"));
        }
    }

    /// Counts one record kept with a warning at `position` of `source`.
    pub fn warn(&mut self, source: &str, position: u64, reason: &str) {
        *self.warnings.entry(reason_class(reason)).or_default() += 1;
        if self.warning_examples.len() < MAX_EXAMPLES {
            self.warning_examples.push(format!("{source} at {position}: {reason}"));
        }
    }

    /// Total of skipped records.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

/// A reason with its numbers taken out, so that like skips are counted together.
fn reason_class(reason: &str) -> String {
    let head = reason.split(": ").next().unwrap_or(reason);
    let mut out = String::with_capacity(head.len());
    let mut in_digits = false;
    for c in head.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('N');
            }
            in_digits = true;
        } else {
            out.push(c);
            in_digits = false;
        }
    }
    out
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} imported, {} skipped", self.imported, self.skipped_total())?;
        if !self.skipped.is_empty() {
            let reasons: Vec<String> = self.skipped.iter().map(|(r, n)| format!("{n} {r}")).collect();
            write!(f, " ({})", reasons.join("; "))?;
        }
        if !self.warnings.is_empty() {
            let n: u64 = self.warnings.values().sum();
            let reasons: Vec<String> = self.warnings.iter().map(|(r, n)| format!("{n} {r}")).collect();
            write!(f, ", {n} kept with warnings ({})", reasons.join("; "))?;
        }
        if self.duplicates > 0 {
            write!(f, ", {} already present", self.duplicates)?;
        }
        if !self.ignored.is_empty() {
            let kinds: Vec<String> = self.ignored.iter().map(|(k, n)| format!("{n} {k}")).collect();
            write!(f, ", not pages: {}", kinds.join(", "))?;
        }
        for (file, reason) in &self.failed_files {
            write!(f, "\nfailed: {file}: {reason}")?;
        }
        Ok(())
    }
}
