//! `webtape proxy`: any agent's web traffic recorded into a snapshot and replayed from it through an HTTP(S)
//! forward proxy (`HTTPS_PROXY`), and `webtape proxy ca` to hand clients the CA certificate to trust.
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use webtape::env::{MissPolicy, Mode};
use webtape::proxy::{self, LocalCa, ProxyConfig, ProxyState, Resolve, CA_CERT_FILE};
use webtape::web::Guard;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ProxyArgs {
    #[command(subcommand)]
    command: Option<ProxyCommand>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum ProxyCommand {
    /// Write the proxy's CA certificate for clients to trust (the CA is made on first use).
    Ca {
        /// Where to write the certificate (PEM); without it, it is printed.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        ca: CaArgs,
    },
}

#[derive(Args)]
struct CaArgs {
    /// Folder of the proxy's CA (`ca.pem`, `ca.key`); default $WEBTAPE_CA_DIR, else ~/.local/share/webtape/ca.
    #[arg(long)]
    ca_dir: Option<PathBuf>,
}

#[derive(Args)]
struct RunArgs {
    /// Snapshot folder: read in replay, written in record (created when missing).
    #[arg(long)]
    snapshot: Option<PathBuf>,
    /// replay: answers only from the snapshot, never the network; record: the real hosts, recording everything;
    /// live: the real hosts, nothing recorded.
    #[arg(long, value_enum, default_value = "replay")]
    mode: Mode,
    /// Replay's answer to a search never recorded: BM25 over the snapshot's pages in the API's own shape, or
    /// `strict` (a 599 error). Any other request never recorded is a 599 error.
    #[arg(long, value_enum, default_value = "bm25")]
    miss: MissPolicy,
    /// Replay the captures closest to this time (RFC 3339 or YYYYMMDDhhmmss) instead of the first.
    #[arg(long)]
    at: Option<String>,
    #[arg(long, default_value_t = 8899)]
    port: u16,
    /// Address to listen on. Record and live modes only listen on loopback (an open proxy spends your API
    /// credits and reaches your network for anyone).
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Hosts whose HTTPS is intercepted and recorded (a host matches its subdomains too; comma-separated or
    /// repeated). Default: all. Others pass through unrecorded (record, live) or are refused (replay).
    #[arg(long, value_delimiter = ',')]
    intercept: Vec<String>,
    /// Connect to IP:PORT for HOST (`HOST=IP:PORT`, like curl's --resolve; repeatable). The SSRF guard still
    /// applies to the address.
    #[arg(long)]
    resolve: Vec<Resolve>,
    /// Trust this CA certificate (PEM) for upstream hosts besides the system roots; repeatable.
    #[arg(long)]
    upstream_ca: Vec<PathBuf>,
    /// Allow upstream hosts on loopback, private, link-local and other internal addresses (local testing only).
    #[arg(long)]
    allow_private: bool,
    /// Allow this one internal address (IP:PORT) while keeping the guard on for everything else; repeatable.
    #[arg(long)]
    allow_addr: Vec<SocketAddr>,
    /// Per upstream request, in seconds.
    #[arg(long, default_value_t = 60.0)]
    timeout: f64,
    /// Largest request or response body, in bytes.
    #[arg(long, default_value_t = 32 << 20)]
    max_body: u64,
    /// Requests handled at once; more get 429 with Retry-After.
    #[arg(long, default_value_t = 1024)]
    max_concurrency: usize,
    #[command(flatten)]
    ca: CaArgs,
}

impl CaArgs {
    fn dir(&self) -> Result<PathBuf> {
        if let Some(dir) = &self.ca_dir {
            return Ok(dir.clone());
        }
        if let Some(dir) = std::env::var_os("WEBTAPE_CA_DIR").filter(|d| !d.is_empty()) {
            return Ok(dir.into());
        }
        let data = std::env::var_os("XDG_DATA_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
            .context("cannot find a home for the proxy CA: pass --ca-dir or set WEBTAPE_CA_DIR")?;
        Ok(data.join("webtape/ca"))
    }
}

pub fn run(a: ProxyArgs) -> Result<ExitCode> {
    match a.command {
        Some(ProxyCommand::Ca { out, ca }) => write_ca(out, &ca),
        None => serve(a.run),
    }
}

fn write_ca(out: Option<PathBuf>, ca: &CaArgs) -> Result<ExitCode> {
    let dir = ca.dir()?;
    let ca = LocalCa::load_or_create(&dir)?;
    match out {
        Some(path) => {
            std::fs::write(&path, ca.cert_pem()).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote the CA certificate of {} to {}", dir.display(), path.display());
        }
        None => print!("{}", ca.cert_pem()),
    }
    Ok(ExitCode::SUCCESS)
}

fn config(a: &RunArgs) -> Result<ProxyConfig> {
    anyhow::ensure!(a.timeout > 0.0, "--timeout must be positive");
    if !a.bind.is_loopback() {
        anyhow::ensure!(
            a.mode == Mode::Replay,
            "refusing to run an open {:?} proxy on {}: bind 127.0.0.1 (anyone who reaches it could spend your API \
             credits and reach your network)",
            a.mode,
            a.bind
        );
        eprintln!(
            "warning: proxying on {} without authentication: anyone who reaches it can read the snapshot",
            a.bind
        );
    }
    let upstream_roots = a
        .upstream_ca
        .iter()
        .map(|p| std::fs::read(p).with_context(|| format!("--upstream-ca {}", p.display())))
        .collect::<Result<Vec<_>>>()?;
    Ok(ProxyConfig {
        mode: a.mode,
        miss: a.miss,
        at: a.at.clone(),
        intercept: a.intercept.iter().map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()).collect(),
        resolve: a.resolve.clone(),
        upstream_roots,
        guard: Guard { allow_private: a.allow_private, allow_addrs: a.allow_addr.clone(), ..Guard::default() },
        timeout: Duration::from_secs_f64(a.timeout),
        max_body: a.max_body,
        max_concurrency: a.max_concurrency,
    })
}

fn serve(a: RunArgs) -> Result<ExitCode> {
    let cfg = config(&a)?;
    let ca_dir = a.ca.dir()?;
    let ca = Arc::new(LocalCa::load_or_create(&ca_dir)?);
    let state = ProxyState::open(cfg, a.snapshot.as_deref())?;
    let addr = SocketAddr::new(a.bind, a.port);
    let runtime = tokio::runtime::Runtime::new()?;
    let served = state.clone();
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
        let source = a.snapshot.as_ref().map_or("the live web".to_string(), |d| d.display().to_string());
        println!(
            "webtape proxy: {:?} mode over {source} at http://{} (CA {}; Ctrl-C or SIGTERM to stop)",
            a.mode,
            listener.local_addr()?,
            ca_dir.join(CA_CERT_FILE).display()
        );
        std::io::Write::flush(&mut std::io::stdout())?;
        proxy::serve(served, ca, listener, super::sim::stop_signal()).await?;
        anyhow::Ok(())
    })?;
    drop(runtime); // ends every connection task, so nothing is left in flight
    let log = state.run_log();
    let cov = log.coverage();
    println!(
        "proxied {} requests: {} exact, {} bm25, {} miss, {} live; run digest {}",
        log.entries(),
        cov.exact,
        cov.bm25,
        cov.miss,
        cov.live,
        log.digest()
    );
    state.finish()?;
    Ok(ExitCode::SUCCESS)
}
