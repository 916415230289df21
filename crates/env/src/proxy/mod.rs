//! `webtape proxy`: an HTTP(S) forward proxy with a local CA that records any agent's web traffic into a snapshot
//! and replays it byte for byte, with no change to the agent. It understands what it sees: calls to the known
//! search APIs become search captures under the recorder's request keys, chat completions become reader outputs,
//! documents become page captures, anything else an HTTP capture - so `serve`, `train` and the proxy share one
//! snapshot. Request headers (credentials) are forwarded, never stored.
mod answer;
mod ca;
mod classify;
mod server;
mod tape;
mod upstream;

pub use answer::{Answer, MISS_STATUS};
pub use ca::{LocalCa, CA_CERT_FILE, CA_KEY_FILE};
pub use classify::{Kind, ProxyRequest};
pub use server::{serve, ProxyConfig, ProxyHandler, ProxyState};
pub use upstream::Resolve;
