//! vsync-java: the JNI side of `io.github.muthuishere:vsync-s3-client`.
//!
//! The handle's entry points are the package-private natives of `io.github.muthuishere.vsync.Natives`
//! (only `Vsync` and `VsyncClient`, which own the raw pointer, can call them); the conformance
//! hooks are private natives of the test class `io.github.muthuishere.vsync.Testing`, compiled
//! only with the cargo feature `testing-hooks` (the test build; the release library has none of
//! them: scripts/release-check.sh). They only convert
//! arguments, call `vsync-core`, and hand errors over: no format, lookup order or error
//! classification lives here (see `core/`).
//!
//! Boundary rules:
//! - every entry point is declared with [`jni_entry_points!`]: its body runs inside
//!   `EnvUnowned::with_env` (a `catch_unwind`) and resolves through the [`Throw`] policy;
//! - an error is handed to Java as the core's `(class name, code, message)`: the Java enum
//!   `io.github.muthuishere.vsync.ErrorKind` (the one table) builds the exception, which is then
//!   thrown. A panic is the core's `Internal` kind (the root `VSyncException`), and nothing is
//!   thrown over an exception that is already pending (for example one thrown by the caller's
//!   lookup, or by the table itself);
//! - a handle is `Box<Vault>` leaked into a `jlong`. `Natives.close` wipes the contents (the
//!   core's `Vault::close`, under its write lock); the box itself is freed by `Natives.free`,
//!   which the Java side calls exactly once from a `java.lang.ref.Cleaner` when the `Vsync`
//!   object is unreachable, so no reader can still hold the pointer (see `Vsync.java`).

use std::cell::RefCell;

use jni::errors::ErrorPolicy;
use jni::objects::{JByteArray, JClass, JObject, JObjectArray, JString, JThrowable, JValue};
use jni::sys::{jboolean, jint, jlong};
use jni::{jni_sig, jni_str, Env, EnvUnowned};
use vsync_core::{Error, ErrorKind, OpenOptions, Vault};
use zeroize::Zeroizing;

/// What can go wrong inside a native method.
enum Fail {
    /// A vsync error: handed to the Java table.
    Core(Error),
    /// A JNI failure (often a Java exception that is already pending).
    Jni(jni::errors::Error),
}

impl From<jni::errors::Error> for Fail {
    fn from(e: jni::errors::Error) -> Self {
        Fail::Jni(e)
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Core(e)
    }
}

type R<T> = Result<T, Fail>;

/// The Java table that turns the core's `(class name, code, message)` into an exception.
const ERROR_TABLE: &str = "io/github/muthuishere/vsync/ErrorKind";

/// Throws the exception the Java table makes of `e`. An exception raised while making it (an
/// out-of-memory) stays pending instead: it is the more precise one.
fn throw_core(env: &mut Env<'_>, e: &Error) -> jni::errors::Result<()> {
    let class_name = env.new_string(e.kind().class_name())?;
    let code = env.new_string(e.code())?;
    let message = env.new_string(e.message())?;
    let thrown = env
        .call_static_method(
            jni::strings::JNIString::from(ERROR_TABLE),
            jni_str!("create"),
            jni_sig!("(Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;)Ljava/lang/RuntimeException;"),
            &[JValue::from(&class_name), JValue::from(&code), JValue::from(&message)],
        )?
        .l()?;
    let throwable = env.cast_local::<JThrowable>(thrown)?;
    // `Env::throw` reports success as `Err(JavaException)`.
    match env.throw(throwable) {
        Ok(()) | Err(jni::errors::Error::JavaException) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The error policy of every entry point.
struct Throw;

impl Throw {
    fn raise<T: Default>(env: &mut Env<'_>, e: Error) -> jni::errors::Result<T> {
        // Never throw over a pending exception: it is the more precise one.
        if !env.exception_check() {
            throw_core(env, &e)?;
        }
        Ok(T::default())
    }
}

impl<T: Default> ErrorPolicy<T, Fail> for Throw {
    type Captures<'unowned_env_local: 'native_method, 'native_method> = ();

    fn on_error<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        _cap: &mut (),
        err: Fail,
    ) -> jni::errors::Result<T> {
        let e = match err {
            Fail::Core(e) => e,
            // Without a pending Java exception, a JNI failure is a bug of this layer.
            Fail::Jni(e) => Error::new(ErrorKind::Internal, format!("JNI failure in the vsync native library: {e}")),
        };
        Self::raise(env, e)
    }

    fn on_panic<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        _cap: &mut (),
        payload: Box<dyn std::any::Any + Send + 'static>,
    ) -> jni::errors::Result<T> {
        // The payload is not shown (it is not ours to vouch for); dropping it must not unwind.
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(payload))).is_err() {
            // A panicking payload destructor: leak it rather than unwind into the JVM.
        }
        Self::raise(env, Error::caught_panic())
    }
}

