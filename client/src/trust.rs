//! Which servers' certificates the client believes (feature `tls`): the
//! Web PKI roots, the operating system's store (`SSL_CERT_FILE` /
//! `SSL_CERT_DIR` when set, as OpenSSL reads them) and, for a hub behind a
//! private certificate authority, the CA certificates of one PEM file.

use crate::Error;
use rustls::pki_types::pem::PemObject;
use std::path::Path;
use std::sync::Arc;
use tokio_tungstenite::Connector;

/// The HTTP client and WebSocket connector of one trust configuration.
#[derive(Clone)]
pub struct Trust {
    pub http: reqwest::Client,
    pub ws: Connector,
}

impl Trust {
    /// The default roots plus every certificate in the PEM file `ca_file`.
    ///
    /// # Errors
    /// [`Error::Trust`] naming the file when it cannot be read or holds no
    /// usable certificate.
    pub fn with_ca_file(ca_file: &Path) -> Result<Trust, Error> {
        let trust_error = |why: String| Error::Trust(format!("{}: {why}", ca_file.display()));
        let pem = std::fs::read(ca_file).map_err(|e| trust_error(e.to_string()))?;
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        let mut http = reqwest::Client::builder();
        let mut added = 0;
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| trust_error(format!("not PEM certificates: {e}")))?;
            roots
                .add(cert.clone())
                .map_err(|e| trust_error(format!("unusable certificate: {e}")))?;
            http = http.add_root_certificate(
                reqwest::Certificate::from_der(&cert).map_err(|e| trust_error(e.to_string()))?,
            );
            added += 1;
        }
        if added == 0 {
            return Err(trust_error("no certificate in the file".into()));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| trust_error(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Trust {
            http: http.build().map_err(Error::Http)?,
            ws: Connector::Rustls(Arc::new(config)),
        })
    }
}
