//! vsync-java: the JNI side of `io.github.muthuishere:vsync-s3-client`.
//!
//! Every function here is a static native method of `io.github.muthuishere.vsync.internal.Native`.
//! They only convert arguments, call `vsync-core`, and map errors: no format, lookup order or
//! error classification lives here (see `core/`).
//!
//! Boundary rules:
//! - every entry point runs inside `EnvUnowned::with_env` (a `catch_unwind`), and resolves through
//!   the [`Throw`] policy: a core error becomes the Java class chosen by [`java_class`] (the one
//!   table), a panic becomes `VSyncException` with code `VSYNC_INTERNAL`, and nothing is thrown
//!   over an exception that is already pending (for example one thrown by the caller's lookup);
//! - a handle is `Box<Vault>` leaked into a `jlong`. `Native.close` wipes the contents (the
//!   core's `Vault::close`, under its write lock); the box itself is freed by `Native.free`,
//!   which the Java side calls exactly once from a `java.lang.ref.Cleaner` when the `Vsync`
//!   object is unreachable, so no reader can still hold the pointer (see `Vsync.java`).

use std::cell::RefCell;

use jni::errors::ErrorPolicy;
use jni::objects::{JByteArray, JClass, JObject, JObjectArray, JString, JThrowable, JValue};
use jni::sys::{jboolean, jint, jlong};
use jni::{jni_sig, jni_str, Env, EnvUnowned};
use vsync_core::{hooks, ErrorKind, OpenOptions, Vault};
use zeroize::Zeroizing;

/// What can go wrong inside a native method.
enum Fail {
    /// A vsync error: thrown as the class of its kind.
    Core(vsync_core::Error),
    /// A JNI failure (often a Java exception that is already pending).
    Jni(jni::errors::Error),
}

impl From<jni::errors::Error> for Fail {
    fn from(e: jni::errors::Error) -> Self {
        Fail::Jni(e)
    }
}

impl From<vsync_core::Error> for Fail {
    fn from(e: vsync_core::Error) -> Self {
        Fail::Core(e)
    }
}

type R<T> = Result<T, Fail>;

/// THE table: the core's error kind → the Java class thrown, and whether that class takes
/// `(String code, String message)` (ours) or only `(String message)` (the JDK's).
pub fn java_class(kind: ErrorKind) -> (&'static str, bool) {
    match kind {
        ErrorKind::ConfigMissing => ("io/github/muthuishere/vsync/ConfigMissingException", true),
        ErrorKind::ConfigUnsupportedVersion => ("io/github/muthuishere/vsync/ConfigUnsupportedVersionException", true),
        ErrorKind::S3Unreachable => ("io/github/muthuishere/vsync/S3UnreachableException", true),
        ErrorKind::ManifestNotFound => ("io/github/muthuishere/vsync/ManifestNotFoundException", true),
        ErrorKind::WrongPassphrase => ("io/github/muthuishere/vsync/WrongPassphraseException", true),
        ErrorKind::BundleCorrupt => ("io/github/muthuishere/vsync/BundleCorruptException", true),
        ErrorKind::UnsupportedSpecVersion => ("io/github/muthuishere/vsync/UnsupportedSpecVersionException", true),
        // Not part of the taxonomy: Java's own "closed" and "absent" errors.
        ErrorKind::Closed => ("java/lang/IllegalStateException", false),
        ErrorKind::NotFound => ("java/util/NoSuchElementException", false),
    }
}

const ROOT_CLASS: &str = "io/github/muthuishere/vsync/VSyncException";

fn throw_code_msg(env: &mut Env<'_>, class: &str, code: &str, message: &str) -> jni::errors::Result<()> {
    let class = jni::strings::JNIString::from(class);
    let jcode = env.new_string(code)?;
    let jmsg = env.new_string(message)?;
    let obj = env.new_object(
        &class,
        jni_sig!("(Ljava/lang/String;Ljava/lang/String;)V"),
        &[JValue::from(&jcode), JValue::from(&jmsg)],
    )?;
    let throwable = env.cast_local::<JThrowable>(obj)?;
    accept_thrown(env.throw(throwable))
}