/// Declares JNI entry points: `fn Java_..._name<'c>(env, args...) -> Ret { body }` becomes an
/// exported `extern "system"` function whose body runs in `EnvUnowned::with_env` (panics
/// caught) and whose `R<Ret>` resolves through [`Throw`] (errors become Java exceptions).
macro_rules! jni_entry_points {
    ($(
        $(#[$attr:meta])*
        fn $symbol:ident<$c:lifetime>($env:ident $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty $body:block
    )*) => {$(
        $(#[$attr])*
        #[unsafe(no_mangle)]
        #[allow(clippy::unused_unit)]
        pub extern "system" fn $symbol<$c>(mut unowned: EnvUnowned<$c>, _class: JClass<$c> $(, $arg: $ty)*) -> $ret {
            unowned.with_env(|$env| -> R<$ret> { $body }).resolve::<Throw>()
        }
    )*};
}

// ---------------------------------------------------------------------------------------------
// Conversions

fn string(env: &Env<'_>, s: &JString<'_>) -> R<String> {
    Ok(s.try_to_string(env)?)
}

fn opt_string(env: &Env<'_>, s: &JString<'_>) -> R<Option<String>> {
    if s.is_null() {
        Ok(None)
    } else {
        Ok(Some(string(env, s)?))
    }
}

/// `String[]` of alternating keys and values (the Java side flattens maps) → pairs.
fn pairs(env: &mut Env<'_>, arr: &JObjectArray<'_>) -> R<Vec<(String, Zeroizing<String>)>> {
    if arr.is_null() {
        return Ok(Vec::new());
    }
    let n = arr.len(env)?;
    let mut out = Vec::with_capacity(n / 2);
    let mut i = 0;
    while i + 1 < n {
        let k = arr.get_element(env, i)?;
        let k = env.cast_local::<JString>(k)?;
        let v = arr.get_element(env, i + 1)?;
        let v = env.cast_local::<JString>(v)?;
        let key = string(env, &k)?;
        let value = Zeroizing::new(string(env, &v)?);
        env.delete_local_ref(k);
        env.delete_local_ref(v);
        out.push((key, value));
        i += 2;
    }
    Ok(out)
}

fn options(env: &mut Env<'_>, defaults: &JObjectArray<'_>, timeout_ms: jlong, min_generation: jlong) -> R<OpenOptions> {
    // 0 (the builder's default) is no floor; the builder refuses negative values.
    let mut o = OpenOptions { min_generation: u64::try_from(min_generation).ok(), ..OpenOptions::default() };
    for (k, v) in pairs(env, defaults)? {
        o.defaults.insert(k, v.to_string());
    }
    // 0 means "the default"; huge values are clamped by the core.
    if let Some(t) = vsync_core::limits::timeout_from_millis(i128::from(timeout_ms)) {
        o.timeout = t;
    }
    Ok(o)
}

fn string_array<'l>(env: &mut Env<'l>, items: &[&str]) -> R<JObjectArray<'l, JString<'l>>> {
    let arr = JObjectArray::<JString>::new(env, items.len(), JString::null())?;
    for (i, s) in items.iter().enumerate() {
        let js = env.new_string(s)?;
        arr.set_element(env, i, &js)?;
        env.delete_local_ref(js);
    }
    Ok(arr)
}

fn into_handle(v: Vault) -> jlong {
    Box::into_raw(Box::new(v)) as jlong
}

/// The vault behind a handle. The Java side keeps the owning `Vsync` reachable for the whole
/// call (`Vsync.fenced`) and frees only from its Cleaner, so the box is alive.
fn vault<'a>(h: jlong) -> R<&'a Vault> {
    if h == 0 {
        return Err(Fail::Core(Error::closed()));
    }
    // SAFETY: `h` came from `into_handle` and is freed only by `free`, after the last use; the
    // natives taking it are package-private, so only the owning classes can pass one.
    Ok(unsafe { &*(h as *const Vault) })
}

/// One of the core's chain lookups (`Vault::get_env`, `has_env`, `env_source`).
type ChainLookup<T> = fn(&Vault, &str, &mut dyn FnMut(&str) -> Option<String>) -> vsync_core::Result<T>;

/// A core lookup through the chain (`Vault::get_env`, `has_env`, `env_source`). Step 2 is the
/// value the Java side's `envLookup` gave for `key` just before the call; the core decides
/// whether it is consulted.
fn lookup<T>(env: &Env<'_>, h: jlong, key: &JString<'_>, env_value: &JString<'_>, call: ChainLookup<T>) -> R<T> {
    let v = vault(h)?;
    let key = string(env, key)?;
    let mut from_env = opt_string(env, env_value)?;
    Ok(call(v, &key, &mut |_| from_env.take())?)
}

/// Calls `lookup.apply(key)` on a `java.util.function.Function<String,String>`.
fn call_lookup<'l>(env: &mut Env<'l>, lookup: &JObject<'_>, key: &str) -> jni::errors::Result<Option<String>> {
    let jkey = env.new_string(key)?;
    let r = env
        .call_method(
            lookup,
            jni_str!("apply"),
            jni_sig!("(Ljava/lang/Object;)Ljava/lang/Object;"),
            &[JValue::from(&jkey)],
        )?
        .l()?;
    env.delete_local_ref(jkey);
    if r.is_null() {
        return Ok(None);
    }
    let s = env.cast_local::<JString>(r)?;
    let out = s.try_to_string(env)?;
    env.delete_local_ref(s);
    Ok(Some(out))
}

// ---------------------------------------------------------------------------------------------
// io.github.muthuishere.vsync.Natives: opening and the handle

jni_entry_points! {
    fn Java_io_github_muthuishere_vsync_Natives_open<'c>(
        env,
        lookup: JObject<'c>,
        defaults: JObjectArray<'c>,
        timeout_ms: jlong,
        min_generation: jlong,
    ) -> jlong {
        let opts = options(env, &defaults, timeout_ms, min_generation)?;
        // The bootstrap lookups (SPEC §7) go through the caller's lookup; the first Java
        // exception it throws stops the open and propagates as is.
        let cell = RefCell::new(&mut *env);
        let failed: RefCell<Option<jni::errors::Error>> = RefCell::new(None);
        let lookup_fn = |k: &str| -> Option<String> {
            if failed.borrow().is_some() {
                return None;
            }
            let mut e = cell.borrow_mut();
            match call_lookup(&mut e, &lookup, k) {
                Ok(v) => v,
                Err(err) => {
                    *failed.borrow_mut() = Some(err);
                    None
                }
            }
        };
        let result = vsync_core::open(&lookup_fn, opts);
        if let Some(err) = failed.into_inner() {
            return Err(Fail::Jni(err));
        }
        Ok(into_handle(result?))
    }

    fn Java_io_github_muthuishere_vsync_Natives_openWith<'c>(
        env,
        config: JString<'c>,
        passphrase: JString<'c>,
        defaults: JObjectArray<'c>,
        timeout_ms: jlong,
        min_generation: jlong,
    ) -> jlong {
        let opts = options(env, &defaults, timeout_ms, min_generation)?;
        // null counts as empty: the core answers ConfigMissingError.
        let config = Zeroizing::new(opt_string(env, &config)?.unwrap_or_default());
        let passphrase = Zeroizing::new(opt_string(env, &passphrase)?.unwrap_or_default());
        Ok(into_handle(vsync_core::open_with(&config, &passphrase, opts)?))
    }

    fn Java_io_github_muthuishere_vsync_Natives_getEnv<'c>(env, h: jlong, key: JString<'c>, env_val: JString<'c>) -> JString<'c> {
        match lookup(env, h, &key, &env_val, Vault::get_env)? {
            Some(s) => Ok(env.new_string(s.as_str())?),
            None => Ok(JString::null()),
        }
    }

    fn Java_io_github_muthuishere_vsync_Natives_hasEnv<'c>(env, h: jlong, key: JString<'c>, env_val: JString<'c>) -> jboolean {
        lookup(env, h, &key, &env_val, Vault::has_env)
    }

    /// The source as the core's number (1 vault, 2 env, 3 default, 4 missing).
    fn Java_io_github_muthuishere_vsync_Natives_envSource<'c>(env, h: jlong, key: JString<'c>, env_val: JString<'c>) -> jint {
        Ok(lookup(env, h, &key, &env_val, Vault::env_source)?.number())
    }

    /// The resolved view (`Vault::environ`) as alternating names and values, sorted by name;
    /// `process_env` alternates the Java side's snapshot of its environment the same way.
    fn Java_io_github_muthuishere_vsync_Natives_environ<'c>(env, h: jlong, process_env: JObjectArray<'c>) -> JObjectArray<'c, JString<'c>> {
        let v = vault(h)?;
        // `mem::take` moves each value out of its Zeroizing wrapper without a copy.
        let vars = pairs(env, &process_env)?.into_iter().map(|(k, mut v)| (k, std::mem::take(&mut *v)));
        let view = v.environ(vars)?;
        let flat: Vec<&str> = view.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]).collect();
        string_array(env, &flat)
    }

    /// A fresh `byte[]` (the caller owns it), or null when neither an asset nor a key has that name.
    fn Java_io_github_muthuishere_vsync_Natives_getAsContent<'c>(env, h: jlong, name: JString<'c>) -> JByteArray<'c> {
        let v = vault(h)?;
        let name = string(env, &name)?;
        match v.get_as_content(&name) {
            Ok(bytes) => Ok(env.byte_array_from_slice(&bytes)?),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(JByteArray::null()),
            Err(e) => Err(e.into()),
        }
    }

    fn Java_io_github_muthuishere_vsync_Natives_keys<'c>(env, h: jlong) -> JObjectArray<'c, JString<'c>> {
        let keys = vault(h)?.keys()?;
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        string_array(env, &refs)
    }

    fn Java_io_github_muthuishere_vsync_Natives_generation<'c>(_env, h: jlong) -> jlong {
        Ok(vault(h)?.generation()? as jlong)
    }

    fn Java_io_github_muthuishere_vsync_Natives_remoteGeneration<'c>(_env, h: jlong) -> jlong {
        Ok(vault(h)?.remote_generation()? as jlong)
    }

    fn Java_io_github_muthuishere_vsync_Natives_hasNewVersion<'c>(_env, h: jlong) -> jboolean {
        Ok(vault(h)?.has_new_version()?)
    }

    fn Java_io_github_muthuishere_vsync_Natives_redacted<'c>(env, h: jlong) -> JString<'c> {
        Ok(env.new_string(vault(h)?.redacted())?)
    }

    /// Wipes the contents (idempotent); the memory stays until `free`.
    fn Java_io_github_muthuishere_vsync_Natives_close<'c>(_env, h: jlong) -> () {
        vault(h)?.close();
        Ok(())
    }

    /// Wipes and releases the handle. Called exactly once, by the Cleaner.
    fn Java_io_github_muthuishere_vsync_Natives_free<'c>(_env, h: jlong) -> () {
        if h != 0 {
            // SAFETY: `h` came from `into_handle`; the Cleaner runs this once, after the
            // owning object became unreachable (no call can be using it).
            let b = unsafe { Box::from_raw(h as *mut Vault) };
            b.close();
            drop(b);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// io.github.muthuishere.vsync.Testing (a test source): test hooks (conformance/README.md), only in
// the test build (`--features testing-hooks`).

#[cfg(feature = "testing-hooks")]
mod testing_hooks {
    use super::*;
    use vsync_core::hooks;

    jni_entry_points! {
        fn Java_io_github_muthuishere_vsync_Testing_fromPayload<'c>(
            env,
            payload: JByteArray<'c>,
            env_label: JString<'c>,
            pointer_ts: JString<'c>,
            defaults: JObjectArray<'c>,
        ) -> jlong {
            let opts = options(env, &defaults, 0, 0)?;
            let payload = Zeroizing::new(env.convert_byte_array(&payload)?);
            let label = string(env, &env_label)?;
            let ts = opt_string(env, &pointer_ts)?;
            Ok(into_handle(Vault::from_payload(&payload, &label, ts.as_deref(), opts)?))
        }

        fn Java_io_github_muthuishere_vsync_Testing_decryptEnvelopeNative<'c>(
            env,
            envelope: JByteArray<'c>,
            passphrase: JString<'c>,
            salt: JString<'c>,
            iterations: jint,
        ) -> JByteArray<'c> {
            let envelope = env.convert_byte_array(&envelope)?;
            let passphrase = Zeroizing::new(string(env, &passphrase)?);
            let salt = string(env, &salt)?;
            let plain = hooks::decrypt_envelope(&envelope, &passphrase, &salt, iterations.max(0) as u32)?;
            Ok(env.byte_array_from_slice(&plain)?)
        }

        /// `Object[]{String embeddedTs, byte[] payload}`.
        fn Java_io_github_muthuishere_vsync_Testing_unsealManifestNative<'c>(
            env,
            sealed: JByteArray<'c>,
            remote_ts: JString<'c>,
        ) -> JObjectArray<'c> {
            let sealed = env.convert_byte_array(&sealed)?;
            let remote = opt_string(env, &remote_ts)?;
            let (ts, payload) = hooks::unseal(&sealed, remote.as_deref())?;
            let arr = JObjectArray::<JObject>::new(env, 2, JObject::null())?;
            let jts = env.new_string(ts)?;
            let jpayload = env.byte_array_from_slice(&payload)?;
            arr.set_element(env, 0, &*jts)?;
            arr.set_element(env, 1, &*jpayload)?;
            Ok(arr)
        }

        fn Java_io_github_muthuishere_vsync_Testing_decodeConfigJsonNative<'c>(env, blob: JString<'c>) -> JString<'c> {
            let blob = Zeroizing::new(string(env, &blob)?);
            let json = Zeroizing::new(hooks::decode_config_json(&blob)?);
            Ok(env.new_string(json.as_str())?)
        }

        /// `String[]{config, passphrase, warning...}` from an env given as alternating keys and values.
        fn Java_io_github_muthuishere_vsync_Testing_resolveBootstrapNative<'c>(
            env,
            env_pairs: JObjectArray<'c>,
        ) -> JObjectArray<'c, JString<'c>> {
            let map = pairs(env, &env_pairs)?.into_iter().map(|(k, v)| (k, v.to_string())).collect();
            let (config, passphrase, warnings) = hooks::resolve_bootstrap(&map)?;
            let mut items: Vec<&str> = vec![config.as_str(), passphrase.as_str()];
            items.extend(warnings.iter().map(String::as_str));
            string_array(env, &items)
        }

        /// `String[]{number, code, class name, taxonomy, ...}` for every kind of `ErrorKind::ALL`.
        fn Java_io_github_muthuishere_vsync_Testing_errorKindsNative<'c>(env) -> JObjectArray<'c, JString<'c>> {
            let rows: Vec<[String; 4]> = ErrorKind::ALL
                .into_iter()
                .map(|k| [k.number().to_string(), k.code().into(), k.class_name().into(), k.is_taxonomy().to_string()])
                .collect();
            let flat: Vec<&str> = rows.iter().flat_map(|r| r.iter().map(String::as_str)).collect();
            string_array(env, &flat)
        }

        /// Throws the Java error of the core kind numbered `number` through the normal path (one
        /// test per variant in the Java suite).
        fn Java_io_github_muthuishere_vsync_Testing_raiseNative<'c>(_env, number: jint) -> () {
            let kind = ErrorKind::from_number(number)
                .ok_or_else(|| Error::invalid_argument(format!("no error kind numbered {number}")))?;
            Err(Fail::Core(Error::new(kind, format!("raised for a test: {}", kind.class_name()))))
        }

        /// Panics inside a native method: the boundary must turn it into a Java exception.
        #[allow(clippy::panic)]
        fn Java_io_github_muthuishere_vsync_Testing_panicNative<'c>(_env) -> () {
            panic!("deliberate test panic")
        }
    }
}
