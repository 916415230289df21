//! Tests of `index` (and its analyzers and ranking rules): rankings and scores do not depend on the order pages
//! were indexed in, for every ranking; v1 indexes keep ranking by v1; what v2, v3 and v4 add ranks as it should.
use super::*;
use crate::snapshot::record::PageText;
use crate::snapshot::{analyzer, rank};

const ALL: [Ranking; 4] = [Ranking::V1, Ranking::V2, Ranking::V3, Ranking::V4];

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
fn build(dir: &Path, order: &[usize], batch: usize, ranking: Ranking) -> PageIndex {
    let index = PageIndex::create_with(dir, ranking).unwrap();
    let mut writer = index.writer().unwrap();
    for chunk in order.chunks(batch) {
        for &i in chunk {
            let (surt, title, body) = page(i);
            // Some pages declare a language and some are listings, so v4's weights take part too.
            let lang = [None, Some("de"), Some("en")][i % 3].map(str::to_string);
            let text = if i % 7 == 0 { format!("```\n{body}\n```") } else { body };
            let url = format!("http://sim/wiki/p{i:04}");
            writer.upsert(&surt, surt.as_bytes(), &url, &PageText { title, text, lang }).unwrap();
        }
        writer.commit("x").unwrap();
    }
    writer.finish().unwrap();
    index.reload().unwrap();
    index
}

#[test]
fn scores_and_rankings_do_not_depend_on_indexing_order() {
    for ranking in ALL {
        same_answers_in_any_order(ranking);
    }
}

