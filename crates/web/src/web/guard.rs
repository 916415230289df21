//! The SSRF guard: which URLs the fetcher may visit. Refuses non-HTTP(S) schemes and any host that resolves to a
//! loopback, private, link-local, multicast, unspecified, shared (CGNAT) or cloud-metadata address. Checked after
//! DNS resolution, on every redirect hop, and again at connect time through [`GuardedResolver`], so a DNS answer
//! that changes between check and connect (rebinding) cannot slip through.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use url::{Host, Url};

use crate::error::{Error, Result};

/// What the guard lets through.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    /// Allow every address (local testing against `webtape sim serve`).
    pub allow_private: bool,
    /// Exact socket addresses allowed even though their class is refused (e.g. one internal test server).
    pub allow_addrs: Vec<SocketAddr>,
    /// Hosts connected to at a given address instead of through DNS (`--resolve`, like curl's); the address is
    /// still checked like any other.
    pub resolve: Vec<Resolve>,
}

/// `HOST=IP:PORT`: connect to this address for `HOST` (like curl's `--resolve`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolve {
    pub host: String,
    pub addr: SocketAddr,
}

impl std::str::FromStr for Resolve {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Resolve, String> {
        let (host, addr) = s.split_once('=').ok_or_else(|| format!("{s:?}: expected HOST=IP:PORT"))?;
        let addr = addr.parse().map_err(|e| format!("{s:?}: {addr:?} is not IP:PORT ({e})"))?;
        if host.is_empty() {
            return Err(format!("{s:?}: no host before `=`"));
        }
        Ok(Resolve { host: host.to_ascii_lowercase(), addr })
    }
}

/// Why an address is refused, or `None` when it is a public unicast address.
pub fn refused_class(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_class(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4_class(v4),
            None => v6_class(v6),
        },
    }
}

fn v4_class(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, d] = ip.octets();
    if [[169, 254, 169, 254], [100, 100, 100, 200], [192, 0, 0, 192]].contains(&[a, b, c, d]) {
        Some("a cloud metadata address")
    } else if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if ip.is_unspecified() || a == 0 {
        Some("an unspecified address")
    } else if ip.is_broadcast() {
        Some("the broadcast address")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a shared (carrier-grade NAT) address")
    } else if a >= 240 {
        Some("a reserved address")
    } else {
        None
    }
}

fn v6_class(ip: Ipv6Addr) -> Option<&'static str> {
    let seg = ip.segments();
    if seg == [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254] {
        Some("a cloud metadata address")
    } else if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_unspecified() {
        Some("an unspecified address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if seg[0] & 0xfe00 == 0xfc00 {
        Some("a private (unique local) address")
    } else if seg[0] & 0xffc0 == 0xfe80 {
        Some("a link-local address")
    } else {
        None
    }
}

impl Guard {
    /// A guard that refuses private destinations unless `allow_private`.
    pub fn new(allow_private: bool) -> Guard {
        Guard { allow_private, ..Guard::default() }
    }

    /// Checks the scheme and, when the host is an IP literal, the address. Host names are checked by
    /// [`Guard::check`] after resolution.
    pub fn check_static(&self, url: &Url) -> Result<()> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(blocked(url, format!("scheme {:?} is not http or https", url.scheme())));
        }
        let port = url.port_or_known_default().unwrap_or(80);
        let ip = match url.host() {
            None => return Err(blocked(url, "the URL has no host".into())),
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
            Some(Host::Domain(_)) => return Ok(()),
        };
        self.check_addr(SocketAddr::new(ip, port)).map_err(|reason| blocked(url, reason))
    }

    /// Checks the scheme, resolves the host and checks every address it resolves to.
    pub async fn check(&self, url: &Url) -> Result<()> {
        self.check_static(url)?;
        let Some(Host::Domain(domain)) = url.host() else { return Ok(()) };
        if let Some(r) = self.resolve.iter().find(|r| r.host.eq_ignore_ascii_case(domain)) {
            return self.check_addr(r.addr).map_err(|reason| blocked(url, format!("{domain} is set to {reason}")));
        }
        if self.allow_private {
            return Ok(());
        }
        let port = url.port_or_known_default().unwrap_or(80);
        let addrs = tokio::net::lookup_host((domain, port))
            .await
            .map_err(|e| Error::web(url.as_str(), format!("cannot resolve {domain}: {e}")))?;
        for addr in addrs {
            self.check_addr(addr).map_err(|reason| blocked(url, format!("{domain} resolves to {reason}")))?;
        }
        Ok(())
    }

    /// `Err(description)` when `addr` is refused.
    pub fn check_addr(&self, addr: SocketAddr) -> std::result::Result<(), String> {
        if self.allow_private || self.allow_addrs.contains(&addr) {
            return Ok(());
        }
        match refused_class(addr.ip()) {
            Some(class) => Err(format!("{} ({class})", addr.ip())),
            None => Ok(()),
        }
    }
}

