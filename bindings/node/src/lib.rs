//! vsync-node: the napi-rs addon behind `@muthuishere/vsync-s3-client`.
//!
//! Thin on purpose: it maps names, errors and lifecycles. Every error leaves here as a JS
//! `Error` whose `code` is the core's `ErrorKind::code()` and whose message is the core's
//! (never a secret); `index.js` maps the code to a class in one table, built from the core's
//! list (`errorKinds()`). Panics are caught (`guarded` around every body, on and off the main
//! thread, and `catch_unwind` on every export) and become the core's `Internal` kind instead of
//! crossing the FFI boundary.
//!
//! Network calls (`open`, `remoteGeneration`, `hasNewVersion`) run on a thread of their own, not
//! on the libuv pool: each may wait up to its deadline, and four of them would otherwise hold
//! every pool thread and stall the application's `fs`, `dns.lookup`, `crypto` and `zlib` work
//! (issue 12 #6). The thread settles a promise through a threadsafe function and exits.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use napi::bindgen_prelude::{Buffer, JsError, Object, ToNapiValue};
use napi::Env;
use napi_derive::napi;
use vsync_core::{ErrorKind, OpenOptions, Vault};

/// The error type of every export: `status` is the core's stable code (it becomes `err.code`).
/// (Named `Result` because napi-derive recognises fallible exports by that name.)
type Result<T, E = napi::Error<String>> = std::result::Result<T, E>;

/// A failure on its way to JS: (code, message). Plain strings, so it crosses threads.
pub struct Fail(String, String);

impl From<vsync_core::Error> for Fail {
    fn from(e: vsync_core::Error) -> Self {
        Fail(e.code().to_string(), e.message().to_string())
    }
}

impl From<Fail> for napi::Error<String> {
    fn from(f: Fail) -> Self {
        napi::Error::new(f.0, f.1)
    }
}

/// Runs `f`, turning a panic into the core's `Internal` kind (the facade's root `VSyncError`,
/// as in every binding) so that it never unwinds into Node.
fn guarded<T>(f: impl FnOnce() -> vsync_core::Result<T>) -> Result<T, Fail> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| Err(vsync_core::Error::caught_panic())).map_err(Fail::from)
}

/// A synchronous export's body: `guarded`, with the error as napi's.
fn call<T>(f: impl FnOnce() -> vsync_core::Result<T>) -> Result<T> {
    guarded(f).map_err(Into::into)
}

/// Rejects a promise with a JS `Error` whose `code` is the core's code (built on the JS thread).
fn reject_with(env: Env, f: Fail) -> napi::Error {
    let js = JsError::from(napi::Error::<String>::from(f)).into_unknown(env);
    napi::Error::from(js)
}

fn options(
    defaults: Option<HashMap<String, String>>,
    timeout_ms: Option<f64>,
    min_generation: Option<f64>,
) -> Result<OpenOptions, Fail> {
    let mut opts = OpenOptions::default();
    if let Some(g) = min_generation {
        opts.min_generation = Some(vsync_core::bootstrap::min_generation_from_f64(g)?);
    }
    if let Some(d) = defaults {
        opts.defaults = d.into_iter().collect();
    }
    if let Some(ms) = timeout_ms {
        // The core validates and clamps: `1e300` is a 24 h deadline, not a panic.
        opts.timeout = vsync_core::limits::timeout_from_f64(ms, 0.001, "milliseconds")
            .map_err(|e| Fail::from(vsync_core::Error::invalid_argument(e.to_string())))?;
    }
    Ok(opts)
}

