//! Text analysis for the page index: the tokenizer names a schema can refer to and the analyzers behind them.
//! `webtape` (ranking v1) splits on anything not alphanumeric; `webtape_code_en` (ranking v2) also splits code
//! identifiers (`snake_case`, `CamelCase`, `a::b` paths) into their words while keeping each compound whole, then
//! stems English. Both stay registered so every index is read with the analyzer it was written with. Owns no
//! index state.
use std::cell::RefCell;
use std::collections::HashMap;

use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer, Token, TokenFilter, TokenStream,
    Tokenizer, TokenizerManager,
};

/// Ranking v1's analyzer: words of alphanumeric characters, lowercased and ASCII-folded.
pub(super) const TOKENIZER_V1: &str = "webtape";
/// Ranking v2's analyzer: code-aware words, lowercased, ASCII-folded and stemmed (English).
pub(super) const TOKENIZER_V2: &str = "webtape_code_en";
/// Tokens longer than this (in bytes) are dropped, as in v1.
const MAX_TOKEN_BYTES: usize = 40;
/// Distinct words an analyzer keeps stems of before it starts over.
const STEM_CACHE_WORDS: usize = 1 << 17;

/// Registers every analyzer an index may name.
pub(super) fn register(manager: &TokenizerManager) {
    manager.register(TOKENIZER_V1, v1());
    manager.register(TOKENIZER_V2, v2_words().filter(CachedStemmer).build());
}

fn v1() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

fn v2_words() -> tantivy::tokenizer::TextAnalyzerBuilder<impl Tokenizer> {
    TextAnalyzer::builder(CodeTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
}

/// Ranking v2's analyzer without the stemmer: the query's words, before stopwords are dropped.
pub(super) fn v2_unstemmed() -> TextAnalyzer {
    v2_words().build()
}

/// Words of alphanumeric characters where `_` joins and a case change separates: `split_whitespace` and
/// `SplitWhitespace` both give the whole `splitwhitespace` (first, at the position of its first word, so phrases
/// over the words still line up), then `split`, `whitespace`; `HTTPServer` gives `HTTP`, `Server`; `E0382` and
/// `u32` stay one word.
#[derive(Clone, Default)]
pub struct CodeTokenizer {
    token: Token,
    /// Byte ranges of the words of the current run.
    words: Vec<(usize, usize)>,
}

pub struct CodeTokenStream<'a> {
    text: &'a str,
    /// Byte offset where the next run is looked for.
    cursor: usize,
    token: &'a mut Token,
    words: &'a mut Vec<(usize, usize)>,
    /// Next word of `words` to emit.
    next_word: usize,
    /// Whether the current run's compound is still to be emitted.
    whole_pending: bool,
    /// Position of the next word.
    position: usize,
}

impl Tokenizer for CodeTokenizer {
    type TokenStream<'a> = CodeTokenStream<'a>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> CodeTokenStream<'a> {
        self.token.reset();
        self.words.clear();
        CodeTokenStream {
            text,
            cursor: 0,
            token: &mut self.token,
            words: &mut self.words,
            next_word: 0,
            whole_pending: false,
            position: 0,
        }
    }
}

impl CodeTokenStream<'_> {
    /// Finds the next run of word characters (alphanumeric or `_`) and splits it into `words`; false at the end.
    fn next_run(&mut self) -> bool {
        self.words.clear();
        self.next_word = 0;
        let Some(start) = self.text[self.cursor..].find(char::is_alphanumeric) else {
            self.cursor = self.text.len();
            return false;
        };
        let start = self.cursor + start;
        let end = self.text[start..]
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(self.text.len(), |e| start + e);
        self.cursor = end;
        split_words(&self.text[start..end], start, self.words);
        self.whole_pending = self.words.len() > 1;
        true
    }

    fn emit(&mut self, from: usize, to: usize) {
        self.token.text.clear();
        self.token.offset_from = from;
        self.token.offset_to = to;
        self.token.position = self.position;
        self.token.position_length = 1;
    }
}

