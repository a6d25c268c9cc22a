//! vsync-python: the private native module `vsync_s3_client._native`.
//!
//! Thin by design: it maps names, errors and lifecycles onto `vsync-core` and nothing else.
//! The typed public API is the pure-Python facade in `python/vsync_s3_client/`.
//!
//! Three rules hold for every entry point:
//! - **Errors**: a core [`Error`] becomes the Python class that `vsync_s3_client.errors._BY_CODE`
//!   names for its stable code (the one mapping table, in Python); see [`raise`].
//! - **Panics** never cross the boundary as `PanicException`: every call runs under
//!   [`catch_unwind`] and a panic becomes the core's `Internal` kind, which the table maps to
//!   the root `VSyncError` (as every binding does).
//! - **The GIL is released around every call that touches the vault** (not only the network
//!   and key-derivation ones). The core's handle is an `RwLock`: `close()` waits on it for the
//!   readers in flight, and a thread that waited for it while holding the GIL could deadlock
//!   against a reader that needs the GIL. Step 2 of the fallback chain calls back into Python
//!   (`os.environ.get`); `Vault::resolve` runs that lookup *without* holding the lock, and the
//!   env callback re-attaches to the GIL only for the lookup itself.

use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyType};
use vsync_core::{hooks, Error, OpenOptions, Vault};
use zeroize::Zeroizing;

/// A core error (a panic caught at the boundary is the core's `Internal` kind), or a Python
/// exception raised by a callback, re-raised as is.
enum Failure {
    Core(Error),
    Py(PyErr),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Core(e)
    }
}

/// Run `f` without the GIL and without letting a panic unwind into Python.
fn detached<T: Send>(py: Python<'_>, f: impl FnOnce() -> Result<T, Failure> + Send) -> PyResult<T> {
    let out =
        py.detach(move || catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| Err(Error::caught_panic().into())));
    out.map_err(|f| raise(py, f))
}

static BY_CODE: PyOnceLock<Py<PyDict>> = PyOnceLock::new();

/// The one place a core error becomes a Python exception: the class comes from the table
/// `vsync_s3_client.errors._BY_CODE`, keyed by the core's stable `ErrorKind::code()`.
fn raise(py: Python<'_>, failure: Failure) -> PyErr {
    let (code, message) = match failure {
        Failure::Py(e) => return e,
        Failure::Core(e) => (e.code(), e.message().to_string()),
    };
    let class = BY_CODE
        .import(py, "vsync_s3_client.errors", "_BY_CODE")
        .and_then(|table| table.get_item(code)?.ok_or_else(|| PyRuntimeError::new_err("unmapped error code")))
        .and_then(|cls| cls.cast_into::<PyType>().map_err(PyErr::from));
    match class {
        Ok(cls) => PyErr::from_type(cls, message),
        Err(_) => PyRuntimeError::new_err(format!("{code}: {message}")),
    }
}

/// Python's view of one environment variable, called at lookup time through `lookup`
/// (normally `os.environ.get`). A Python exception raised by it is kept and re-raised.
struct PyLookup {
    lookup: Py<PyAny>,
    failed: Option<PyErr>,
}

impl PyLookup {
    fn new(lookup: &Bound<'_, PyAny>) -> Self {
        PyLookup { lookup: lookup.clone().unbind(), failed: None }
    }

    fn get(&mut self, key: &str) -> Option<String> {
        if self.failed.is_some() {
            return None;
        }
        let got = Python::attach(|py| -> PyResult<Option<String>> {
            let v = self.lookup.bind(py).call1((key,))?;
            if v.is_none() {
                return Ok(None);
            }
            v.extract::<String>()
                .map(Some)
                .map_err(|_| PyTypeError::new_err(format!("the environment lookup returned a non-str for {key:?}")))
        });
        got.unwrap_or_else(|e| {
            self.failed = Some(e);
            None
        })
    }

    fn finish<T>(self, out: vsync_core::Result<T>) -> Result<T, Failure> {
        match self.failed {
            Some(e) => Err(Failure::Py(e)),
            None => out.map_err(Failure::Core),
        }
    }
}

fn options(
    defaults: Option<&Bound<'_, PyAny>>,
    timeout: Option<f64>,
    min_generation: Option<u64>,
) -> PyResult<OpenOptions> {
    let mut opts = OpenOptions { min_generation, ..OpenOptions::default() };
    if let Some(d) = defaults.filter(|d| !d.is_none()) {
        for item in d.call_method0("items")?.try_iter()? {
            let (k, v): (String, String) =
                item?.extract().map_err(|_| PyTypeError::new_err("defaults must map str keys to str values"))?;
            opts.defaults.insert(k, v);
        }
    }
    if let Some(t) = timeout {
        // The core validates and clamps (NaN, inf, <= 0 refused; 1e300 clamped, not a panic).
        opts.timeout = vsync_core::limits::timeout_from_f64(t, 1.0, "seconds")
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
    }
    Ok(opts)
}