/// `Env::throw*` report success as `Err(JavaException)`.
fn accept_thrown(r: jni::errors::Result<()>) -> jni::errors::Result<()> {
    match r {
        Ok(()) | Err(jni::errors::Error::JavaException) => Ok(()),
        Err(e) => Err(e),
    }
}

fn throw_core(env: &mut Env<'_>, e: &vsync_core::Error) -> jni::errors::Result<()> {
    let (class, with_code) = java_class(e.kind());
    if with_code {
        throw_code_msg(env, class, e.code(), e.message())
    } else {
        let class = jni::strings::JNIString::from(class);
        let msg = jni::strings::JNIString::from(e.message());
        accept_thrown(env.throw_new(&class, &msg))
    }
}

/// The error policy of every entry point.
struct Throw;

impl<T: Default> ErrorPolicy<T, Fail> for Throw {
    type Captures<'unowned_env_local: 'native_method, 'native_method> = ();

    fn on_error<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        _cap: &mut (),
        err: Fail,
    ) -> jni::errors::Result<T> {
        // Never throw over a pending exception: it is the more precise one.
        if env.exception_check() {
            return Ok(T::default());
        }
        match err {
            Fail::Core(e) => throw_core(env, &e)?,
            Fail::Jni(e) => {
                let msg = jni::strings::JNIString::from(format!("vsync: JNI failure in the native library: {e}"));
                accept_thrown(env.throw_new(jni_str!("java/lang/RuntimeException"), &msg))?;
            }
        }
        Ok(T::default())
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
        if env.exception_check() {
            return Ok(T::default());
        }
        throw_code_msg(
            env,
            ROOT_CLASS,
            "VSYNC_INTERNAL",
            "vsync: internal error in the native library (a Rust panic was caught at the JNI boundary); please report it",
        )?;
        Ok(T::default())
    }
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

fn options(env: &mut Env<'_>, defaults: &JObjectArray<'_>, timeout_ms: jlong) -> R<OpenOptions> {
    let mut o = OpenOptions::default();
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
/// call (`Reference.reachabilityFence`) and frees only from its Cleaner, so the box is alive.
fn vault<'a>(h: jlong) -> R<&'a Vault> {
    if h == 0 {
        return Err(Fail::Core(vsync_core::Error::closed()));
    }
    // SAFETY: `h` came from `into_handle` and is freed only by `free`, after the last use.
    Ok(unsafe { &*(h as *const Vault) })
}

/// Step 2 of the chain as the Java side computed it just before the call (its `envLookup`,
/// `System::getenv` by default, applied at lookup time): the closure hands it to the core,
/// which decides whether it is consulted.
fn env_value(env: &Env<'_>, v: &JString<'_>) -> R<Option<String>> {
    opt_string(env, v)
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
// Opening

#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_muthuishere_vsync_internal_Native_open<'c>(
    mut unowned: EnvUnowned<'c>,
    _class: JClass<'c>,
    lookup: JObject<'c>,
    defaults: JObjectArray<'c>,
    timeout_ms: jlong,
) -> jlong {
    unowned
        .with_env(|env| -> R<jlong> {
            let opts = options(env, &defaults, timeout_ms)?;
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
        })
        .resolve::<Throw>()
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_muthuishere_vsync_internal_Native_openWith<'c>(
    mut unowned: EnvUnowned<'c>,
    _class: JClass<'c>,
    config: JString<'c>,
    passphrase: JString<'c>,
    defaults: JObjectArray<'c>,
    timeout_ms: jlong,
) -> jlong {
    unowned
        .with_env(|env| -> R<jlong> {
            let opts = options(env, &defaults, timeout_ms)?;
            // null counts as empty: the core answers ConfigMissingError.
            let config = Zeroizing::new(opt_string(env, &config)?.unwrap_or_default());
            let passphrase = Zeroizing::new(opt_string(env, &passphrase)?.unwrap_or_default());
            Ok(into_handle(vsync_core::open_with(&config, &passphrase, opts)?))
        })
        .resolve::<Throw>()
}

// ---------------------------------------------------------------------------------------------
// The handle

#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_muthuishere_vsync_internal_Native_getEnv<'c>(
    mut unowned: EnvUnowned<'c>,
    _class: JClass<'c>,
    h: jlong,
    key: JString<'c>,
    env_val: JString<'c>,
) -> JString<'c> {
    unowned
        .with_env(|env| -> R<JString<'c>> {
            let v = vault(h)?;
            let key = string(env, &key)?;
            let mut from_env = env_value(env, &env_val)?;
            let r = v.resolve(&key, &mut |_| from_env.take())?;
            match r.value {
                Some(s) => Ok(env.new_string(s.as_str())?),
                None => Ok(JString::null()),
            }
        })
        .resolve::<Throw>()
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_muthuishere_vsync_internal_Native_hasEnv<'c>(
    mut unowned: EnvUnowned<'c>,
    _class: JClass<'c>,
    h: jlong,
    key: JString<'c>,
    env_val: JString<'c>,
) -> jboolean {
    unowned
        .with_env(|env| -> R<jboolean> {
            let v = vault(h)?;
            let key = string(env, &key)?;
            let mut from_env = env_value(env, &env_val)?;
            Ok(v.has_env(&key, &mut |_| from_env.take())?)
        })
        .resolve::<Throw>()
}