fn blocked(url: &Url, reason: String) -> Error {
    Error::Blocked { url: url.as_str().to_string(), reason }
}

/// A reqwest DNS resolver that drops refused addresses, so the connection itself can only reach what the guard
/// allows, whatever DNS says at connect time.
#[derive(Debug, Clone)]
pub struct GuardedResolver(pub Arc<Guard>);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = addrs
                .iter()
                .copied()
                .filter(|a| guard.allow_private || refused_class(a.ip()).is_none() || allowed_ip(&guard, a.ip()))
                .collect();
            if allowed.is_empty() {
                let msg = format!("{host} resolves only to refused addresses");
                return Err(Box::new(std::io::Error::new(std::io::ErrorKind::PermissionDenied, msg)) as _);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The resolver does not know the port, so an `allow_addrs` entry allows its IP at connect time.
fn allowed_ip(guard: &Guard, ip: IpAddr) -> bool {
    guard.allow_addrs.iter().any(|a| a.ip() == ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> Option<&'static str> {
        refused_class(s.parse().unwrap())
    }

    #[test]
    fn classes() {
        assert_eq!(class("127.0.0.1"), Some("a loopback address"));
        assert_eq!(class("10.1.2.3"), Some("a private address"));
        assert_eq!(class("172.20.0.1"), Some("a private address"));
        assert_eq!(class("192.168.1.1"), Some("a private address"));
        assert_eq!(class("169.254.169.254"), Some("a cloud metadata address"));
        assert_eq!(class("169.254.1.1"), Some("a link-local address"));
        assert_eq!(class("224.0.0.1"), Some("a multicast address"));
        assert_eq!(class("0.0.0.0"), Some("an unspecified address"));
        assert_eq!(class("100.64.0.1"), Some("a shared (carrier-grade NAT) address"));
        assert_eq!(class("::1"), Some("a loopback address"));
        assert_eq!(class("::ffff:127.0.0.1"), Some("a loopback address"));
        assert_eq!(class("fd12::1"), Some("a private (unique local) address"));
        assert_eq!(class("fe80::1"), Some("a link-local address"));
        assert_eq!(class("ff02::1"), Some("a multicast address"));
        assert_eq!(class("fd00:ec2::254"), Some("a cloud metadata address"));
        assert_eq!(class("93.184.216.34"), None);
        assert_eq!(class("2606:4700::1111"), None);
    }

    #[test]
    fn schemes_and_literals() {
        let guard = Guard::new(false);
        let err = guard.check_static(&Url::parse("file:///etc/passwd").unwrap()).unwrap_err().to_string();
        assert!(err.contains("scheme \"file\""), "{err}");
        let err = guard.check_static(&Url::parse("http://[::1]:8080/").unwrap()).unwrap_err().to_string();
        assert!(err.contains("loopback"), "{err}");
        assert!(guard.check_static(&Url::parse("https://93.184.216.34/").unwrap()).is_ok());
        assert!(Guard::new(true).check_static(&Url::parse("http://127.0.0.1/").unwrap()).is_ok());
    }
}
