//! vsync-python: the private native module `vsync_s3_client._native`.
//!
//! Thin by design: it maps names, errors and lifecycles onto `vsync-core` and nothing else.
//! The typed public API is the pure-Python facade in `python/vsync_s3_client/`.
//!
//! Four rules hold for every entry point:
//! - **The core never calls into Python.** Step 2 of the fallback chain (the environment) is
//!   looked up here, on the host side, and handed down as a value, as the Go, Java and Node
//!   bindings do: the facade passes `os.environ` as it is at call time; `open` copies it, and
//!   a read calls its `.get(key)` only when the core reports that the vault misses ([`resolve`]).
//! - **Errors**: a core [`Error`] becomes the Python class registered for its stable code by
//!   `errors.py`, once, at import ([`_register_error_classes`]); see [`raise`]. This module
//!   never imports `errors.py`.
//! - **Panics** never cross the boundary as `PanicException`: every call runs under
//!   [`catch_unwind`] and a panic becomes the core's `Internal` kind, which the table maps to
//!   the root `VSyncError` (as every binding does).
//! - **The GIL is released around every call that can wait**: the key derivation and S3
//!   requests, `close()` (it waits on the handle's `RwLock` for the readers in flight) and the
//!   copy of an asset. The pure-memory reads (`get_env`, `keys`, …) keep it: they never wait on
//!   anything that needs the GIL, and releasing it would cost a GIL hand-off per call (up to
//!   the switch interval when another thread is busy).

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::exceptions::{PyBaseException, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyType};
use vsync_core::{Error, ErrorKind, OpenOptions, Resolved, Vault};
use zeroize::Zeroizing;

#[cfg(feature = "testing-hooks")]
mod testing;

/// Run `f` without the GIL and without letting a panic unwind into Python.
pub(crate) fn detached<T: Send>(py: Python<'_>, f: impl FnOnce() -> vsync_core::Result<T> + Send) -> PyResult<T> {
    let out = py.detach(move || catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| Err(Error::caught_panic())));
    out.map_err(|e| raise(py, e))
}

/// Run `f` (pure memory, nothing that waits) with the GIL held, without letting a panic
/// unwind into Python.
fn guarded<T>(py: Python<'_>, f: impl FnOnce() -> vsync_core::Result<T>) -> PyResult<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| Err(Error::caught_panic())).map_err(|e| raise(py, e))
}

/// The Python class of every core error code, handed over by `errors.py` at import.
static ERROR_CLASSES: PyOnceLock<HashMap<&'static str, Py<PyType>>> = PyOnceLock::new();

/// Take the mapping `code -> exception class` (`errors._BY_CODE`), once. Refused unless it
/// names an exception class for every core kind, so a gap shows at import, not at a raise.
#[pyfunction]
fn _register_error_classes(py: Python<'_>, table: &Bound<'_, PyAny>) -> PyResult<()> {
    let mut classes = HashMap::new();
    for kind in ErrorKind::ALL {
        let class = table
            .get_item(kind.code())
            .map_err(|_| PyValueError::new_err(format!("no Python class for {}", kind.code())))?
            .cast_into::<PyType>()
            .map_err(PyErr::from)?;
        if !class.is_subclass_of::<PyBaseException>()? {
            return Err(PyTypeError::new_err(format!("the class for {} is not an exception", kind.code())));
        }
        classes.insert(kind.code(), class.unbind());
    }
    ERROR_CLASSES.set(py, classes).map_err(|_| PyRuntimeError::new_err("the error classes are already registered"))
}

/// The one place a core error becomes a Python exception: the class registered for the
/// core's stable `ErrorKind::code()`.
pub(crate) fn raise(py: Python<'_>, e: Error) -> PyErr {
    match ERROR_CLASSES.get(py).and_then(|classes| classes.get(e.code())) {
        Some(class) => PyErr::from_type(class.bind(py).clone(), e.message().to_string()),
        None => PyRuntimeError::new_err(format!("{}: {}", e.code(), e.message())),
    }
}

/// `environ.get(key)` (normally `os.environ`): step 2 of the chain, read by the host.
fn env_value(environ: &Bound<'_, PyAny>, key: &str) -> PyResult<Option<String>> {
    let v = environ.call_method1(intern!(environ.py(), "get"), (key,))?;
    if v.is_none() {
        return Ok(None);
    }
    v.extract::<String>()
        .map(Some)
        .map_err(|_| PyTypeError::new_err(format!("the environment lookup returned a non-str for {key:?}")))
}

/// The str pairs of `environ` (normally `os.environ`), for the bootstrap variables `open`
/// reads; like Node's snapshot of `process.env`, a pair that is not two strs is not part of
/// the environment. Values are wiped when dropped (they include the passphrase).
fn environ_snapshot(environ: &Bound<'_, PyAny>) -> PyResult<HashMap<String, Zeroizing<String>>> {
    let mut vars = HashMap::new();
    for item in environ.call_method0(intern!(environ.py(), "items"))?.try_iter()? {
        if let Ok((k, v)) = item?.extract::<(String, String)>() {
            vars.insert(k, Zeroizing::new(v));
        }
    }
    Ok(vars)
}