/// The source as the core's number (1 vault, 2 env, 3 default, 4 missing).
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_muthuishere_vsync_internal_Native_envSource<'c>(
    mut unowned: EnvUnowned<'c>,
    _class: JClass<'c>,
    h: jlong,
    key: JString<'c>,
    env_val: JString<'c>,
) -> jint {
    unowned
        .with_env(|env| -> R<jint> {
            let v = vault(h)?;
            let key = string(env, &key)?;
            let mut from_env = env_value(env, &env_val)?;
            Ok(v.env_source(&key, &mut |_| from_env.take())? as jint)
        })
        .resolve::<Throw>()
}

/// A fresh `byte[]` (the caller owns it), or null when neither an asset nor a key has that name.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_muthuishere_vsync_internal_Native_getAsContent<'c>(
    mut unowned: EnvUnowned<'c>,
    _class: JClass<'c>,
    h: jlong,
    name: JString<'c>,
) -> JByteArray<'c> {
    unowned
        .with_env(|env| -> R<JByteArray<'c>> {
            let v = vault(h)?;
            let name = string(env, &name)?;
            match v.get_as_content(&name) {
                Ok(bytes) => Ok(env.byte_array_from_slice(&bytes)?),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(JByteArray::null()),
                Err(e) => Err(e.into()),
            }
        })
        .resolve::<Throw>()
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_muthuishere_vsync_internal_Native_keys<'c>(
    mut unowned: EnvUnowned<'c>,
    _class: JClass<'c>,
    h: jlong,
) -> JObjectArray<'c, JString<'c>> {
    unowned
        .with_env(|env| -> R<JObjectArray<'c, JString<'c>>> {
            let keys = vault(h)?.keys()?;
            let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
            string_array(env, &refs)
        })
        .resolve::<Throw>()
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_muthuishere_vsync_internal_Native_generation<'c>(
    mut unowned: EnvUnowned<'c>,
    _class: JClass<'c>,
    h: jlong,
) -> jlong {
    unowned.with_env(|_env| -> R<jlong> { Ok(vault(h)?.generation()? as jlong) }).resolve::<Throw>()
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_muthuishere_vsync_internal_Native_remoteGeneration<'c>(
    mut unowned: EnvUnowned<'c>,
    _class: JClass<'c>,
    h: jlong,
) -> jlong {
    unowned.with_env(|_env| -> R<jlong> { Ok(vault(h)?.remote_generation()? as jlong) }).resolve::<Throw>()
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_muthuishere_vsync_internal_Native_hasNewVersion<'c>(
    mut unowned: EnvUnowned<'c>,
    _class: JClass<'c>,
    h: jlong,
) -> jboolean {
    unowned.with_env(|_env| -> R<jboolean> { Ok(vault(h)?.has_new_version()?) }).resolve::<Throw>()
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_muthuishere_vsync_internal_Native_redacted<'c>(
    mut unowned: EnvUnowned<'c>,
    _class: JClass<'c>,
    h: jlong,
) -> JString<'c> {
    unowned.with_env(|env| -> R<JString<'c>> { Ok(env.new_string(vault(h)?.redacted())?) }).resolve::<Throw>()
}

