//! The proxy's way out, used only in record and live modes: a request forwarded to its real host as the client
//! sent it (credentials included, never stored), through the SSRF guard, with `--resolve` overrides and extra
//! trusted roots for hosts with their own certificates. Asks for unencoded bodies, follows no redirects (the
//! client does), reads bodies up to a size limit.
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::error::{Error, Result};
use crate::snapshot::canon::strip_secret_params;
use crate::web::client::{self, Response};
use crate::web::guard::GuardedResolver;
pub use crate::web::guard::Resolve;
use crate::web::{Guard, RetryPolicy};

/// Request headers not forwarded: hop-by-hop ones, the proxy's own, and the ones the client library sets anew.
const NOT_FORWARDED: [&str; 10] = [
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "transfer-encoding",
    "te",
    "upgrade",
    "content-length",
    "accept-encoding",
];

/// Why a forwarded request got no response: the status the client is answered with, and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    pub status: u16,
    pub message: String,
}

/// The client that reaches real hosts.
pub struct Upstream {
    client: reqwest::Client,
    guard: Arc<Guard>,
    max_body: u64,
}

impl Upstream {
    /// A client with `timeout` per request that trusts the system roots plus `extra_roots` (PEM files' bytes);
    /// `resolve` joins the guard's overrides, which it checks like resolved addresses.
    pub fn new(
        mut guard: Guard,
        resolve: Vec<Resolve>,
        extra_roots: &[Vec<u8>],
        timeout: Duration,
        max_body: u64,
    ) -> Result<Upstream> {
        guard.resolve.extend(resolve);
        let guard = Arc::new(guard);
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .no_gzip()
            .no_brotli()
            .no_deflate()
            .dns_resolver(Arc::new(GuardedResolver(guard.clone())));
        for pem in extra_roots {
            let cert = reqwest::Certificate::from_pem(pem)
                .map_err(|e| Error::Config(format!("--upstream-ca: not a PEM certificate: {e}")))?;
            builder = builder.add_root_certificate(cert);
        }
        for r in &guard.resolve {
            builder = builder.resolve(&r.host, r.addr);
        }
        let client = builder.build().map_err(|e| Error::web("proxy upstream client", e.to_string()))?;
        Ok(Upstream { client, guard, max_body })
    }

    /// Checks `url` against the guard: an overridden host by its given address, any other after DNS.
    pub async fn check(&self, url: &Url) -> std::result::Result<(), Failed> {
        self.guard.check(url).await.map_err(|e| Failed { status: 403, message: e.to_string() })
    }

    /// Forwards one request; the response whatever its status, or why there was none.
    pub async fn forward(
        &self,
        method: &str,
        url: &Url,
        headers: &[(String, String)],
        body: &[u8],
    ) -> std::result::Result<Response, Failed> {
        self.check(url).await?;
        let shown = strip_secret_params(url);
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| Failed { status: 400, message: format!("bad method {method:?}") })?;
        let build = || {
            let mut req = self.client.request(method.clone(), url.clone()).header("accept-encoding", "identity");
            for (name, value) in headers.iter().filter(|(n, _)| !NOT_FORWARDED.contains(&n.as_str())) {
                req = req.header(name.as_str(), value.as_str());
            }
            req.body(body.to_vec())
        };
        let policy = RetryPolicy { retries: 0, ..RetryPolicy::default() };
        let resp = client::send(build, &policy, url.as_str(), self.max_body)
            .await
            .map_err(|f| Failed { status: 502, message: format!("{shown}: {f}") })?;
        if resp.truncated {
            let message =
                format!("{shown}: the response is larger than --max-body ({} bytes); not recorded", self.max_body);
            return Err(Failed { status: 502, message });
        }
        Ok(resp)
    }
}
