//! The conformance runner's test hooks (conformance/README.md), compiled only with this crate's
//! `testing-hooks` feature: the wheel the Python suite and the conformance runner install has
//! them, the wheel users install does not (scripts/dist.sh builds without the feature, and
//! `release:check` fails on any of these names in a shipped `_native`).

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use vsync_core::{hooks, Error, Vault};

use crate::{detached, options, raise, Handle};

/// Decrypt an RQE1 envelope (hook `decrypt_envelope`). GIL released for the KDF.
#[pyfunction]
#[pyo3(signature = (envelope, passphrase, salt, iterations=600_000))]
pub(crate) fn decrypt_envelope<'py>(
    py: Python<'py>,
    envelope: &[u8],
    passphrase: &str,
    salt: &str,
    iterations: u32,
) -> PyResult<Bound<'py, PyBytes>> {
    let plain = detached(py, || hooks::decrypt_envelope(envelope, passphrase, salt, iterations))?;
    Ok(PyBytes::new(py, &plain))
}

/// Unwrap an RQEM0001 seal (hook `unseal_manifest`) → (embedded_ts, payload).
#[pyfunction]
#[pyo3(signature = (sealed, remote_ts=None))]
pub(crate) fn unseal_manifest<'py>(
    py: Python<'py>,
    sealed: &[u8],
    remote_ts: Option<&str>,
) -> PyResult<(String, Bound<'py, PyBytes>)> {
    let (ts, payload) = detached(py, || hooks::unseal(sealed, remote_ts))?;
    Ok((ts, PyBytes::new(py, &payload)))
}

/// Decode a config blob to its JSON text (hook `decode_config_json`; contains the secret key).
#[pyfunction]
pub(crate) fn decode_config_json(py: Python<'_>, blob: &str) -> PyResult<String> {
    detached(py, || hooks::decode_config_json(blob))
}

/// A handle from a decrypted payload, without S3 (hook `open_payload`).
#[pyfunction]
#[pyo3(signature = (payload, env_label, pointer_ts=None, defaults=None))]
pub(crate) fn open_payload(
    py: Python<'_>,
    payload: &[u8],
    env_label: &str,
    pointer_ts: Option<&str>,
    defaults: Option<&Bound<'_, PyAny>>,
) -> PyResult<Handle> {
    let opts = options(defaults, None, None)?;
    let vault = detached(py, || Vault::from_payload(payload, env_label, pointer_ts, opts))?;
    Ok(Handle { vault })
}

/// Resolve the bootstrap inputs from an explicit env mapping (hook `resolve_bootstrap`)
/// → (config, passphrase, warnings).
#[pyfunction]
pub(crate) fn resolve_bootstrap(
    py: Python<'_>,
    env: std::collections::HashMap<String, String>,
) -> PyResult<(String, String, Vec<String>)> {
    detached(py, || {
        let (c, p, w) = hooks::resolve_bootstrap(&env)?;
        Ok((c.as_str().to_owned(), p.as_str().to_owned(), w))
    })
}

/// Raise a panic inside the boundary (tests check it surfaces as the core's `Internal` kind).
#[pyfunction]
#[allow(clippy::panic)] // the point of this test hook
pub(crate) fn _panic_for_test(py: Python<'_>) -> PyResult<()> {
    detached(py, || -> vsync_core::Result<()> {
        std::panic::panic_any("deliberate test panic");
    })
}

/// Raise the Python exception mapped to a core error code number (tests of the mapping table).
#[pyfunction]
pub(crate) fn _raise_for_test(py: Python<'_>, number: i32) -> PyResult<()> {
    let kind =
        vsync_core::ErrorKind::from_number(number).ok_or_else(|| PyValueError::new_err("unknown error number"))?;
    Err(raise(py, Error::new(kind, format!("test error {}", kind.class_name()))))
}
