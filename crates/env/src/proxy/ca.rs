//! The proxy's local certificate authority: made on first use in its folder (`ca.pem`, `ca.key`), it signs one
//! certificate per intercepted host (a DNS or IP subject name, as the client asked), cached for the process. Clients
//! trust `ca.pem` (`REQUESTS_CA_BUNDLE`, `SSL_CERT_FILE`, `NODE_EXTRA_CA_CERTS`). Knows nothing of snapshots.
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use hudsucker::certificate_authority::CertificateAuthority;
use hudsucker::hyper::http::uri::Authority;
use hudsucker::rustls::crypto::CryptoProvider;
use hudsucker::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use hudsucker::rustls::ServerConfig;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

use crate::error::{Error, Result};

/// The CA certificate clients trust.
pub const CA_CERT_FILE: &str = "ca.pem";
/// The CA's private key (PKCS#8 PEM, readable by the owner only).
pub const CA_KEY_FILE: &str = "ca.key";
const CA_NAME: &str = "webtape proxy local CA";

/// A local CA that signs per-host certificates for the proxy's TLS termination.
pub struct LocalCa {
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
    /// One key for every host certificate (made once per process; hosts differ only in their names).
    leaf_key: KeyPair,
    cache: Mutex<HashMap<String, Arc<ServerConfig>>>,
    provider: Arc<CryptoProvider>,
}

/// The CA's own certificate parameters. Fixed, so a CA loaded from its key signs with the same issuer name and
/// key identifier as the certificate written when it was made.
fn ca_params() -> Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(ca_error)?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, CA_NAME);
    name.push(DnType::OrganizationName, "webtape");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2044, 1, 1);
    Ok(params)
}

fn ca_error(e: rcgen::Error) -> Error {
    Error::Config(format!("proxy CA: {e}"))
}

impl LocalCa {
    /// Loads the CA in `dir`, or makes one there (the folder is created) when it has none.
    pub fn load_or_create(dir: &Path) -> Result<LocalCa> {
        let (cert_path, key_path) = (dir.join(CA_CERT_FILE), dir.join(CA_KEY_FILE));
        let (cert_pem, key) = if key_path.exists() {
            let key_pem = std::fs::read_to_string(&key_path).map_err(|e| Error::io(&key_path, e))?;
            let key = KeyPair::from_pem(&key_pem)
                .map_err(|e| Error::bad_input(key_path.display().to_string(), format!("not a private key: {e}")))?;
            let cert_pem = std::fs::read_to_string(&cert_path).map_err(|e| Error::io(&cert_path, e))?;
            (cert_pem, key)
        } else {
            create(dir, &cert_path, &key_path)?
        };
        let issuer = Issuer::new(ca_params()?, key);
        let leaf_key = KeyPair::generate().map_err(ca_error)?;
        let provider = Arc::new(hudsucker::rustls::crypto::aws_lc_rs::default_provider());
        Ok(LocalCa { issuer, cert_pem, leaf_key, cache: Mutex::new(HashMap::new()), provider })
    }

    /// The CA certificate (PEM) for clients to trust.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The TLS configuration presented to clients connecting to `host`.
    pub fn server_config(&self, host: &str) -> Result<Arc<ServerConfig>> {
        if let Some(cfg) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(host) {
            return Ok(cfg.clone());
        }
        let cert = self.host_certificate(host)?;
        let key = PrivateKeyDer::from(PrivatePkcs8KeyDer::from(self.leaf_key.serialize_der()));
        let mut cfg = ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .and_then(|b| b.with_no_client_auth().with_single_cert(vec![cert], key))
            .map_err(|e| Error::Config(format!("proxy TLS for {host}: {e}")))?;
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        let cfg = Arc::new(cfg);
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).insert(host.to_string(), cfg.clone());
        Ok(cfg)
    }

    fn host_certificate(&self, host: &str) -> Result<CertificateDer<'static>> {
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(ca_error)?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let san = match bare.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(bare.to_string().try_into().map_err(ca_error)?),
        };
        params.subject_alt_names = vec![san];
        params.distinguished_name.push(DnType::CommonName, bare);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        params.not_before = rcgen::date_time_ymd(2024, 1, 1);
        params.not_after = rcgen::date_time_ymd(2044, 1, 1);
        let serial = blake3::hash(format!("{host}\n{}", self.leaf_key.public_key_pem()).as_bytes());
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial.as_bytes()[..16]));
        let cert = params.signed_by(&self.leaf_key, &self.issuer).map_err(ca_error)?;
        Ok(cert.der().clone())
    }
}

/// Makes a CA in `dir`: a new key (owner-only file) and its self-signed certificate.
fn create(dir: &Path, cert_path: &Path, key_path: &Path) -> Result<(String, KeyPair)> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let key = KeyPair::generate().map_err(ca_error)?;
    let cert = ca_params()?.self_signed(&key).map_err(ca_error)?;
    let cert_pem = cert.pem();
    write_private(key_path, key.serialize_pem().as_bytes())?;
    std::fs::write(cert_path, &cert_pem).map_err(|e| Error::io(cert_path, e))?;
    Ok((cert_pem, key))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| Error::io(path, e))?;
    file.write_all(bytes).map_err(|e| Error::io(path, e))
}

/// hudsucker asks for a server configuration per intercepted authority.
pub struct CaHandle(pub Arc<LocalCa>);

impl CertificateAuthority for CaHandle {
    async fn gen_server_config(&self, authority: &Authority) -> Arc<ServerConfig> {
        match self.0.server_config(authority.host()) {
            Ok(cfg) => cfg,
            // A host name rcgen cannot put in a certificate: present the CA's fallback name, so the client's
            // handshake fails with a name mismatch instead of the proxy crashing.
            Err(_) => self.0.server_config("invalid.webtape").expect("a plain DNS name is always certifiable"),
        }
    }
}
