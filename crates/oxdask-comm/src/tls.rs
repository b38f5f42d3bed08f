//! TLS settings: mutual authentication of every peer against one private certificate authority.
//!
//! A [`Tls`] holds a CA (the trust anchors), this endpoint's certificate chain and its private
//! key, loaded from PEM, and builds both rustls configurations from them: the server side
//! requires a client certificate signed by the CA, the client side presents its own and checks
//! the server's against the same CA. One [`Tls`] serves every connection of a process, accepted
//! or opened.
//!
//! Host names are not checked, as in Dask: workers reach each other at whatever address they
//! registered with (often a bare IP chosen at start-up), so the trust decision is "signed by the
//! cluster's own CA", not "named like the address". The chain, validity dates and key usages
//! are checked in full. Use a CA that signs nothing but the cluster's certificates.
//!
//! The provider is rustls' `ring` (no C toolchain or cmake needed to build it).

use std::fmt;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::{CommError, Result};

/// Where a PEM item came from: a file path, or the PEM text itself (as Dask's `Security`
/// accepts both).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PemSource {
    /// A file holding PEM blocks.
    File(String),
    /// PEM text.
    Inline(String),
}

impl PemSource {
    /// A path, or PEM text if `text` contains a `-----BEGIN` line.
    pub fn guess(text: &str) -> Self {
        if text.contains("-----BEGIN ") {
            Self::Inline(text.to_owned())
        } else {
            Self::File(text.to_owned())
        }
    }

    fn origin(&self) -> String {
        match self {
            Self::File(path) => path.clone(),
            Self::Inline(_) => "(inline PEM)".to_owned(),
        }
    }

    fn read(&self, item: &'static str) -> Result<Vec<u8>> {
        match self {
            Self::Inline(text) => Ok(text.as_bytes().to_vec()),
            Self::File(path) => std::fs::read(path).map_err(|e| CommError::TlsConfig {
                item,
                origin: self.origin(),
                reason: format!("cannot read it: {e}"),
            }),
        }
    }
}

/// A TLS stream accepted by [`Tls::accept_server`].
pub use tokio_rustls::server::TlsStream as ServerTlsStream;

/// An endpoint's TLS settings: trusted CA, own certificate chain, own private key.
///
/// Cheap to clone (the rustls configurations are shared).
#[derive(Clone)]
pub struct Tls {
    client: Arc<rustls::ClientConfig>,
    server: Arc<rustls::ServerConfig>,
}

impl PartialEq for Tls {
    /// The same loaded settings (clones of one [`Tls`]); files are not compared.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.client, &other.client) && Arc::ptr_eq(&self.server, &other.server)
    }
}

impl fmt::Debug for Tls {
    /// Never prints key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tls { .. }")
    }
}

impl Tls {
    /// Loads the CA certificates, the certificate chain and the private key.
    ///
    /// With `key` `None`, the key is read from the certificate's PEM (a combined file, as
    /// Dask allows). Errors name the item and the file that is at fault.
    pub fn load(ca: &PemSource, cert: &PemSource, key: Option<&PemSource>) -> Result<Self> {
        let ca_certs = certificates(ca, "TLS CA file")?;
        let chain = certificates(cert, "TLS certificate file")?;
        let key_source = key.unwrap_or(cert);
        let key_der = private_key(key_source)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());

        let mut roots = RootCertStore::empty();
        for c in ca_certs {
            roots.add(c).map_err(|e| CommError::TlsConfig {
                item: "TLS CA file",
                origin: ca.origin(),
                reason: format!("not a usable CA certificate: {e}"),
            })?;
        }
        let roots = Arc::new(roots);
        let ca_error = |e: &dyn fmt::Display| CommError::TlsConfig {
            item: "TLS CA file",
            origin: ca.origin(),
            reason: e.to_string(),
        };
        let key_error = |e: rustls::Error| CommError::TlsConfig {
            item: "TLS private key",
            origin: key_source.origin(),
            reason: format!("does not fit the certificate in {}: {e}", cert.origin()),
        };

        let client_verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::clone(&roots), Arc::clone(&provider))
                .build()
                .map_err(|e| ca_error(&e))?;
        let server = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| ca_error(&e))?
            .with_client_cert_verifier(client_verifier)
            .with_single_cert(chain.clone(), key_der.clone_key())
            .map_err(key_error)?;

        let inner = WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider))
            .build()
            .map_err(|e| ca_error(&e))?;
        let client = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| ca_error(&e))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ChainOnly { inner }))
            .with_client_auth_cert(chain, key_der)
            .map_err(key_error)?;
        Ok(Self {
            client: Arc::new(client),
            server: Arc::new(server),
        })
    }

    /// Loads from three strings, each a path or PEM text (see [`PemSource::guess`]).
    pub fn from_strings(ca: &str, cert: &str, key: Option<&str>) -> Result<Self> {
        let key = key.map(PemSource::guess);
        Self::load(&PemSource::guess(ca), &PemSource::guess(cert), key.as_ref())
    }

    pub(crate) fn connector(&self) -> tokio_rustls::TlsConnector {
        tokio_rustls::TlsConnector::from(Arc::clone(&self.client))
    }

    pub(crate) fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(Arc::clone(&self.server))
    }

    /// The server side of a TLS handshake on an accepted TCP stream, for other protocols
    /// than oxdask's (the scheduler's HTTPS state endpoint): the peer must present a
    /// certificate signed by the same CA.
    ///
    /// # Errors
    ///
    /// The handshake's IO or TLS error.
    pub async fn accept_server(
        &self,
        stream: tokio::net::TcpStream,
    ) -> std::io::Result<ServerTlsStream<tokio::net::TcpStream>> {
        self.acceptor().accept(stream).await
    }
}

