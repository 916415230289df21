//! Fuzz entry points: one function per parser that sees outside bytes, each taking `&[u8]` and driving the real
//! code path (WARC/ARC import with gzip member recovery, HTTP messages, HTML + charset, PDF, SURT keys, search
//! request keys, tool calls, every HTTP route, TOML configs, question files, provider answers). Owns no parsing
//! of its own beyond splitting an input into its parts; must not change what the parsers do.
//!
//! The property every target checks: no panic (the harness catches and counts them), bad input is an `Err` with a
//! message, and, where cheap, a round trip holds. Inputs that select a variant (a content type, a provider, a
//! file format) name it on their first line, so seed files stay readable. `tests/fuzz/` replays the committed
//! corpora in `cargo test` and mutates them under `make fuzz`.
mod files;
mod parsers;
mod routes;

pub use files::Scratch;

/// The fuzz targets; [`Target::name`] is the folder under `fuzz/corpus/` and `fuzz/regressions/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Warc,
    WarcGzip,
    HttpResponse,
    Html,
    Pdf,
    Surt,
    SearchRequest,
    ToolCall,
    Routes,
    Config,
    Questions,
    Providers,
}

/// What one input did to a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Parsed (or handled) without complaint.
    Accepted,
    /// Refused with this message: the expected answer to bad input.
    Rejected(String),
    /// A property failed (an empty error, a round trip that does not hold): a bug, like a panic.
    Broken(String),
}

impl Target {
    pub const ALL: [Target; 12] = [
        Target::Warc,
        Target::WarcGzip,
        Target::HttpResponse,
        Target::Html,
        Target::Pdf,
        Target::Surt,
        Target::SearchRequest,
        Target::ToolCall,
        Target::Routes,
        Target::Config,
        Target::Questions,
        Target::Providers,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::Warc => "warc",
            Target::WarcGzip => "warc_gzip",
            Target::HttpResponse => "http_response",
            Target::Html => "html",
            Target::Pdf => "pdf",
            Target::Surt => "surt",
            Target::SearchRequest => "search_request",
            Target::ToolCall => "tool_call",
            Target::Routes => "routes",
            Target::Config => "config",
            Target::Questions => "questions",
            Target::Providers => "providers",
        }
    }

    /// Runs `data` through the target; file-backed targets use `scratch`.
    pub fn run(self, scratch: &mut Scratch, data: &[u8]) -> Verdict {
        match self {
            Target::Warc => files::warc(scratch, data),
            Target::WarcGzip => files::warc_gzip(scratch, data),
            Target::HttpResponse => parsers::http_response(data),
            Target::Html => parsers::html(data),
            Target::Pdf => parsers::pdf(data),
            Target::Surt => parsers::surt(data),
            Target::SearchRequest => parsers::search_request(data),
            Target::ToolCall => parsers::tool_call(data),
            Target::Routes => routes::route(scratch, data),
            Target::Config => files::config(scratch, data),
            Target::Questions => files::questions(scratch, data),
            Target::Providers => parsers::providers(data),
        }
    }
}

/// An `Err` message becomes [`Verdict::Rejected`], unless it says nothing.
fn rejected(message: String) -> Verdict {
    if message.trim().is_empty() {
        Verdict::Broken("an error with an empty message".into())
    } else {
        Verdict::Rejected(message)
    }
}

/// The first line of `data` (a variant name, trimmed) and the bytes after it.
fn split_variant(data: &[u8]) -> (String, &[u8]) {
    let (head, rest) = match memchr::memchr(b'\n', data) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[data.len()..]),
    };
    (String::from_utf8_lossy(head).trim().to_ascii_lowercase(), rest)
}