/// Runs `work` on a new thread (not the libuv pool) and returns a promise settled with its
/// result on the JS thread. A panic in `work` becomes a rejection of the core's `Internal` kind.
fn off_pool<'e, T, W>(env: &'e Env, name: &str, work: W) -> napi::Result<Object<'e>>
where
    T: Send + 'static,
    W: FnOnce() -> Result<T, Fail> + Send + 'static,
    NativeValue<T>: ToNapiValue,
{
    let (deferred, promise) = env.create_deferred()?;
    let spawned = std::thread::Builder::new().name(name.to_string()).spawn(move || {
        let output = match catch_unwind(AssertUnwindSafe(work)) {
            Ok(r) => r,
            Err(_) => Err(Fail::from(vsync_core::Error::caught_panic())),
        };
        deferred.resolve(move |env| match output {
            Ok(v) => Ok(NativeValue(v)),
            Err(f) => Err(reject_with(env, f)),
        });
    });
    spawned.map_err(|_| napi::Error::from_reason("could not start a thread for the vsync call"))?;
    Ok(promise)
}

/// What a settled promise carries: a handle, a generation or a boolean.
pub struct NativeValue<T>(T);

impl ToNapiValue for NativeValue<Vault> {
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> napi::Result<napi::sys::napi_value> {
        // SAFETY: called by napi on the JS thread with its env, as the trait requires.
        unsafe { NativeVault::to_napi_value(env, NativeVault { inner: Arc::new(val.0) }) }
    }
}

impl ToNapiValue for NativeValue<f64> {
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> napi::Result<napi::sys::napi_value> {
        // SAFETY: as above.
        unsafe { f64::to_napi_value(env, val.0) }
    }
}

impl ToNapiValue for NativeValue<bool> {
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> napi::Result<napi::sys::napi_value> {
        // SAFETY: as above.
        unsafe { bool::to_napi_value(env, val.0) }
    }
}

/// The native handle. The JS facade keeps it in a `#private` field and never exposes it.
#[napi]
pub struct NativeVault {
    inner: Arc<Vault>,
}

/// Step 2 of the chain: the facade passes `process.env[key]` as read at lookup time; the order
/// of the chain stays in `Vault::resolve` (this closure only returns the value it was given).
/// Eager on purpose: no JavaScript runs while the core holds the handle's read lock.
fn env_of(value: Option<String>) -> impl FnMut(&str) -> Option<String> {
    move |_| value.clone()
}

#[napi]
impl NativeVault {
    #[napi(catch_unwind)]
    pub fn get_env(&self, key: String, env_value: Option<String>) -> Result<Option<String>> {
        call(|| self.inner.get_env(&key, &mut env_of(env_value)).map(|v| v.map(|s| s.to_string())))
    }

    #[napi(catch_unwind)]
    pub fn has_env(&self, key: String, env_value: Option<String>) -> Result<bool> {
        call(|| self.inner.has_env(&key, &mut env_of(env_value)))
    }

    #[napi(catch_unwind)]
    pub fn env_source(&self, key: String, env_value: Option<String>) -> Result<String> {
        call(|| self.inner.env_source(&key, &mut env_of(env_value)).map(|s| s.label().to_string()))
    }

    /// The resolved view (`Vault::environ`) as `[name, value]` pairs sorted by name;
    /// `process_env` is the facade's snapshot of `process.env`, taken just before the call.
    #[napi(catch_unwind)]
    pub fn environ(&self, process_env: HashMap<String, String>) -> Result<Vec<Vec<String>>> {
        call(|| {
            let view = self.inner.environ(process_env)?;
            Ok(view.into_iter().map(|(k, v)| vec![k, v.as_str().to_owned()]).collect())
        })
    }

    /// The bytes, or `null` on a lookup miss (the core's `NotFound`).
    #[napi(catch_unwind)]
    pub fn get_as_content(&self, name: String) -> Result<Option<Buffer>> {
        call(|| match self.inner.get_as_content(&name) {
            Ok(bytes) => Ok(Some(Buffer::from(bytes.as_slice()))),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        })
    }

    #[napi(catch_unwind)]
    pub fn keys(&self) -> Result<Vec<String>> {
        call(|| self.inner.keys())
    }

    #[napi(catch_unwind)]
    pub fn generation(&self) -> Result<f64> {
        call(|| self.inner.generation().map(|g| g as f64))
    }