impl TokenStream for CodeTokenStream<'_> {
    fn advance(&mut self) -> bool {
        if self.next_word >= self.words.len() && !self.next_run() {
            return false;
        }
        if self.whole_pending {
            self.whole_pending = false;
            self.emit(self.words[0].0, self.words[self.words.len() - 1].1);
            for &(a, b) in self.words.iter() {
                self.token.text.push_str(&self.text[a..b]);
            }
            return true;
        }
        let (from, to) = self.words[self.next_word];
        self.emit(from, to);
        self.token.text.push_str(&self.text[from..to]);
        self.position += 1;
        self.next_word += 1;
        true
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

/// The words of `run` (which starts at byte `base` of the text) as absolute byte ranges.
fn split_words(run: &str, base: usize, words: &mut Vec<(usize, usize)>) {
    let mut start: Option<usize> = None;
    let mut chars = run.char_indices().peekable();
    let mut prev: Option<char> = None;
    while let Some((i, c)) = chars.next() {
        if c == '_' {
            if let Some(s) = start.take() {
                words.push((base + s, base + i));
            }
            prev = None;
            continue;
        }
        let next = chars.peek().map(|&(_, n)| n);
        let boundary = match prev {
            Some(p) => {
                ((p.is_lowercase() || p.is_numeric()) && c.is_uppercase())
                    || (p.is_uppercase() && c.is_uppercase() && next.is_some_and(char::is_lowercase))
            }
            None => false,
        };
        if boundary {
            if let Some(s) = start {
                words.push((base + s, base + i));
            }
            start = Some(i);
        } else if start.is_none() {
            start = Some(i);
        }
        prev = Some(c);
    }
    if let Some(s) = start {
        words.push((base + s, base + run.len()));
    }
}

/// The text ranking v2 indexes as a page's URL path: the path after the host, without a query, fragment or a
/// web page extension (`https://doc.rust-lang.org/std/thread/fn.sleep.html` → `std/thread/fn.sleep`).
pub(super) fn url_path(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
    let path = path.split(['?', '#']).next().unwrap_or("");
    for extension in [".html", ".htm", ".shtml", ".php", ".aspx", ".asp", ".jsp"] {
        if path.len() > extension.len() && path[path.len() - extension.len()..].eq_ignore_ascii_case(extension) {
            return &path[..path.len() - extension.len()];
        }
    }
    path
}

/// Byte offset in `text` of the token at `position` as ranking v2 counts positions (the code tokenizer's; the
/// filters after it keep positions); None past the end.
pub(super) fn offset_of_position(text: &str, position: u32) -> Option<usize> {
    let mut tokenizer = CodeTokenizer::default();
    let mut stream = tokenizer.token_stream(text);
    while stream.advance() {
        if stream.token().position >= position as usize {
            return Some(stream.token().offset_from);
        }
    }
    None
}

/// English Snowball stemming, as tantivy's `Stemmer` filter does it (the same algorithm), with a cache of the words
/// seen: pages repeat their words, and stemming each occurrence was the largest cost of v2's analysis.
#[derive(Clone, Copy)]
struct CachedStemmer;

impl TokenFilter for CachedStemmer {
    type Tokenizer<T: Tokenizer> = CachedStemmerFilter<T>;
    fn transform<T: Tokenizer>(self, tokenizer: T) -> CachedStemmerFilter<T> {
        CachedStemmerFilter { inner: tokenizer }
    }
}

thread_local! {
    /// Word → stem, one cache per thread, so the serving and indexing threads keep theirs warm across analyzer
    /// clones (every query clones its analyzer); stems depend on the word alone, so the cache changes no output.
    static STEMS: RefCell<HashMap<String, String>> = RefCell::new(HashMap::new());
}

#[derive(Clone)]
pub struct CachedStemmerFilter<T> {
    inner: T,
}

impl<T: Tokenizer> Tokenizer for CachedStemmerFilter<T> {
    type TokenStream<'a> = CachedStemmerStream<T::TokenStream<'a>>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        STEMS.with(|cache| {
            let mut cache = cache.borrow_mut();
            if cache.len() > STEM_CACHE_WORDS {
                cache.clear();
            }
        });
        CachedStemmerStream {
            tail: self.inner.token_stream(text),
            stemmer: frostem::Stemmer::new(frostem::Algorithm::English),
        }
    }
}

pub struct CachedStemmerStream<T> {
    tail: T,
    stemmer: frostem::Stemmer,
}

impl<T: TokenStream> TokenStream for CachedStemmerStream<T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        STEMS.with(|cache| {
            let mut cache = cache.borrow_mut();
            match cache.get(&token.text) {
                Some(stem) => {
                    token.text.clear();
                    token.text.push_str(stem);
                }
                None => {
                    let stem = self.stemmer.stem(&token.text).into_owned();
                    let word = std::mem::replace(&mut token.text, stem);
                    cache.insert(word, token.text.clone());
                }
            }
        });
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

/// The largest char boundary of `text` at or before `i`.
pub(super) fn floor_char(text: &str, i: usize) -> usize {
    (0..=i.min(text.len())).rev().find(|&j| text.is_char_boundary(j)).unwrap_or(0)
}

/// `ranges` sorted, overlapping ones merged (v2 highlights a compound and its words, which overlap).
pub(super) fn merge_ranges(ranges: &[std::ops::Range<usize>]) -> Vec<std::ops::Range<usize>> {
    let mut sorted = ranges.to_vec();
    sorted.sort_by_key(|r| (r.start, r.end));
    let mut out: Vec<std::ops::Range<usize>> = Vec::with_capacity(sorted.len());
    for r in sorted {
        match out.last_mut() {
            Some(last) if r.start < last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}