fn certificates(source: &PemSource, item: &'static str) -> Result<Vec<CertificateDer<'static>>> {
    let bytes = source.read(item)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| CommError::TlsConfig {
            item,
            origin: source.origin(),
            reason: format!("malformed PEM: {e}"),
        })?;
    if certs.is_empty() {
        return Err(CommError::TlsConfig {
            item,
            origin: source.origin(),
            reason: "no certificate found (expected a PEM \"BEGIN CERTIFICATE\" block)".to_owned(),
        });
    }
    Ok(certs)
}

fn private_key(source: &PemSource) -> Result<PrivateKeyDer<'static>> {
    let bytes = source.read("TLS private key")?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| CommError::TlsConfig {
        item: "TLS private key",
        origin: source.origin(),
        reason: match e {
            rustls::pki_types::pem::Error::NoItemsFound => {
                "no private key found (expected a PEM \"BEGIN PRIVATE KEY\" block)".to_owned()
            }
            other => format!("malformed PEM: {other}"),
        },
    })
}

/// Checks the server's chain against the CA and ignores its names (see the module docs).
#[derive(Debug)]
struct ChainOnly {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        // webpki checks the name last, after the chain, dates and usages have passed: a name
        // error therefore means "valid certificate of our CA, other name".
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A throw-away certificate authority and one certificate it signed, as PEM text.
#[derive(Clone)]
pub struct TemporaryPki {
    /// The CA certificate (trust anchor).
    pub ca: String,
    /// A certificate signed by the CA, for `localhost` and `127.0.0.1`, usable by servers and
    /// clients alike.
    pub cert: String,
    /// The certificate's private key.
    pub key: String,
}

impl fmt::Debug for TemporaryPki {
    /// Never prints the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TemporaryPki { .. }")
    }
}

impl TemporaryPki {
    /// Generates a new CA (ECDSA P-256) and a certificate signed by it, in memory.
    ///
    /// For tests and single-machine clusters (`Security.temporary()`): the CA's key is dropped,
    /// so nothing else can ever be signed by it.
    pub fn generate() -> Result<Self> {
        let err = |e: rcgen::Error| CommError::TlsConfig {
            item: "TLS temporary certificate",
            origin: "(generated)".to_owned(),
            reason: e.to_string(),
        };
        let ca_key = KeyPair::generate().map_err(err)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "oxdask temporary CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key).map_err(err)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let key = KeyPair::generate().map_err(err)?;
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .map_err(err)?;
        params
            .distinguished_name
            .push(DnType::CommonName, "oxdask temporary");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.use_authority_key_identifier_extension = true;
        let cert = params.signed_by(&key, &issuer).map_err(err)?;
        Ok(Self {
            ca: ca_cert.pem(),
            cert: cert.pem(),
            key: key.serialize_pem(),
        })
    }

    /// The [`Tls`] settings of these PEM texts.
    pub fn tls(&self) -> Result<Tls> {
        Tls::load(
            &PemSource::Inline(self.ca.clone()),
            &PemSource::Inline(self.cert.clone()),
            Some(&PemSource::Inline(self.key.clone())),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_pki_loads_and_combined_pem_works() {
        let pki = TemporaryPki::generate().unwrap();
        pki.tls().unwrap();
        let combined = format!("{}{}", pki.cert, pki.key);
        Tls::from_strings(&pki.ca, &combined, None).unwrap();
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        let pki = TemporaryPki::generate().unwrap();
        let err = Tls::from_strings("/nonexistent/ca.pem", &pki.cert, Some(&pki.key))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("TLS CA file /nonexistent/ca.pem: cannot read it"),
            "{err}"
        );
        let err = Tls::from_strings(&pki.ca, &pki.key, Some(&pki.key))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no certificate found"), "{err}");
        let err = Tls::from_strings(&pki.ca, &pki.cert, Some(&pki.cert))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no private key found"), "{err}");
        let other = TemporaryPki::generate().unwrap();
        let err = Tls::from_strings(&pki.ca, &pki.cert, Some(&other.key))
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not fit the certificate"), "{err}");
    }
}
