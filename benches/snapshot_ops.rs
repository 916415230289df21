//! Lookup and search latency on a ~50k-page snapshot: exact page lookup (`Snapshot::get_page`) and BM25 search
//! (`Snapshot::search`, k = 10, with snippets), as p50/p99 over seeded random inputs. The peer measured in the
//! same run is the floor under each: a bare RocksDB-backed `page_captures` scan for lookups, and a search
//! without snippets for BM25.
//!
//! Uses `bench-out/snap-all` (the whole Rust documentation, made by `scripts/bench_import.sh`) when present,
//! otherwise builds a synthetic 50,000-page snapshot once in `bench-out/snap-synthetic`.
use std::path::Path;
use std::time::Instant;

use webtape::snapshot::{PageCapture, Snapshot, SnapshotWriter};

const SYNTHETIC_PAGES: usize = 50_000;
const SAMPLES: usize = 2_000;

fn main() -> anyhow::Result<()> {
    let real = Path::new("bench-out/snap-all");
    let dir = if real.join("manifest.json").exists() { real.to_path_buf() } else { synthetic()? };
    let snap = Snapshot::open(&dir)?;
    let pages = snap.indexed_pages();
    println!("snapshot {} ({pages} indexed pages)", dir.display());

    let mut rng = Lcg(42);
    let urls = sample_urls(&snap, &mut rng)?;
    let lookups = time_each(&urls, |u| snap.get_page(u, None).map(|p| assert!(p.is_some())))?;
    let scans = time_each(&urls, |u| snap.page_captures(u).map(|c| assert!(!c.is_empty())))?;
    report("exact lookup get_page", &lookups, "target p50 < 50 µs");
    report("peer: page_captures only", &scans, "");

    let queries = make_queries(&snap, &mut rng)?;
    let searches = time_each(&queries, |q| snap.search(q, 10, 200).map(|_| ()))?;
    let bare = time_each(&queries, |q| snap.search(q, 10, 0).map(|_| ()))?;
    report("BM25 search k=10 + snippets", &searches, "target p50 < 5 ms");
    report("peer: BM25 with 0-char snippets", &bare, "");
    Ok(())
}

/// A deterministic 64-bit LCG: the bench's only random source, seeded.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn sample_urls(snap: &Snapshot, rng: &mut Lcg) -> anyhow::Result<Vec<String>> {
    // Words from page titles make queries; URLs come from hits of those queries.
    let mut urls = Vec::new();
    for q in ["std", "vec", "iterator", "string", "error", "trait", "page", "word", "core", "alloc"] {
        for hit in snap.search(q, 400, 0)? {
            urls.push(hit.url);
        }
    }
    anyhow::ensure!(!urls.is_empty(), "the snapshot has no pages");
    Ok((0..SAMPLES).map(|_| urls[rng.next() as usize % urls.len()].clone()).collect())
}

fn make_queries(snap: &Snapshot, rng: &mut Lcg) -> anyhow::Result<Vec<String>> {
    let mut words = Vec::new();
    for hit in snap.search("the", 500, 0)? {
        words.extend(hit.title.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() > 2).map(str::to_lowercase));
    }
    words.sort();
    words.dedup();
    anyhow::ensure!(words.len() > 3, "too few title words for queries");
    Ok((0..SAMPLES / 4)
        .map(|_| (0..3).map(|_| words[rng.next() as usize % words.len()].clone()).collect::<Vec<_>>().join(" "))
        .collect())
}

fn time_each<T>(inputs: &[T], mut op: impl FnMut(&T) -> webtape::Result<()>) -> anyhow::Result<Vec<f64>> {
    for input in inputs.iter().take(50) {
        op(input)?; // warm caches
    }
    let mut micros = Vec::with_capacity(inputs.len());
    for input in inputs {
        let start = Instant::now();
        op(input)?;
        micros.push(start.elapsed().as_secs_f64() * 1e6);
    }
    micros.sort_by(f64::total_cmp);
    Ok(micros)
}

fn report(what: &str, sorted_micros: &[f64], target: &str) {
    let pct = |p: f64| sorted_micros[((sorted_micros.len() - 1) as f64 * p) as usize];
    println!("{what:<34} p50 {:>9.1} µs   p99 {:>9.1} µs   n={}   {target}", pct(0.5), pct(0.99), sorted_micros.len());
}

fn synthetic() -> anyhow::Result<std::path::PathBuf> {
    let dir = Path::new("bench-out/snap-synthetic").to_path_buf();
    if dir.join("manifest.json").exists() {
        return Ok(dir);
    }
    std::fs::create_dir_all("bench-out")?;
    let vocab: Vec<String> = (0..20_000)
        .map(|i| format!("w{}", blake3::hash(&(i as u32).to_le_bytes()).to_hex().get(..6).unwrap_or("")))
        .collect();
    let mut rng = Lcg(7);
    let mut writer = SnapshotWriter::create(&dir)?;
    for i in 0..SYNTHETIC_PAGES {
        let title: Vec<&str> = (0..4).map(|_| vocab[rng.next() as usize % 2000].as_str()).collect();
        let body: Vec<&str> =
            (0..300).map(|_| vocab[(rng.next() as usize % 200).pow(2) % vocab.len()].as_str()).collect();
        let html = format!(
            "<html><head><title>page {}</title></head><body><p>{}</p></body></html>",
            title.join(" "),
            body.join(" ")
        );
        let capture = PageCapture {
            url: format!("https://synthetic.example/page/{i}"),
            final_url: format!("https://synthetic.example/page/{i}"),
            redirects: vec![],
            status: Some(200),
            headers: vec![],
            content_type: Some("text/html".into()),
            body_digest: None,
            body_len: 0,
            truncated: false,
            captured_at: "2026-01-01T00:00:00Z".into(),
            fetch_error: None,
            doc_id: None,
        };
        writer.put_page_capture(capture, Some(html.as_bytes()), "synthetic")?;
    }
    writer.finish()?;
    Ok(dir)
}