/// An open vault (the core's handle). Wrapped by `vsync_s3_client.Vsync`; shows no secret.
#[pyclass(frozen, module = "vsync_s3_client._native", name = "Handle")]
struct Handle {
    vault: Vault,
}

#[pymethods]
impl Handle {
    /// The value of `key` through the fallback chain; `lookup` is step 2 (e.g. `os.environ.get`).
    fn get_env(&self, py: Python<'_>, key: &str, lookup: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
        let mut l = PyLookup::new(lookup);
        detached(py, || {
            let out = self.vault.get_env(key, &mut |k| l.get(k));
            l.finish(out).map(|v| v.map(|s| s.as_str().to_owned()))
        })
    }

    /// True iff steps 1-3 of the chain resolve `key`.
    fn has_env(&self, py: Python<'_>, key: &str, lookup: &Bound<'_, PyAny>) -> PyResult<bool> {
        let mut l = PyLookup::new(lookup);
        detached(py, || {
            let out = self.vault.has_env(key, &mut |k| l.get(k));
            l.finish(out)
        })
    }

    /// The source label of `key`: "vault", "env", "default" or "missing".
    fn env_source(&self, py: Python<'_>, key: &str, lookup: &Bound<'_, PyAny>) -> PyResult<&'static str> {
        let mut l = PyLookup::new(lookup);
        detached(py, || {
            let out = self.vault.env_source(key, &mut |k| l.get(k));
            l.finish(out).map(|s| s.label())
        })
    }

    /// An asset's bytes, else the key/value of that name as UTF-8 (KeyError when neither).
    fn get_as_content<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = detached(py, || Ok(self.vault.get_as_content(name)?))?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Key names of the vault, in payload order.
    fn keys(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        detached(py, || Ok(self.vault.keys()?))
    }

    /// The generation read at open time.
    fn generation(&self, py: Python<'_>) -> PyResult<u64> {
        detached(py, || Ok(self.vault.generation()?))
    }

    /// The generation in the bucket now (one HEAD; network, GIL released).
    fn remote_generation(&self, py: Python<'_>) -> PyResult<u64> {
        detached(py, || Ok(self.vault.remote_generation()?))
    }

    /// `remote_generation() > generation()` (network, GIL released).
    fn has_new_version(&self, py: Python<'_>) -> PyResult<bool> {
        detached(py, || Ok(self.vault.has_new_version()?))
    }

    /// Wipe every value, asset, default and the credentials. Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        detached(py, || {
            self.vault.close();
            Ok(())
        })
    }

    /// True once `close()` ran.
    #[getter]
    fn closed(&self) -> bool {
        self.vault.is_closed()
    }

    /// The environment label (not secret).
    #[getter]
    fn env_label(&self) -> &str {
        self.vault.env_label()
    }

    fn __repr__(&self) -> String {
        self.vault.redacted()
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err("a vsync handle cannot be pickled or copied; open one in each process"))
    }
}

/// Open from the process environment (`VSYNC_CONFIG[_FILE]`, `VSYNC_PASSPHRASE[_FILE]`), read
/// once through `lookup` (normally `os.environ.get`). GIL released for the KDF and S3 fetch.
#[pyfunction]
#[pyo3(signature = (lookup, defaults=None, timeout=None, min_generation=None))]
fn open(
    py: Python<'_>,
    lookup: &Bound<'_, PyAny>,
    defaults: Option<&Bound<'_, PyAny>>,
    timeout: Option<f64>,
    min_generation: Option<u64>,
) -> PyResult<Handle> {
    let opts = options(defaults, timeout, min_generation)?;
    let l = std::sync::Mutex::new(PyLookup::new(lookup));
    let vault = detached(py, || {
        let get = |k: &str| l.lock().ok().and_then(|mut l| l.get(k));
        let out = vsync_core::open(&get, opts);
        let l = l.into_inner().map_err(|_| Failure::Core(Error::caught_panic()))?;
        l.finish(out)
    })?;
    Ok(Handle { vault })
}

