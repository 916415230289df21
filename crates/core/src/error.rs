//! The crate's one error type, [`Error`], and its [`Result`] alias. Every variant names what went wrong
//! and where, so the CLI can print it once and exit non-zero.
use std::path::PathBuf;

/// Everything that can go wrong in webtape's library code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A filesystem operation failed; `path` says on what.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// RocksDB reported an error (including on-disk corruption found by its checksums).
    #[error("snapshot database {path}: {message}")]
    Db { path: PathBuf, message: String },
    /// tantivy reported an error.
    #[error("snapshot index {path}: {message}")]
    Index { path: PathBuf, message: String },
    /// No snapshot at this path.
    #[error("no snapshot at {0} (create one with `webtape snapshot create {0}`)")]
    NoSnapshot(PathBuf),
    /// A snapshot exists where a new one was to be created.
    #[error("a snapshot already exists at {0}")]
    SnapshotExists(PathBuf),
    /// The snapshot was written by a newer webtape (or is not a webtape snapshot at all).
    #[error("{path}: snapshot format version {found} is not supported (this webtape reads versions up to {supported}); upgrade webtape")]
    FormatVersion { path: PathBuf, found: u32, supported: u32 },
    /// A snapshot file or record could not be decoded.
    #[error("{what}: {message}")]
    Corrupt { what: String, message: String },
    /// A URL that cannot be canonicalized (bad syntax, unsupported scheme, no host).
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// A search request that cannot be understood.
    #[error("invalid search request: {0}")]
    InvalidRequest(String),
    /// Input data (WARC, JSONL, HTML) that cannot be read; `source` names the file and position.
    #[error("{source_name}: {message}")]
    BadInput { source_name: String, message: String },
    /// A nothing-found lookup, e.g. a URL that the snapshot never captured.
    #[error("{0}")]
    NotFound(String),
    /// JSON that could not be written or read; `what` says which document.
    #[error("{what}: {source}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    /// A broken invariant inside webtape (a bug, or a worker thread that died): never the user's input.
    #[error("internal error: {0} (this is a bug in webtape; please report it)")]
    Internal(String),
    /// A configuration or argument that is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A web request (search provider, page, reading model) failed; the message never holds credentials.
    #[error("{what}: {message}")]
    Web { what: String, message: String },
    /// libtorch (through tch) reported an error.
    #[error("torch: {0}")]
    Torch(String),
    /// A model checkpoint that cannot be used: unsupported architecture, missing or unexpected tensors, bad shapes.
    #[error("model checkpoint {path}: {message}")]
    Checkpoint { path: PathBuf, message: String },
    /// The tokenizer failed to load, encode or decode.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A chat template failed to compile or render.
    #[error("chat template: {0}")]
    Template(String),
    /// The SSRF guard refused a URL (private/loopback/link-local/multicast/metadata address or a non-HTTP scheme).
    #[error("refused {url}: {reason} (pass --allow-private to allow it for local testing)")]
    Blocked { url: String, reason: String },
}

/// `Result` with webtape's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    /// An [`Error::Json`] about `what` (a file, a record, a request body).
    pub fn json(what: impl Into<String>, source: serde_json::Error) -> Self {
        Error::Json { what: what.into(), source }
    }

    /// An [`Error::Internal`]: an invariant webtape relies on does not hold.
    pub fn internal(message: impl Into<String>) -> Self {
        Error::Internal(message.into())
    }

    /// An [`Error::Checkpoint`] for the checkpoint at `path`.
    pub fn checkpoint(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Checkpoint { path: path.into(), message: message.into() }
    }

    /// An [`Error::Web`] about `what` (a provider, a URL, an endpoint).
    pub fn web(what: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Web { what: what.into(), message: message.into() }
    }

    /// An [`Error::BadInput`] naming the input.
    pub fn bad_input(source_name: impl Into<String>, message: impl Into<String>) -> Self {
        Error::BadInput { source_name: source_name.into(), message: message.into() }
    }
}
