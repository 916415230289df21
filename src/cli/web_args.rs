//! Flags shared by `record` and `serve` for the live web: provider, politeness limits, retries, SSRF guard.
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use webtape::web::guard::Resolve;
use webtape::web::{parse_rate, FetchConfig, Guard, ProviderKind, RetryPolicy, Searcher};

#[derive(Args)]
pub struct WebArgs {
    /// Search API. Keys come from SERPER_API_KEY, BRAVE_API_KEY, TAVILY_API_KEY; SearXNG needs SEARXNG_URL
    /// or --endpoint. Keys are sent, never stored.
    #[arg(long, value_enum)]
    pub provider: Option<ProviderKind>,
    /// Base URL of the provider's API instead of its public one (e.g. `webtape sim serve`'s address).
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Provider calls per second at most, e.g. `10/s`, `600/min`, `none`.
    #[arg(long, default_value = "10/s")]
    pub rate: String,
    /// Requests in flight to one web host at most (0 = no limit).
    #[arg(long, default_value_t = 4)]
    pub host_concurrency: usize,
    /// Request starts per second to one web host, e.g. `5/s` or `none`.
    #[arg(long, default_value = "5/s")]
    pub host_rate: String,
    /// Per-attempt timeout in seconds.
    #[arg(long, default_value_t = 20.0)]
    pub timeout: f64,
    /// Retries after a 429, 5xx, timeout or connection error (exponential backoff with jitter, Retry-After honoured).
    #[arg(long, default_value_t = 3)]
    pub retries: u32,
    /// Backoff before the first retry, in milliseconds (doubles each retry).
    #[arg(long, default_value_t = 500)]
    pub backoff_ms: u64,
    /// Longest wait between retries, in seconds (also caps Retry-After).
    #[arg(long, default_value_t = 30.0)]
    pub max_backoff: f64,
    /// Page bodies beyond this many bytes are cut and marked truncated (suffixes k, M: `5M`).
    #[arg(long, default_value = "5M")]
    pub max_body: String,
    /// Do not ask robots.txt.
    #[arg(long)]
    pub ignore_robots: bool,
    /// Allow pages on loopback, private, link-local and other internal addresses (local testing only).
    #[arg(long)]
    pub allow_private: bool,
    /// Allow this one internal address (IP:PORT) while keeping the guard on for everything else; repeatable.
    #[arg(long)]
    pub allow_addr: Vec<SocketAddr>,
    /// Fetch pages of HOST from IP:PORT instead of where DNS points (like curl's --resolve), e.g.
    /// `wiki.sim=127.0.0.1:18088` for a sim web whose results link to `http://wiki.sim`; repeatable. The address is
    /// checked by the guard like any other (loopback needs --allow-private or --allow-addr).
    #[arg(long, value_name = "HOST=IP:PORT")]
    pub resolve: Vec<Resolve>,
    /// Seed of the retry jitter.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

fn parse_size(text: &str) -> Result<u64> {
    let t = text.trim();
    let (num, mult) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        None => (t, 1u64),
        Some((i, _)) => {
            let mult = match t[i..].to_ascii_lowercase().as_str() {
                "k" | "kb" | "kib" => 1 << 10,
                "m" | "mb" | "mib" => 1 << 20,
                "g" | "gb" | "gib" => 1 << 30,
                other => anyhow::bail!("--max-body {text:?}: unknown unit {other:?} (use k, M or G)"),
            };
            (&t[..i], mult)
        }
    };
    let n: f64 = num.trim().parse().with_context(|| format!("--max-body {text:?} is not a size"))?;
    anyhow::ensure!(n > 0.0, "--max-body must be positive");
    Ok((n * mult as f64) as u64)
}

impl WebArgs {
    /// The searcher and fetch settings these flags describe.
    pub fn build(&self) -> Result<(Searcher, FetchConfig)> {
        let provider = self.provider.context("--provider is required (serper, searxng, brave or tavily)")?;
        anyhow::ensure!(
            self.timeout > 0.0 && self.max_backoff >= 0.0,
            "--timeout must be positive, --max-backoff not negative"
        );
        let retry = RetryPolicy {
            retries: self.retries,
            base: Duration::from_millis(self.backoff_ms),
            max_wait: Duration::from_secs_f64(self.max_backoff),
            seed: self.seed,
        };
        let timeout = Duration::from_secs_f64(self.timeout);
        let rate = parse_rate(&self.rate).map_err(|m| anyhow::anyhow!("--rate: {m}"))?;
        let searcher = Searcher::new(provider.from_env(self.endpoint.as_deref())?, timeout, retry.clone(), rate)?;
        let fetch = FetchConfig {
            timeout,
            max_body: parse_size(&self.max_body)?,
            max_redirects: 10,
            retry,
            robots: !self.ignore_robots,
            host_concurrency: self.host_concurrency,
            host_rate: parse_rate(&self.host_rate).map_err(|m| anyhow::anyhow!("--host-rate: {m}"))?,
            guard: Guard {
                allow_private: self.allow_private,
                allow_addrs: self.allow_addr.clone(),
                resolve: self.resolve.clone(),
            },
        };
        Ok((searcher, fetch))
    }
}
