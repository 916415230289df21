//! Tests of `index`: BM25 rankings and scores do not depend on the order pages were indexed in.
use super::*;

const WORDS: [&str; 12] =
    ["mining", "company", "river", "castle", "album", "founder", "north", "harbour", "glass", "opera", "tower", "salt"];

/// Page `i` of a seeded synthetic set: a title and a body of common words with uneven frequencies.
fn page(i: usize) -> (String, String, String) {
    let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut words = Vec::new();
    for _ in 0..(20 + i % 37) {
        x ^= x >> 29;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        words.push(WORDS[(x % 97 % WORDS.len() as u64) as usize]);
    }
    (format!("com,sim)/wiki/p{i:04}"), format!("{} {}", words[0], words[1]), words.join(" "))
}

/// An index of `order`'s pages, committed every `batch` pages (so a different segment layout per order).
fn build(dir: &Path, order: &[usize], batch: usize) -> PageIndex {
    let index = PageIndex::create(dir).unwrap();
    let mut writer = index.writer().unwrap();
    for chunk in order.chunks(batch) {
        for &i in chunk {
            let (surt, title, body) = page(i);
            writer.upsert(&surt, surt.as_bytes(), &format!("http://sim/wiki/p{i:04}"), &title, &body).unwrap();
        }
        writer.commit("x").unwrap();
    }
    writer.finish().unwrap();
    index.reload().unwrap();
    index
}

#[test]
fn scores_and_rankings_do_not_depend_on_indexing_order() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let forward: Vec<usize> = (0..300).collect();
    let mut shuffled = forward.clone();
    shuffled.sort_by_key(|&i| (i * 7919) % 300);
    let (first, second) = (build(a.path(), &forward, 300), build(b.path(), &shuffled, 23));
    let mut compared = 0;
    for (i, wi) in WORDS.iter().enumerate() {
        for (j, wj) in WORDS.iter().enumerate() {
            for k in [j, (i + j + 5) % WORDS.len()] {
                let q = format!("{wi} {wj} {}", WORDS[k]);
                let hits = |index: &PageIndex| -> Vec<(String, u32)> {
                    let found = index.search(&index.parse(&q), 5).unwrap();
                    found.into_iter().map(|h| (h.surt, h.score.to_bits())).collect()
                };
                assert_eq!(hits(&first), hits(&second), "query {q:?}");
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 2 * WORDS.len() * WORDS.len());
}