fn same_answers_in_any_order(ranking: Ranking) {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let forward: Vec<usize> = (0..300).collect();
    let mut shuffled = forward.clone();
    shuffled.sort_by_key(|&i| (i * 7919) % 300);
    let (first, second) = (build(a.path(), &forward, 300, ranking), build(b.path(), &shuffled, 23, ranking));
    assert_eq!((first.ranking(), second.ranking()), (ranking, ranking));
    let mut compared = 0;
    for (i, wi) in WORDS.iter().enumerate() {
        for (j, wj) in WORDS.iter().enumerate() {
            for k in [j, (i + j + 5) % WORDS.len()] {
                let q = format!("{wi} {wj} {}", WORDS[k]);
                let hits = |index: &PageIndex| -> Vec<(String, u32)> {
                    let found = index.search(&index.parse(&q), 5).unwrap();
                    found.into_iter().map(|h| (h.surt, h.score.to_bits())).collect()
                };
                assert_eq!(hits(&first), hits(&second), "{ranking:?} query {q:?}");
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 2 * WORDS.len() * WORDS.len());
}

/// An index (ranking `ranking`) of `pages`: (url, title, body).
fn index_of(dir: &Path, ranking: Ranking, pages: &[(&str, &str, &str)]) -> PageIndex {
    let pages: Vec<_> = pages.iter().map(|&(u, t, b)| (u, t, b, None)).collect();
    index_in_languages(dir, ranking, &pages)
}

/// An index (ranking `ranking`) of `pages`: (url, title, body, declared language).
fn index_in_languages(dir: &Path, ranking: Ranking, pages: &[(&str, &str, &str, Option<&str>)]) -> PageIndex {
    let index = PageIndex::create_with(dir, ranking).unwrap();
    let mut writer = index.writer().unwrap();
    for (url, title, body, lang) in pages {
        let surt = crate::snapshot::surt_key(url).unwrap();
        let text = PageText { title: title.to_string(), text: body.to_string(), lang: lang.map(str::to_string) };
        writer.upsert(&surt, surt.as_bytes(), url, &text).unwrap();
    }
    writer.commit("x").unwrap();
    writer.finish().unwrap();
    index.reload().unwrap();
    index
}

fn urls(index: &PageIndex, query: &str, k: usize) -> Vec<String> {
    index.search(&index.parse(query), k).unwrap().into_iter().map(|h| h.url).collect()
}

/// Filler pages, so that the words of a test are rare (as in a real snapshot) and get a high idf.
fn filler(n: usize) -> Vec<(String, String, String)> {
    (0..n)
        .map(|i| (format!("http://f.test/p{i}"), format!("page {i}"), format!("plain filler text number {i}")))
        .collect()
}

fn with_filler<'a>(
    pages: &[(&'a str, &'a str, &'a str)],
    filler: &'a [(String, String, String)],
) -> Vec<(&'a str, &'a str, &'a str)> {
    let mut all = pages.to_vec();
    all.extend(filler.iter().map(|(u, t, b)| (u.as_str(), t.as_str(), b.as_str())));
    all
}

#[test]
fn code_tokenizer_splits_identifiers_and_keeps_them_whole() {
    let mut analyzer = analyzer::v2_unstemmed();
    let mut stream = analyzer.token_stream("HashMap::contains_key HTTPServer E0382 u32 _x naïve");
    let mut tokens = Vec::new();
    while let Some(t) = stream.next() {
        tokens.push((t.text.clone(), t.position));
    }
    let expected = [
        ("hashmap", 0),
        ("hash", 0),
        ("map", 1),
        ("containskey", 2),
        ("contains", 2),
        ("key", 3),
        ("httpserver", 4),
        ("http", 4),
        ("server", 5),
        ("e0382", 6),
        ("u32", 7),
        ("x", 8),
        ("naive", 9),
    ];
    assert_eq!(tokens, expected.map(|(t, p)| (t.to_string(), p)));
}

#[test]
fn url_path_drops_host_query_and_page_extension() {
    assert_eq!(analyzer::url_path("https://doc.rust-lang.org/std/thread/fn.sleep.html"), "/std/thread/fn.sleep");
    assert_eq!(analyzer::url_path("http://a.test/wiki/Salt_Tower?x=1#top"), "/wiki/Salt_Tower");
    assert_eq!(analyzer::url_path("http://a.test"), "");
}

#[test]
fn v2_finds_identifiers_in_any_spelling_and_word_forms() {
    let dir = tempfile::tempdir().unwrap();
    let fill = filler(40);
    let pages = [
        ("http://a.test/ws", "str", "fn split_whitespace returns an iterator over the words"),
        ("http://a.test/map", "BTreeMap", "An ordered map. Iterates over the keys in sorted order."),
    ];
    let index = index_of(dir.path(), Ranking::V2, &with_filler(&pages, &fill));
    assert_eq!(urls(&index, "SplitWhitespace", 1), ["http://a.test/ws"]);
    assert_eq!(urls(&index, "split whitespace", 1), ["http://a.test/ws"]);
    assert_eq!(urls(&index, "map that keeps its key sorting", 1), ["http://a.test/map"]);
    assert_eq!(urls(&index, "b tree", 1), ["http://a.test/map"], "title words of a CamelCase name");
}

#[test]
fn v2_weights_the_body_above_a_title_that_names_the_query() {
    // The question describes Alda (her page's body) and names the glassworks (another page's title).
    let dir = tempfile::tempdir().unwrap();
    let fill = filler(40);
    let pages = [
        ("http://a.test/bremen", "Bremen", "A town on the river with a harbour."),
        ("http://a.test/alda", "Alda Quist", "Alda Quist was a painter born in Bremen who worked for Salt Glassworks."),
        ("http://a.test/salt", "Salt Glassworks", "A glassworks founded in 1801 near the harbour."),
    ];
    let question = "which painter worked for Salt Glassworks";
    for (ranking, first) in [(Ranking::V1, "http://a.test/salt"), (Ranking::V2, "http://a.test/alda")] {
        let d = dir.path().join(ranking.name());
        std::fs::create_dir(&d).unwrap();
        let index = index_of(&d, ranking, &with_filler(&pages, &fill));
        assert_eq!(urls(&index, question, 1), [first], "{ranking:?}");
    }
}

#[test]
fn v2_ranks_words_in_order_close_together_first() {
    let dir = tempfile::tempdir().unwrap();
    let fill = filler(40);
    let pages = [
        // The same words, in reverse order; without the proximity bonus the SURT key would put `apart` first.
        ("http://a.test/apart", "one", "enough long live not does value borrowed the"),
        ("http://a.test/near", "one", "the borrowed value does not live long enough"),
    ];
    let index = index_of(dir.path(), Ranking::V2, &with_filler(&pages, &fill));
    assert_eq!(
        urls(&index, "borrowed value does not live long enough", 2),
        ["http://a.test/near", "http://a.test/apart"]
    );
}

#[test]
fn v3_shows_one_of_near_duplicate_pages_and_v2_all() {
    let dir = tempfile::tempdir().unwrap();
    let fill = filler(40);
    let swap = "Swaps the values at two mutable locations, without deinitializing either one. If you want to swap \
        with a default or dummy value, see take. If you want to swap with a passed value, returning the old value, \
        see replace. Examples: let mut x = 5; let mut y = 42; swap(&mut x, &mut y); assert_eq!(42, x); assert_eq!(5, \
        y); Stability: this function is stable since Rust 1.0.0 and is const since Rust 1.85.0. Source code for \
        this item is in the mem module of the library, with the other functions that move values between places.";
    let pages = [
        ("http://a.test/core/mem/fn.swap", "swap in core::mem", swap.to_string()),
        ("http://a.test/std/mem/fn.swap", "swap in std::mem", swap.replace("Examples", "Example")),
        (
            "http://a.test/std/mem/fn.replace",
            "replace in std::mem",
            "Moves src into the referenced dest, returning \
            the previous dest value. Neither value is dropped; to swap two values in place, see swap."
                .to_string(),
        ),
    ];
    let pages: Vec<(&str, &str, &str)> = pages.iter().map(|(u, t, b)| (*u, *t, b.as_str())).collect();
    let query = "swap the values of two mutable locations";
    for ranking in [Ranking::V2, Ranking::V3] {
        let d = dir.path().join(ranking.name());
        std::fs::create_dir(&d).unwrap();
        let index = index_of(&d, ranking, &with_filler(&pages, &fill));
        let found = urls(&index, query, 3);
        let copies = found.iter().filter(|u| u.ends_with("fn.swap")).count();
        assert_eq!(copies, if ranking == Ranking::V3 { 1 } else { 2 }, "{ranking:?}: {found:?}");
        assert!(found.contains(&"http://a.test/std/mem/fn.replace".to_string()), "{ranking:?}: {found:?}");
    }
}

#[test]
fn v4_weighs_translations_listings_and_titles_named_by_an_identifier() {
    let dir = tempfile::tempdir().unwrap();
    let fill = filler(40);
    let prose = "The borrowed value does not live long enough: it is dropped while still borrowed.";
    let listing = "```\n// error: borrowed value does not live long enough\nlet r; { let x = 5; r = &x; }\n```";
    let pages = [
        (
            "http://a.test/es/lifetimes",
            "Vida",
            "El valor prestado: borrowed value does not live long enough; vive poco. \
            borrowed value",
            Some("es"),
        ),
        ("http://a.test/src/borrowck.rs", "borrowck.rs", listing, Some("en")),
        ("http://a.test/lifetimes", "Lifetimes", prose, Some("en")),
        ("http://a.test/error/E0597", "E0597", "E0597: a value was dropped while it was still borrowed.", None),
        ("http://a.test/bindings", "Bindings", "A value found in this scope is a binding.", None),
    ];
    let mut all: Vec<_> = pages.to_vec();
    // Every 20th filler page also finds a value in its scope: those words are commoner than the identifier.
    let scoped: Vec<String> = (0..fill.len()).map(|i| format!("{} a value found in its scope", fill[i].2)).collect();
    let body = |i: usize| if i.is_multiple_of(20) { scoped[i].as_str() } else { fill[i].2.as_str() };
    all.extend(fill.iter().enumerate().map(|(i, (u, t, _))| (u.as_str(), t.as_str(), body(i), None)));
    let (v3, v4) = (dir.path().join("v3"), dir.path().join("v4"));
    let index = |d: &Path, r| {
        std::fs::create_dir(d).unwrap();
        index_in_languages(d, r, &all)
    };
    let (v3, v4) = (index(&v3, Ranking::V3), index(&v4, Ranking::V4));
    let query = "borrowed value does not live long enough";
    let first = |i: &PageIndex, q: &str| urls(i, q, 1).remove(0);
    assert_ne!(first(&v3, query), "http://a.test/lifetimes", "v3 ranks a translation or a listing first");
    assert_eq!(first(&v4, query), "http://a.test/lifetimes", "v4: English prose before both");
    assert_eq!(urls(&v4, query, 3).len(), 3, "weighed down, not left out");
    let spanish = "valor prestado vive poco borrowed";
    assert_eq!(first(&v4, &format!("{spanish} ¿qué?")), "http://a.test/es/lifetimes", "a non-ASCII query: no weight");
    let code = "E0597 value found in this scope";
    assert_ne!(first(&v3, code), "http://a.test/error/E0597", "v3: the common words win");
    assert_eq!(first(&v4, code), "http://a.test/error/E0597", "v4: the title the identifier names");
}

#[test]
fn pairs_within_counts_followers_inside_the_window() {
    assert_eq!(rank::pairs_within(&[1, 10, 20], &[2, 15, 40], 4), 1);
    assert_eq!(rank::pairs_within(&[1, 10, 20], &[2, 14, 24], 4), 3);
    assert_eq!(rank::pairs_within(&[5], &[5, 3], 4), 0);
    assert_eq!(rank::pairs_within(&[], &[1], 4), 0);
}

#[test]
fn an_index_keeps_the_ranking_it_was_made_with() {
    let dir = tempfile::tempdir().unwrap();
    for ranking in ALL {
        let d = dir.path().join(ranking.name());
        std::fs::create_dir(&d).unwrap();
        drop(index_of(&d, ranking, &[("http://a.test/", "t", "b")]));
        assert_eq!(PageIndex::open(&d).unwrap().ranking(), ranking);
    }
}

#[test]
fn focus_is_the_stretch_with_the_weightiest_distinct_words() {
    let positions = vec![vec![1, 50, 90], vec![52, 200], vec![91, 93]];
    assert_eq!(rank::focus(&positions, &[1.0, 1.0, 1.0], 8), Some(50), "first of the equal stretches 50.. and 90..");
    assert_eq!(rank::focus(&positions, &[1.0, 0.5, 2.0], 8), Some(90));
    assert_eq!(rank::focus(&[vec![], vec![]], &[1.0, 1.0], 8), None);
}

#[test]
fn v2_snippets_show_the_passage_that_matched_even_deep_in_a_long_page() {
    let dir = tempfile::tempdir().unwrap();
    let long =
        format!("{}\nThe dedup method removes consecutive repeated elements.\n", "filler words here. ".repeat(5000));
    let fill = filler(10);
    for ranking in ALL {
        let d = dir.path().join(ranking.name());
        std::fs::create_dir(&d).unwrap();
        let index = index_of(&d, ranking, &with_filler(&[("http://a.test/vec", "Vec", &long)], &fill));
        let query = index.parse("removes consecutive repeated elements");
        let hits = index.search(&query, 1).unwrap();
        let (snippet, highlights) = index.snippets(&query, &[(&long, hits[0].focus)], 120).unwrap().remove(0);
        match ranking {
            Ranking::V1 => assert!(!snippet.contains("dedup"), "v1 looks at the first 64 KiB: {snippet:?}"),
            Ranking::V2 | Ranking::V3 | Ranking::V4 => {
                assert!(snippet.contains("removes consecutive repeated elements"), "{snippet:?}");
                let marked: Vec<&str> = highlights.iter().map(|r| &snippet[r.clone()]).collect();
                assert_eq!(marked, ["removes", "consecutive", "repeated", "elements"]);
            }
        }
    }
}

#[test]
fn the_cached_stemmer_stems_as_tantivys_stemmer_does() {
    use tantivy::tokenizer::{Language, SimpleTokenizer, Stemmer, TextAnalyzer};
    let text = "Running runs ran easily; the keys sorted, sorting keys again: initialized initialization Running";
    let manager = tantivy::tokenizer::TokenizerManager::new();
    analyzer::register(&manager);
    let mut ours = manager.get(analyzer::TOKENIZER_V2).unwrap();
    let mut theirs = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(tantivy::tokenizer::LowerCaser)
        .filter(Stemmer::new(Language::English))
        .build();
    let tokens = |a: &mut TextAnalyzer| {
        let mut stream = a.token_stream(text);
        let mut out = Vec::new();
        while let Some(t) = stream.next() {
            out.push(t.text.clone());
        }
        out
    };
    let expected = tokens(&mut theirs);
    assert_eq!(tokens(&mut ours), expected);
    assert_eq!(tokens(&mut ours), expected, "again, from the cache");
}
