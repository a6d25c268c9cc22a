//! vsync-node: the napi-rs addon behind `@muthuishere/vsync-s3-client`.
//!
//! Thin on purpose: it maps names, errors and lifecycles. Every error leaves here as a JS
//! `Error` whose `code` is the core's `ErrorKind::code()` and whose message is the core's
//! (never a secret); `index.js` maps the code to a class in one table, built from the core's
//! list (`errorKinds()`). Panics are caught (`guarded` around every body, on and off the main
//! thread, and `catch_unwind` on every export) and become the core's `Internal` kind instead of
//! crossing the FFI boundary.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::{AsyncTask, Buffer, JsError, ToNapiValue, TypeName};
use napi::{Env, Task};
use napi_derive::napi;
use vsync_core::{hooks, ErrorKind, OpenOptions, Vault};

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

fn options(defaults: Option<HashMap<String, String>>, timeout_ms: Option<f64>) -> OpenOptions {
    let mut opts = OpenOptions::default();
    if let Some(d) = defaults {
        opts.defaults = d.into_iter().collect();
    }
    if let Some(ms) = timeout_ms {
        if ms.is_finite() && ms > 0.0 {
            opts.timeout = Duration::from_secs_f64(ms / 1000.0);
        }
    }
    opts
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

    /// One HEAD on the bucket, off the main thread.
    #[napi(catch_unwind, ts_return_type = "Promise<number>")]
    pub fn remote_generation(&self) -> AsyncTask<CallTask<f64>> {
        CallTask::spawn(&self.inner, |v| v.remote_generation().map(|g| g as f64))
    }

    /// `remote_generation() > generation()`, decided by the core, off the main thread.
    #[napi(catch_unwind, ts_return_type = "Promise<boolean>")]
    pub fn has_new_version(&self) -> AsyncTask<CallTask<bool>> {
        CallTask::spawn(&self.inner, Vault::has_new_version)
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

enum OpenInput {
    /// `open()`: the bootstrap variables as `process.env` holds them now.
    Env(HashMap<String, String>),
    /// `openWith()`.
    Explicit { config: String, passphrase: String },
}

pub struct OpenTask {
    input: OpenInput,
    options: OpenOptions,
}

impl Task for OpenTask {
    type Output = Result<Vault, Fail>;
    type JsValue = NativeVault;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let options = self.options.clone();
        Ok(guarded(|| match &self.input {
            OpenInput::Env(vars) => vsync_core::open(&|k| vars.get(k).cloned(), options),
            OpenInput::Explicit { config, passphrase } => vsync_core::open_with(config, passphrase, options),
        }))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<NativeVault> {
        match output {
            Ok(vault) => Ok(NativeVault { inner: Arc::new(vault) }),
            Err(e) => Err(reject_with(env, e)),
        }
    }
}

/// A blocking call on the handle (network), run on the libuv thread pool.
pub struct CallTask<T> {
    vault: Arc<Vault>,
    call: fn(&Vault) -> vsync_core::Result<T>,
}

impl<T> CallTask<T> {
    fn spawn(vault: &Arc<Vault>, call: fn(&Vault) -> vsync_core::Result<T>) -> AsyncTask<CallTask<T>>
    where
        CallTask<T>: Task,
    {
        AsyncTask::new(CallTask { vault: Arc::clone(vault), call })
    }
}

impl<T: ToNapiValue + TypeName + Send + 'static> Task for CallTask<T> {
    type Output = Result<T, Fail>;
    type JsValue = T;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        Ok(guarded(|| (self.call)(&self.vault)))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<T> {
        output.map_err(|e| reject_with(env, e))
    }
}

/// `open()`: `vars` holds `VSYNC_CONFIG[_FILE]` / `VSYNC_PASSPHRASE[_FILE]` from `process.env`.
#[napi(catch_unwind, ts_return_type = "Promise<NativeVault>")]
pub fn open(
    vars: HashMap<String, String>,
    defaults: Option<HashMap<String, String>>,
    timeout_ms: Option<f64>,
) -> AsyncTask<OpenTask> {
    AsyncTask::new(OpenTask { input: OpenInput::Env(vars), options: options(defaults, timeout_ms) })
}

#[napi(catch_unwind, ts_return_type = "Promise<NativeVault>")]
pub fn open_with(
    config: String,
    passphrase: String,
    defaults: Option<HashMap<String, String>>,
    timeout_ms: Option<f64>,
) -> AsyncTask<OpenTask> {
    AsyncTask::new(OpenTask {
        input: OpenInput::Explicit { config, passphrase },
        options: options(defaults, timeout_ms),
    })
}

// ---- private test hooks (conformance/README.md), exported by the facade as `_testing` ----

#[napi(catch_unwind)]
pub fn testing_decrypt_envelope(envelope: Buffer, passphrase: String, salt: String, iterations: u32) -> Result<Buffer> {
    call(|| {
        hooks::decrypt_envelope(&envelope, &passphrase, &salt, iterations).map(|plain| Buffer::from(plain.as_slice()))
    })
}

#[napi(object)]
pub struct Unsealed {
    pub embedded_ts: String,
    pub payload: Buffer,
}

#[napi(catch_unwind)]
pub fn testing_unseal_manifest(sealed: Buffer, remote_ts: Option<String>) -> Result<Unsealed> {
    call(|| {
        hooks::unseal(&sealed, remote_ts.as_deref())
            .map(|(embedded_ts, payload)| Unsealed { embedded_ts, payload: payload.into() })
    })
}

#[napi(catch_unwind)]
pub fn testing_decode_config_json(blob: String) -> Result<String> {
    call(|| hooks::decode_config_json(&blob))
}

#[napi(catch_unwind)]
pub fn testing_open_payload(
    payload: Buffer,
    env_label: String,
    pointer_ts: Option<String>,
    defaults: Option<HashMap<String, String>>,
) -> Result<NativeVault> {
    call(|| {
        Vault::from_payload(&payload, &env_label, pointer_ts.as_deref(), options(defaults, None))
            .map(|v| NativeVault { inner: Arc::new(v) })
    })
}

#[napi(object)]
pub struct Bootstrap {
    pub config: String,
    pub passphrase: String,
    pub warnings: Vec<String>,
}

#[napi(catch_unwind)]
pub fn testing_resolve_bootstrap(env: HashMap<String, String>) -> Result<Bootstrap> {
    call(|| {
        hooks::resolve_bootstrap(&env).map(|(c, p, warnings)| Bootstrap {
            config: c.to_string(),
            passphrase: p.to_string(),
            warnings,
        })
    })
}

/// One of the core's error kinds: the facade builds its error classes' codes and its one
/// table from the core's list instead of spelling codes.
#[napi(object)]
pub struct KindInfo {
    pub number: i32,
    pub code: String,
    pub class_name: String,
    pub taxonomy: bool,
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
        })
        .collect()
}

/// Throws the JS error the addon throws for the core kind `class_name` (with a test message),
/// so the facade's table is tested per variant through the real native path.
#[napi(catch_unwind)]
pub fn testing_throw(class_name: String) -> Result<()> {
    call(|| {
        let kind = ErrorKind::from_class_name(&class_name)
            .ok_or_else(|| vsync_core::Error::invalid_argument(format!("no error kind named {class_name:?}")))?;
        Err(vsync_core::Error::new(kind, format!("test error of kind {class_name}")))
    })
}

/// Panics inside the boundary: it must reach JS as the core's `Internal` kind.
#[napi(catch_unwind)]
#[allow(clippy::panic)] // the point of this test hook
pub fn testing_panic() -> Result<()> {
    call(|| panic!("deliberate test panic"))
}