/// Open with explicit inputs, skipping the environment. GIL released for the KDF and S3 fetch.
#[pyfunction]
#[pyo3(signature = (config, passphrase, defaults=None, timeout=None, min_generation=None))]
fn open_with(
    py: Python<'_>,
    config: Option<String>,
    passphrase: Option<String>,
    defaults: Option<&Bound<'_, PyAny>>,
    timeout: Option<f64>,
    min_generation: Option<u64>,
) -> PyResult<Handle> {
    let opts = options(defaults, timeout, min_generation)?;
    let config = Zeroizing::new(config.unwrap_or_default());
    let passphrase = Zeroizing::new(passphrase.unwrap_or_default());
    let vault = detached(py, || Ok(vsync_core::open_with(&config, &passphrase, opts)?))?;
    Ok(Handle { vault })
}

// ---- private test hooks for the conformance runner (conformance/README.md) ----

/// Decrypt an RQE1 envelope (hook `decrypt_envelope`). GIL released for the KDF.
#[pyfunction]
#[pyo3(signature = (envelope, passphrase, salt, iterations=600_000))]
fn decrypt_envelope<'py>(
    py: Python<'py>,
    envelope: &[u8],
    passphrase: &str,
    salt: &str,
    iterations: u32,
) -> PyResult<Bound<'py, PyBytes>> {
    let plain = detached(py, || Ok(hooks::decrypt_envelope(envelope, passphrase, salt, iterations)?))?;
    Ok(PyBytes::new(py, &plain))
}

/// Unwrap an RQEM0001 seal (hook `unseal_manifest`) → (embedded_ts, payload).
#[pyfunction]
#[pyo3(signature = (sealed, remote_ts=None))]
fn unseal_manifest<'py>(
    py: Python<'py>,
    sealed: &[u8],
    remote_ts: Option<&str>,
) -> PyResult<(String, Bound<'py, PyBytes>)> {
    let (ts, payload) = detached(py, || Ok(hooks::unseal(sealed, remote_ts)?))?;
    Ok((ts, PyBytes::new(py, &payload)))
}

/// Decode a config blob to its JSON text (hook `decode_config_json`; contains the secret key).
#[pyfunction]
fn decode_config_json(py: Python<'_>, blob: &str) -> PyResult<String> {
    detached(py, || Ok(hooks::decode_config_json(blob)?))
}

/// A handle from a decrypted payload, without S3 (hook `open_payload`).
#[pyfunction]
#[pyo3(signature = (payload, env_label, pointer_ts=None, defaults=None))]
fn open_payload(
    py: Python<'_>,
    payload: &[u8],
    env_label: &str,
    pointer_ts: Option<&str>,
    defaults: Option<&Bound<'_, PyAny>>,
) -> PyResult<Handle> {
    let opts = options(defaults, None, None)?;
    let vault = detached(py, || Ok(Vault::from_payload(payload, env_label, pointer_ts, opts)?))?;
    Ok(Handle { vault })
}

/// Resolve the bootstrap inputs from an explicit env mapping (hook `resolve_bootstrap`)
/// → (config, passphrase, warnings).
#[pyfunction]
fn resolve_bootstrap(
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
fn _panic_for_test(py: Python<'_>) -> PyResult<()> {
    detached(py, || -> Result<(), Failure> {
        std::panic::panic_any("deliberate test panic");
    })
}

/// Raise the Python exception mapped to a core error code number (tests of the mapping table).
#[pyfunction]
fn _raise_for_test(py: Python<'_>, number: i32) -> PyResult<()> {
    let kind =
        vsync_core::ErrorKind::from_number(number).ok_or_else(|| PyValueError::new_err("unknown error number"))?;
    Err(raise(py, Failure::Core(Error::new(kind, format!("test error {}", kind.class_name())))))
}

/// The private native module of vsync_s3_client (use the public facade instead).
#[pymodule(name = "_native")]
mod native {
    #[pymodule_export]
    use super::{
        _panic_for_test, _raise_for_test, decode_config_json, decrypt_envelope, open, open_payload, open_with,
        resolve_bootstrap, unseal_manifest, Handle,
    };

    #[pymodule_init]
    fn init(m: &pyo3::Bound<'_, pyo3::types::PyModule>) -> pyo3::PyResult<()> {
        use pyo3::types::PyModuleMethods;
        // The one version of the project (workspace Cargo.toml); the facade re-exports it.
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        // (number, class name, code) for every core ErrorKind: `errors.py` builds its table and
        // the classes' `code` from it, and the tests check the table covers every kind.
        let kinds: Vec<(i32, &str, &str)> =
            vsync_core::ErrorKind::ALL.iter().map(|k| (k.number(), k.class_name(), k.code())).collect();
        m.add("ERROR_KINDS", kinds)?;
        Ok(())
    }
}