    /// One HEAD on the bucket, on a thread of its own (not the libuv pool).
    #[napi(catch_unwind, ts_return_type = "Promise<number>")]
    pub fn remote_generation<'e>(&self, env: &'e Env) -> napi::Result<Object<'e>> {
        let vault = Arc::clone(&self.inner);
        off_pool(env, "vsync-remote-gen", move || vault.remote_generation().map(|g| g as f64).map_err(Fail::from))
    }

    /// `remote_generation() > generation()`, decided by the core, on a thread of its own.
    #[napi(catch_unwind, ts_return_type = "Promise<boolean>")]
    pub fn has_new_version<'e>(&self, env: &'e Env) -> napi::Result<Object<'e>> {
        let vault = Arc::clone(&self.inner);
        off_pool(env, "vsync-has-new", move || vault.has_new_version().map_err(Fail::from))
    }

    #[napi(catch_unwind)]
    pub fn close(&self) {
        self.inner.close();
    }

    /// `<vsync:redacted gen=N env=E>`
    #[napi(catch_unwind)]
    pub fn redacted(&self) -> String {
        self.inner.redacted()
    }
}

/// `open()`: `vars` holds `VSYNC_CONFIG[_FILE]` / `VSYNC_PASSPHRASE[_FILE]` from `process.env`.
#[napi(catch_unwind, ts_return_type = "Promise<NativeVault>")]
pub fn open(
    env: &Env,
    vars: HashMap<String, String>,
    defaults: Option<HashMap<String, String>>,
    timeout_ms: Option<f64>,
    min_generation: Option<f64>,
) -> napi::Result<Object<'_>> {
    let opts = options(defaults, timeout_ms, min_generation);
    off_pool(env, "vsync-open", move || {
        let opts = opts?;
        vsync_core::open(&|k| vars.get(k).cloned(), opts).map_err(Fail::from)
    })
}

#[napi(catch_unwind, ts_return_type = "Promise<NativeVault>")]
pub fn open_with(
    env: &Env,
    config: String,
    passphrase: String,
    defaults: Option<HashMap<String, String>>,
    timeout_ms: Option<f64>,
    min_generation: Option<f64>,
) -> napi::Result<Object<'_>> {
    let opts = options(defaults, timeout_ms, min_generation);
    // Moved into the thread and dropped there; the JS strings are the caller's to keep.
    let passphrase = zeroize::Zeroizing::new(passphrase);
    off_pool(env, "vsync-open", move || vsync_core::open_with(&config, &passphrase, opts?).map_err(Fail::from))
}

/// One of the core's error kinds: the facade builds its error classes' codes and its one
/// table from the core's list instead of spelling codes.
#[napi(object)]
pub struct KindInfo {
    pub number: i32,
    pub code: String,
    pub class_name: String,
    pub taxonomy: bool,
    /// The exit code of a program that ends on this kind (the preload, as `vsync run`).
    pub exit_code: i32,
}

/// The bootstrap variables (`bootstrap::VARIABLES`): what the preload removes from
/// `process.env` once the vault is open, as `vsync run` removes them from its command's.
#[napi(catch_unwind)]
pub fn bootstrap_variables() -> Vec<String> {
    vsync_core::bootstrap::VARIABLES.iter().map(|v| v.to_string()).collect()
}

/// Every error kind of the core (`ErrorKind::ALL`), in the core's order.
#[napi(catch_unwind)]
pub fn error_kinds() -> Vec<KindInfo> {
    ErrorKind::ALL
        .into_iter()
        .map(|k| KindInfo {
            number: k.number(),
            code: k.code().into(),
            class_name: k.class_name().into(),
            taxonomy: k.is_taxonomy(),
            exit_code: k.exit_code(),
        })
        .collect()
}

// The private test hooks (`testing*`, wrapped by the facade as `_testing`): test builds only.
#[cfg(feature = "testing-hooks")]
mod testing;