/// Wipes the contents (idempotent); the memory stays until `free`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_muthuishere_vsync_internal_Native_close<'c>(
    mut unowned: EnvUnowned<'c>,
    _class: JClass<'c>,
    h: jlong,
) {
    unowned
        .with_env(|_env| -> R<()> {
            vault(h)?.close();
            Ok(())
        })
        .resolve::<Throw>()
}

/// Wipes and releases the handle. Called exactly once, by the Cleaner.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_muthuishere_vsync_internal_Native_free<'c>(
    mut unowned: EnvUnowned<'c>,
    _class: JClass<'c>,
    h: jlong,
) {
    unowned
        .with_env(|_env| -> R<()> {
            if h != 0 {
                // SAFETY: `h` came from `into_handle`; the Cleaner runs this once, after the
                // owning object became unreachable (no call can be using it).
                let b = unsafe { Box::from_raw(h as *mut Vault) };
                b.close();
                drop(b);
            }
            Ok(())
        })
        .resolve::<Throw>()
}

// ---------------------------------------------------------------------------------------------
// Private test hooks (conformance/README.md), used by io.github.muthuishere.vsync.internal.Testing

#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_muthuishere_vsync_internal_Native_fromPayload<'c>(
    mut unowned: EnvUnowned<'c>,
    _class: JClass<'c>,
    payload: JByteArray<'c>,
    env_label: JString<'c>,
    pointer_ts: JString<'c>,
    defaults: JObjectArray<'c>,
) -> jlong {
    unowned
        .with_env(|env| -> R<jlong> {
            let opts = options(env, &defaults, 0)?;
            let payload = Zeroizing::new(env.convert_byte_array(&payload)?);
            let label = string(env, &env_label)?;
            let ts = opt_string(env, &pointer_ts)?;
            Ok(into_handle(Vault::from_payload(&payload, &label, ts.as_deref(), opts)?))
        })
        .resolve::<Throw>()
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_muthuishere_vsync_internal_Native_decryptEnvelope<'c>(
    mut unowned: EnvUnowned<'c>,
    _class: JClass<'c>,
    envelope: JByteArray<'c>,
    passphrase: JString<'c>,
    salt: JString<'c>,
    iterations: jint,
) -> JByteArray<'c> {
    unowned
        .with_env(|env| -> R<JByteArray<'c>> {
            let envelope = env.convert_byte_array(&envelope)?;
            let passphrase = Zeroizing::new(string(env, &passphrase)?);
            let salt = string(env, &salt)?;
            let plain = hooks::decrypt_envelope(&envelope, &passphrase, &salt, iterations.max(0) as u32)?;
            Ok(env.byte_array_from_slice(&plain)?)
        })
        .resolve::<Throw>()
}

