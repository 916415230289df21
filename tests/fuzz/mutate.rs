//! A seeded, deterministic byte mutator in the spirit of AFL's havoc stage (no coverage instrumentation: stable
//! Rust and an uninstrumented RocksDB): bit flips, interesting bytes and numbers, deletions, repeated chunks,
//! dictionary tokens, truncation and splicing of two corpus inputs.

/// Inputs are kept below this many bytes.
const MAX_LEN: usize = 1 << 20;

/// Tokens the parsers care about, inserted whole.
const TOKENS: &[&[u8]] = &[
    b"\r\n",
    b"\n",
    b"\r\n\r\n",
    b"WARC/1.0\r\n",
    b"WARC/1.1\r\n",
    b"Content-Length: ",
    b"Content-Length: 0\r\n",
    b"WARC-Type: response\r\n",
    b"WARC-Type: revisit\r\n",
    b"WARC-Target-URI: ",
    b"WARC-Date: ",
    b"Content-Type: application/http; msgtype=response\r\n",
    b"HTTP/1.1 200 OK\r\n",
    b"Transfer-Encoding: chunked\r\n",
    b"Content-Encoding: gzip\r\n",
    b"Content-Encoding: br\r\n",
    b"Content-Encoding: deflate\r\n",
    b"\x1f\x8b\x08\x00",
    b"filedesc://",
    b" 0\n",
    b"<meta charset=",
    b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=",
    b"shift_jis",
    b"utf-16le",
    b"iso-2022-jp",
    b"x-user-defined",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"<title>",
    b"</title>",
    b"<h1>",
    b"<main>",
    b"<article>",
    b"<script>",
    b"<!--",
    b"-->",
    b"<![CDATA[",
    b"&#x10FFFF;",
    b"&amp",
    b"%PDF-1.4\n",
    b" obj\n",
    b"endobj\n",
    b"stream\n",
    b"endstream\n",
    b"xref\n",
    b"trailer\n",
    b"/Length ",
    b"/FlateDecode",
    b"/Type /Page",
    b"<<",
    b">>",
    b"<think>",
    b"</think>",
    b"<tool_call>",
    b"</tool_call>",
    b"<answer>",
    b"</answer>",
    b"\"name\":",
    b"\"arguments\":",
    b"web_search",
    b"browse_webpage",
    b"\"query\":",
    b"\"url_list\":",
    b"http://",
    b"https://",
    b"[::1]",
    b"xn--",
    b"%00",
    b"%zz",
    b"%25",
    b"@",
    b":65536",
    b"#",
    b"?",
    b"&",
    b"=",
    b"www.",
    b"..",
    b"\"q\":",
    b"\"num\":",
    b"\"page\":",
    b"\"gl\":",
    b"\"hl\":",
    b"\"queries\":",
    b"\"topk\":",
    b"\"url\":",
    b"null",
    b"true",
    b"[]",
    b"{}",
    b"\"\\ud800\"",
    b"\"\\u0000\"",
    b"[[train]]",
    b"[env.rules]",
    b"=\"",
    b"\"organic\":",
    b"\"results\":",
    b"\"web\":",
    b"\"link\":",
    b"POST /retrieve HTTP/1.1\r\n",
    b"GET /search?q=",
    b"POST /mcp HTTP/1.1\r\n",
    b"Content-Type: application/json\r\n",
    b"x-webtape-episode: ",
    b"\"jsonrpc\":\"2.0\"",
    b"\"method\":\"tools/call\"",
    b"<|answer_split|>",
    b"\"golden_answers\":",
    b"PAR1",
];

/// Numbers at the edges of what fields hold.
const NUMBERS: &[&[u8]] = &[
    b"0",
    b"-1",
    b"1",
    b"255",
    b"256",
    b"65535",
    b"65536",
    b"2147483647",
    b"4294967295",
    b"4294967296",
    b"9223372036854775807",
    b"18446744073709551615",
    b"18446744073709551616",
    b"1e309",
    b"-0",
    b"0.5",
    b"NaN",
    b"99999999999999999999999999",
];

const BYTES: &[u8] = &[0, 1, 0x7f, 0x80, 0xff, 0xfe, 0xc0, b'\n', b'\r', b' ', b'<', b'>', b'"', b'{', b'}', b'%'];

/// splitmix64: small, fast, and the same sequence for the same seed everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A mutant of `input`: one to six stacked havoc steps; `other` is a second corpus input for splicing.
pub fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut data = input.to_vec();
    for _ in 0..1 + rng.below(6) {
        step(rng, &mut data, other);
    }
    data.truncate(MAX_LEN);
    data
}

fn step(rng: &mut Rng, data: &mut Vec<u8>, other: &[u8]) {
    let len = data.len();
    let at = if len == 0 { 0 } else { rng.below(len + 1) };
    match rng.below(11) {
        0 if len > 0 => {
            let i = rng.below(len);
            data[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            data[i] = *rng.pick(BYTES);
        }
        2 if len > 0 => {
            let end = (at + 1 + rng.below(64.min(len))).min(len);
            data.drain(at.min(end)..end);
        }
        3 if len > 0 => repeat_chunk(rng, data),
        4 | 5 => {
            let token: &[u8] = rng.pick::<&[u8]>(TOKENS);
            insert(data, at, token)
        }
        6 => replace_number(rng, data),
        7 => data.truncate(at),
        8 if !other.is_empty() => {
            let from = rng.below(other.len());
            data.truncate(at);
            data.extend_from_slice(&other[from..]);
        }
        9 if !other.is_empty() => {
            let from = rng.below(other.len());
            let n = (1 + rng.below(256)).min(other.len() - from);
            let chunk = other[from..from + n].to_vec();
            insert(data, at, &chunk);
        }
        _ => insert(data, at, &[rng.below(256) as u8]),
    }
}

fn insert(data: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    let at = at.min(data.len());
    data.splice(at..at, bytes.iter().copied());
}

/// A chunk of the input repeated up to 64 times in place (deep nesting, long lines, many records).
fn repeat_chunk(rng: &mut Rng, data: &mut Vec<u8>) {
    let start = rng.below(data.len());
    let n = 1 + rng.below(256.min(data.len() - start));
    let chunk = data[start..start + n].to_vec();
    let most = if rng.below(8) == 0 { 4096 } else { 64 };
    let times = 1 + rng.below(most);
    let mut added = Vec::with_capacity(chunk.len() * times);
    for _ in 0..times {
        added.extend_from_slice(&chunk);
    }
    insert(data, start, &added);
}

/// A run of ASCII digits (or any spot) replaced by an edge-case number.
fn replace_number(rng: &mut Rng, data: &mut Vec<u8>) {
    let number: &[u8] = rng.pick::<&[u8]>(NUMBERS);
    let digits: Vec<usize> = (0..data.len()).filter(|&i| data[i].is_ascii_digit()).collect();
    if digits.is_empty() {
        let at = rng.below(data.len() + 1);
        return insert(data, at, number);
    }
    let start = *rng.pick(&digits);
    let end = (start..data.len()).find(|&i| !data[i].is_ascii_digit()).unwrap_or(data.len());
    data.splice(start..end, number.iter().copied());
}
