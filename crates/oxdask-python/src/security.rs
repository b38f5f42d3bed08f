//! TLS settings from Python: `(ca, cert, key)` tuples of paths or PEM text, and throw-away
//! certificates for `Security.temporary()`.

use oxdask_comm::{TemporaryPki, Tls};
use pyo3::prelude::*;

use crate::errors::tls_err;

/// What Python passes for TLS: CA, certificate, and key (`None`: in the certificate's PEM);
/// each a path or PEM text.
pub(crate) type TlsArg = Option<(String, String, Option<String>)>;

/// Loads the settings, or `None` for plain TCP. Errors name the file at fault.
pub(crate) fn load_tls(arg: TlsArg) -> PyResult<Option<Tls>> {
    arg.map(|(ca, cert, key)| Tls::from_strings(&ca, &cert, key.as_deref()).map_err(tls_err))
        .transpose()
}

/// A new throw-away CA and a certificate it signed: `(ca_pem, cert_pem, key_pem)`.
#[pyfunction]
pub(crate) fn temporary_pki() -> PyResult<(String, String, String)> {
    let pki = TemporaryPki::generate().map_err(tls_err)?;
    Ok((pki.ca, pki.cert, pki.key))
}

/// Checks that TLS settings load (files readable, PEM well-formed, key matching), so that
/// `Security` reports a bad file when it is created rather than at the first connection.
#[pyfunction]
pub(crate) fn check_tls(ca: String, cert: String, key: Option<String>) -> PyResult<()> {
    load_tls(Some((ca, cert, key))).map(|_| ())
}