/// `Object[]{String embeddedTs, byte[] payload}`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_muthuishere_vsync_internal_Native_unsealManifest<'c>(
    mut unowned: EnvUnowned<'c>,
    _class: JClass<'c>,
    sealed: JByteArray<'c>,
    remote_ts: JString<'c>,
) -> JObjectArray<'c> {
    unowned
        .with_env(|env| -> R<JObjectArray<'c>> {
            let sealed = env.convert_byte_array(&sealed)?;
            let remote = opt_string(env, &remote_ts)?;
            let (ts, payload) = hooks::unseal(&sealed, remote.as_deref())?;
            let arr = JObjectArray::<JObject>::new(env, 2, JObject::null())?;
            let jts = env.new_string(ts)?;
            let jpayload = env.byte_array_from_slice(&payload)?;
            arr.set_element(env, 0, &*jts)?;
            arr.set_element(env, 1, &*jpayload)?;
            Ok(arr)
        })
        .resolve::<Throw>()
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_muthuishere_vsync_internal_Native_decodeConfigJson<'c>(
    mut unowned: EnvUnowned<'c>,
    _class: JClass<'c>,
    blob: JString<'c>,
) -> JString<'c> {
    unowned
        .with_env(|env| -> R<JString<'c>> {
            let blob = Zeroizing::new(string(env, &blob)?);
            let json = Zeroizing::new(hooks::decode_config_json(&blob)?);
            Ok(env.new_string(json.as_str())?)
        })
        .resolve::<Throw>()
}

/// `String[]{config, passphrase, warning...}` from an env given as alternating keys and values.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_muthuishere_vsync_internal_Native_resolveBootstrap<'c>(
    mut unowned: EnvUnowned<'c>,
    _class: JClass<'c>,
    env_pairs: JObjectArray<'c>,
) -> JObjectArray<'c, JString<'c>> {
    unowned
        .with_env(|env| -> R<JObjectArray<'c, JString<'c>>> {
            let map = pairs(env, &env_pairs)?.into_iter().map(|(k, v)| (k, v.to_string())).collect();
            let (config, passphrase, warnings) = hooks::resolve_bootstrap(&map)?;
            let mut items: Vec<&str> = vec![config.as_str(), passphrase.as_str()];
            items.extend(warnings.iter().map(String::as_str));
            string_array(env, &items)
        })
        .resolve::<Throw>()
}

/// Throws the Java error of the core kind numbered `number` through the normal mapping
/// (one test per variant in the Java suite).
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_github_muthuishere_vsync_internal_Native_raise<'c>(
    mut unowned: EnvUnowned<'c>,
    _class: JClass<'c>,
    number: jint,
) {
    unowned
        .with_env(|_env| -> R<()> {
            let kind = ErrorKind::from_number(number)
                .ok_or_else(|| vsync_core::Error::corrupt(format!("no error kind numbered {number}")))?;
            Err(Fail::Core(vsync_core::Error::new(kind, format!("raised for a test: {}", kind.class_name()))))
        })
        .resolve::<Throw>()
}

/// Panics inside a native method: the boundary must turn it into a Java exception.
#[unsafe(no_mangle)]
#[allow(clippy::panic)]
pub extern "system" fn Java_io_github_muthuishere_vsync_internal_Native_panic<'c>(
    mut unowned: EnvUnowned<'c>,
    _class: JClass<'c>,
) {
    unowned.with_env(|_env| -> R<()> { panic!("deliberate test panic") }).resolve::<Throw>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_taxonomy_kind_maps_to_its_spec_java_name() {
        for kind in ErrorKind::ALL {
            let (class, with_code) = java_class(kind);
            assert_eq!(with_code, kind.is_taxonomy(), "{kind:?}");
            if kind.is_taxonomy() {
                let expected =
                    format!("io/github/muthuishere/vsync/{}Exception", kind.class_name().trim_end_matches("Error"));
                assert_eq!(class, expected);
            }
        }
        assert_eq!(java_class(ErrorKind::Closed).0, "java/lang/IllegalStateException");
    }
}