pub(crate) fn options(
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
pub(crate) struct Handle {
    pub(crate) vault: Vault,
}

impl Handle {
    /// The core's chain for `key`, step 2 supplied by the host: a first pass tells whether the
    /// core needs the environment (the vault misses); only then is `environ.get(key)` read —
    /// here, outside the core — and handed down for a second pass. The order stays in
    /// `Vault::resolve`; a vault hit never consults the environment.
    fn resolve(&self, py: Python<'_>, key: &str, environ: &Bound<'_, PyAny>) -> PyResult<Resolved> {
        let mut wants_env = false;
        let first = guarded(py, || {
            self.vault.resolve(key, &mut |_| {
                wants_env = true;
                None
            })
        })?;
        if !wants_env {
            return Ok(first);
        }
        match env_value(environ, key)? {
            None => Ok(first),
            Some(value) => {
                let mut value = Some(value);
                guarded(py, || self.vault.resolve(key, &mut |_| value.take()))
            }
        }
    }
}

#[pymethods]
impl Handle {
    /// The value of `key` through the fallback chain; `environ` is step 2 (`os.environ`).
    fn get_env(&self, py: Python<'_>, key: &str, environ: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
        Ok(self.resolve(py, key, environ)?.value.map(|v| v.as_str().to_owned()))
    }

    /// True iff steps 1-3 of the chain resolve `key`.
    fn has_env(&self, py: Python<'_>, key: &str, environ: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(self.resolve(py, key, environ)?.source != vsync_core::Source::Missing)
    }

    /// The source label of `key`: "vault", "env", "default" or "missing".
    fn env_source(&self, py: Python<'_>, key: &str, environ: &Bound<'_, PyAny>) -> PyResult<&'static str> {
        Ok(self.resolve(py, key, environ)?.source.label())
    }

    /// The resolved view (`Vault::environ`): every name `get_env` answers, with its value,
    /// sorted by name; `environ` (normally `os.environ`) is read once, here, before the core runs.
    fn environ(&self, py: Python<'_>, environ: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
        let vars = environ_snapshot(environ)?;
        let view = guarded(py, || self.vault.environ(vars.into_iter().map(|(k, mut v)| (k, std::mem::take(&mut *v)))))?;
        Ok(view.into_iter().map(|(k, v)| (k, v.as_str().to_owned())).collect())
    }

    /// An asset's bytes, else the key/value of that name as UTF-8 (KeyError when neither).
    /// GIL released for the copy (an asset can be megabytes).
    fn get_as_content<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = detached(py, || self.vault.get_as_content(name))?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Key names of the vault, in payload order.
    fn keys(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        guarded(py, || self.vault.keys())
    }

    /// The generation read at open time.
    fn generation(&self, py: Python<'_>) -> PyResult<u64> {
        guarded(py, || self.vault.generation())
    }

    /// The generation in the bucket now (one HEAD; network, GIL released).
    fn remote_generation(&self, py: Python<'_>) -> PyResult<u64> {
        detached(py, || self.vault.remote_generation())
    }

    /// `remote_generation() > generation()` (network, GIL released).
    fn has_new_version(&self, py: Python<'_>) -> PyResult<bool> {
        detached(py, || self.vault.has_new_version())
    }

    /// Wipe every value, asset, default and the credentials. Idempotent. GIL released: it
    /// waits for the readers in flight.
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
/// once from `environ` (normally `os.environ`), copied before the core runs. GIL released for
/// the KDF and S3 fetch.
#[pyfunction]
#[pyo3(signature = (environ, defaults=None, timeout=None, min_generation=None))]
fn open(
    py: Python<'_>,
    environ: &Bound<'_, PyAny>,
    defaults: Option<&Bound<'_, PyAny>>,
    timeout: Option<f64>,
    min_generation: Option<u64>,
) -> PyResult<Handle> {
    let opts = options(defaults, timeout, min_generation)?;
    let vars = environ_snapshot(environ)?;
    let vault = detached(py, || vsync_core::open(&|k| vars.get(k).map(|v| v.as_str().to_owned()), opts))?;
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
    let vault = detached(py, || vsync_core::open_with(&config, &passphrase, opts))?;
    Ok(Handle { vault })
}

/// The private native module of vsync_s3_client (use the public facade instead).
#[pymodule(name = "_native")]
mod native {
    #[pymodule_export]
    use super::{_register_error_classes, open, open_with, Handle};

    // The conformance runner's hooks: in the test build only (src/testing.rs).
    #[cfg(feature = "testing-hooks")]
    #[pymodule_export]
    use super::testing::{
        _panic_for_test, _raise_for_test, decode_config_json, decrypt_envelope, open_payload, resolve_bootstrap,
        unseal_manifest,
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
