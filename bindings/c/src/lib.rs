//! vsync-c: a narrow C ABI over `vsync-core` (header: `include/vsync.h`, which documents the
//! ownership of every pointer). The Go binding links the static library; any C or C++ program
//! can too (`tests/abi_test.c`).
//!
//! Rules of this layer: it only converts arguments and results. Formats, the lookup order and
//! error classes all come from the core. Every exported function runs its body under
//! `catch_unwind`, so no panic crosses the boundary (it becomes `VSYNC_ERR_INTERNAL`).
//! Every buffer handed out is allocated here, carries its length in a hidden header, and is
//! zeroed when freed with `vsync_string_free` / `vsync_bytes_free`.
#![allow(non_camel_case_types, clippy::missing_safety_doc, clippy::too_many_arguments)]

use std::borrow::Cow;
use std::collections::HashMap;
use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::OnceLock;

use indexmap::IndexMap;
use vsync_core::{bootstrap, hooks, Error, OpenOptions, Vault};
use zeroize::Zeroize;

/// Bumped on any incompatible change of `vsync.h`.
pub const VSYNC_ABI_VERSION: u32 = 1;
pub const VSYNC_OK: i32 = 0;
/// A NULL pointer where one is required; not one of the core's classes.
pub const VSYNC_ERR_INVALID_ARGUMENT: i32 = -1;
/// A panic caught at the boundary (a bug); not one of the core's classes.
pub const VSYNC_ERR_INTERNAL: i32 = -2;

/// An error result. `kind` is `ErrorKind::number()` of the core (1..=9) or a negative ABI code.
#[repr(C)]
pub struct vsync_error {
    pub kind: i32,
    /// Stable string code (`VSYNC_CONFIG_MISSING`, ...), owned by the error.
    pub code: *mut c_char,
    /// Human message, never contains a secret, owned by the error.
    pub message: *mut c_char,
}

/// Opaque handle over a core `Vault` (`Send + Sync`).
pub struct vsync_handle {
    vault: Vault,
}

/// Options of `vsync_open` / `vsync_open_with` / `vsync_testing_open_payload`. All pointers are
/// borrowed for the duration of the call only.
#[repr(C)]
pub struct vsync_options {
    pub default_keys: *const *const c_char,
    pub default_values: *const *const c_char,
    pub defaults_len: usize,
    /// 0 = the core's default (30 s).
    pub timeout_ms: u64,
    /// `vsync_open` only: the bootstrap environment. NULL = the process environment.
    pub env_names: *const *const c_char,
    /// Same length as `env_names`; a NULL entry means "unset".
    pub env_values: *const *const c_char,
    pub env_len: usize,
}

enum Fail {
    Core(Error),
    Invalid(&'static str),
    Panic,
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Core(e)
    }
}

type Res<T = ()> = Result<T, Fail>;

// ---------------------------------------------------------------------------------------------
// Owned buffers: [len: usize][bytes][NUL], the caller gets a pointer to `bytes`.

const HDR: usize = std::mem::size_of::<usize>();

fn alloc_buf(bytes: &[u8]) -> *mut u8 {
    let total = HDR + bytes.len() + 1;
    let mut v: Vec<u8> = Vec::with_capacity(total);
    v.extend_from_slice(&bytes.len().to_ne_bytes());
    v.extend_from_slice(bytes);
    v.push(0);
    let base = Box::into_raw(v.into_boxed_slice()) as *mut u8;
    // SAFETY: the allocation is `total >= HDR` bytes long.
    unsafe { base.add(HDR) }
}

unsafe fn free_buf(p: *mut u8) {
    if p.is_null() {
        return;
    }
    // SAFETY: `p` came from `alloc_buf` (caller contract), so a header precedes it.
    unsafe {
        let base = p.sub(HDR);
        let len = usize::from_ne_bytes(ptr::read_unaligned(base as *const [u8; HDR]));
        let slice = ptr::slice_from_raw_parts_mut(base, HDR + len + 1);
        let mut b: Box<[u8]> = Box::from_raw(slice);
        b.zeroize();
    }
}

fn alloc_str(s: &str) -> *mut c_char {
    alloc_buf(s.as_bytes()) as *mut c_char
}

unsafe fn put<T>(out: *mut T, v: T) {
    if !out.is_null() {
        // SAFETY: caller contract: a non-NULL out pointer is valid for a write.
        unsafe { out.write(v) };
    }
}

/// A borrowed C string as text; invalid UTF-8 is replaced (the core then classifies the text).
unsafe fn text<'a>(p: *const c_char) -> Option<Cow<'a, str>> {
    if p.is_null() {
        None
    } else {
        // SAFETY: caller contract: a NUL-terminated string.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy())
    }
}

unsafe fn required<'a>(p: *const c_char, what: &'static str) -> Res<Cow<'a, str>> {
    unsafe { text(p) }.ok_or(Fail::Invalid(what))
}

unsafe fn bytes<'a>(p: *const u8, len: usize) -> Res<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Fail::Invalid("a byte buffer is NULL"));
    }
    // SAFETY: caller contract: `len` readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

unsafe fn handle<'a>(h: *const vsync_handle) -> Res<&'a Vault> {
    if h.is_null() {
        return Err(Fail::Invalid("the handle is NULL"));
    }
    // SAFETY: caller contract: a live handle from vsync_open* not yet passed to vsync_free.
    Ok(unsafe { &(*h).vault })
}

unsafe fn pairs(
    keys: *const *const c_char,
    values: *const *const c_char,
    len: usize,
) -> Res<Vec<(String, Option<String>)>> {
    if len == 0 {
        return Ok(Vec::new());
    }
    if keys.is_null() || values.is_null() {
        return Err(Fail::Invalid("a key/value array is NULL"));
    }
    let mut out = Vec::with_capacity(len);
    for i in 0..len {
        // SAFETY: caller contract: both arrays hold `len` entries.
        let (k, v) = unsafe { (*keys.add(i), *values.add(i)) };
        let k = unsafe { required(k, "a key in a key/value array is NULL") }?;
        out.push((k.into_owned(), unsafe { text(v) }.map(Cow::into_owned)));
    }
    Ok(out)
}

unsafe fn options(o: *const vsync_options) -> Res<OpenOptions> {
    let mut opts = OpenOptions::default();
    if o.is_null() {
        return Ok(opts);
    }
    // SAFETY: caller contract.
    let o = unsafe { &*o };
    let mut defaults = IndexMap::new();
    for (k, v) in unsafe { pairs(o.default_keys, o.default_values, o.defaults_len) }? {
        defaults.insert(k, v.ok_or(Fail::Invalid("a default value is NULL"))?);
    }
    opts.defaults = defaults;
    // 0 means "the default"; huge values are clamped by the core.
    if let Some(t) = vsync_core::limits::timeout_from_millis(i128::from(o.timeout_ms)) {
        opts.timeout = t;
    }
    Ok(opts)
}

fn into_error(f: Fail) -> (i32, *mut vsync_error) {
    let (kind, code, message) = match f {
        Fail::Core(e) => (e.kind().number(), e.code().to_string(), e.message().to_string()),
        Fail::Invalid(m) => (VSYNC_ERR_INVALID_ARGUMENT, "VSYNC_INVALID_ARGUMENT".into(), m.to_string()),
        Fail::Panic => (
            VSYNC_ERR_INTERNAL,
            "VSYNC_INTERNAL".into(),
            "internal error in the vsync library (a bug; please report it)".to_string(),
        ),
    };
    let e = Box::new(vsync_error { kind, code: alloc_str(&code), message: alloc_str(&message) });
    (kind, Box::into_raw(e))
}

/// Run `f` with no panic escaping; store an error in `*out_error` (when non-NULL).
fn guard(out_error: *mut *mut vsync_error, f: impl FnOnce() -> Res) -> i32 {
    // SAFETY: out pointers are caller-provided and valid when non-NULL.
    unsafe { put(out_error, ptr::null_mut()) };
    let r = catch_unwind(AssertUnwindSafe(f)).unwrap_or(Err(Fail::Panic));
    match r {
        Ok(()) => VSYNC_OK,
        Err(f) => {
            let (kind, e) = into_error(f);
            if out_error.is_null() {
                // SAFETY: `e` was just allocated by `into_error`.
                unsafe { vsync_error_free(e) };
            } else {
                unsafe { put(out_error, e) };
            }
            kind
        }
    }
}

fn into_handle(v: Vault) -> *mut vsync_handle {
    Box::into_raw(Box::new(vsync_handle { vault: v }))
}

// ---------------------------------------------------------------------------------------------
// The ABI.

#[no_mangle]
pub extern "C" fn vsync_abi_version() -> u32 {
    VSYNC_ABI_VERSION
}

/// The CStrings own the bytes the pointers point at (kept alive, never read directly).
struct Names(#[allow(dead_code)] Vec<std::ffi::CString>, Vec<*const c_char>);
// SAFETY: the pointers point into the CStrings owned alongside; never mutated after init.
unsafe impl Send for Names {}
unsafe impl Sync for Names {}

/// The names `vsync_open` reads from its bootstrap environment, in the order it reads them.
#[no_mangle]
pub unsafe extern "C" fn vsync_bootstrap_variables(out_len: *mut usize) -> *const *const c_char {
    static NAMES: OnceLock<Option<Names>> = OnceLock::new();
    let names = catch_unwind(|| {
        NAMES.get_or_init(|| {
            let mut strings = Vec::new();
            for var in [bootstrap::CONFIG_VAR, bootstrap::PASSPHRASE_VAR] {
                for name in [format!("{var}_FILE"), var.to_string()] {
                    strings.push(std::ffi::CString::new(name).ok()?);
                }
            }
            let ptrs = strings.iter().map(|s| s.as_ptr()).collect();
            Some(Names(strings, ptrs))
        })
    });
    match names {
        Ok(Some(n)) => {
            unsafe { put(out_len, n.1.len()) };
            n.1.as_ptr()
        }
        _ => {
            unsafe { put(out_len, 0) };
            ptr::null()
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn vsync_open(
    opts: *const vsync_options,
    out_handle: *mut *mut vsync_handle,
    out_error: *mut *mut vsync_error,
) -> i32 {
    unsafe { put(out_handle, ptr::null_mut()) };
    guard(out_error, || {
        if out_handle.is_null() {
            return Err(Fail::Invalid("out_handle is NULL"));
        }
        let options = unsafe { options(opts) }?;
        let env: Option<HashMap<String, String>> = match unsafe { opts.as_ref() } {
            Some(o) if !o.env_names.is_null() => Some(
                unsafe { pairs(o.env_names, o.env_values, o.env_len) }?
                    .into_iter()
                    .filter_map(|(k, v)| v.map(|v| (k, v)))
                    .collect(),
            ),
            _ => None,
        };
        let vault = match &env {
            Some(map) => vsync_core::open(&|k| map.get(k).cloned(), options),
            None => vsync_core::open(&bootstrap::process_env, options),
        }?;
        unsafe { put(out_handle, into_handle(vault)) };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn vsync_open_with(
    config: *const c_char,
    passphrase: *const c_char,
    opts: *const vsync_options,
    out_handle: *mut *mut vsync_handle,
    out_error: *mut *mut vsync_error,
) -> i32 {
    unsafe { put(out_handle, ptr::null_mut()) };
    guard(out_error, || {
        if out_handle.is_null() {
            return Err(Fail::Invalid("out_handle is NULL"));
        }
        let options = unsafe { options(opts) }?;
        // NULL counts as empty: the core answers ConfigMissingError (SPEC §7).
        let config = unsafe { text(config) }.unwrap_or_default();
        let mut passphrase = unsafe { text(passphrase) }.unwrap_or_default().into_owned();
        let r = vsync_core::open_with(&config, &passphrase, options);
        passphrase.zeroize();
        unsafe { put(out_handle, into_handle(r?)) };
        Ok(())
    })
}

/// Shared by get_env / has_env: the core's chain with the caller's env value as step 2.
unsafe fn resolve(h: *const vsync_handle, key: *const c_char, env_value: *const c_char) -> Res<vsync_core::Resolved> {
    let vault = unsafe { handle(h) }?;
    let key = unsafe { required(key, "the key is NULL") }?;
    let mut env = unsafe { text(env_value) }.map(Cow::into_owned);
    let mut lookup = |_: &str| env.take();
    Ok(vault.resolve(&key, &mut lookup)?)
}

#[no_mangle]
pub unsafe extern "C" fn vsync_get_env(
    h: *const vsync_handle,
    key: *const c_char,
    env_value: *const c_char,
    out_value: *mut *mut c_char,
    out_len: *mut usize,
    out_source: *mut i32,
    out_error: *mut *mut vsync_error,
) -> i32 {
    unsafe {
        put(out_value, ptr::null_mut());
        put(out_len, 0);
        put(out_source, 0);
    }
    guard(out_error, || {
        let r = unsafe { resolve(h, key, env_value) }?;
        unsafe { put(out_source, r.source as i32) };
        if let Some(v) = r.value {
            unsafe { put(out_len, v.len()) };
            if !out_value.is_null() {
                unsafe { put(out_value, alloc_str(&v)) };
            }
        }
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn vsync_has_env(
    h: *const vsync_handle,
    key: *const c_char,
    env_value: *const c_char,
    out_has: *mut bool,
    out_error: *mut *mut vsync_error,
) -> i32 {
    unsafe { put(out_has, false) };
    guard(out_error, || {
        let r = unsafe { resolve(h, key, env_value) }?;
        unsafe { put(out_has, r.source != vsync_core::Source::Missing) };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn vsync_get_as_content(
    h: *const vsync_handle,
    name: *const c_char,
    out_bytes: *mut *mut u8,
    out_len: *mut usize,
    out_error: *mut *mut vsync_error,
) -> i32 {
    unsafe {
        put(out_bytes, ptr::null_mut());
        put(out_len, 0);
    }
    guard(out_error, || {
        let vault = unsafe { handle(h) }?;
        let name = unsafe { required(name, "the name is NULL") }?;
        let b = vault.get_as_content(&name)?;
        unsafe {
            put(out_len, b.len());
            put(out_bytes, alloc_buf(&b));
        }
        Ok(())
    })
}

fn alloc_list(items: &[String]) -> *mut *mut c_char {
    let v: Vec<*mut c_char> = items.iter().map(|s| alloc_str(s)).collect();
    Box::into_raw(v.into_boxed_slice()) as *mut *mut c_char
}

#[no_mangle]
pub unsafe extern "C" fn vsync_keys(
    h: *const vsync_handle,
    out_keys: *mut *mut *mut c_char,
    out_len: *mut usize,
    out_error: *mut *mut vsync_error,
) -> i32 {
    unsafe {
        put(out_keys, ptr::null_mut());
        put(out_len, 0);
    }
    guard(out_error, || {
        let keys = unsafe { handle(h) }?.keys()?;
        unsafe {
            put(out_len, keys.len());
            put(out_keys, alloc_list(&keys));
        }
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn vsync_generation(
    h: *const vsync_handle,
    out_gen: *mut u64,
    out_error: *mut *mut vsync_error,
) -> i32 {
    unsafe { put(out_gen, 0) };
    guard(out_error, || {
        let g = unsafe { handle(h) }?.generation()?;
        unsafe { put(out_gen, g) };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn vsync_remote_generation(
    h: *const vsync_handle,
    timeout_ms: u64,
    out_gen: *mut u64,
    out_error: *mut *mut vsync_error,
) -> i32 {
    unsafe { put(out_gen, 0) };
    guard(out_error, || {
        let v = unsafe { handle(h) }?;
        let g = match vsync_core::limits::timeout_from_millis(i128::from(timeout_ms)) {
            None => v.remote_generation()?,
            Some(t) => v.remote_generation_within(t)?,
        };
        unsafe { put(out_gen, g) };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn vsync_has_new_version(
    h: *const vsync_handle,
    timeout_ms: u64,
    out_new: *mut bool,
    out_error: *mut *mut vsync_error,
) -> i32 {
    unsafe { put(out_new, false) };
    guard(out_error, || {
        let v = unsafe { handle(h) }?;
        let n = match vsync_core::limits::timeout_from_millis(i128::from(timeout_ms)) {
            None => v.has_new_version()?,
            Some(t) => v.has_new_version_within(t)?,
        };
        unsafe { put(out_new, n) };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn vsync_close(h: *const vsync_handle) {
    let _ = catch_unwind(|| {
        if let Ok(v) = unsafe { handle(h) } {
            v.close();
        }
    });
}

#[no_mangle]
pub unsafe extern "C" fn vsync_free(h: *mut vsync_handle) {
    if h.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: caller contract: `h` came from vsync_open* and is freed once.
        let b = unsafe { Box::from_raw(h) };
        b.vault.close();
        drop(b);
    }));
}

#[no_mangle]
pub unsafe extern "C" fn vsync_string_free(s: *mut c_char) {
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe { free_buf(s as *mut u8) }));
}

#[no_mangle]
pub unsafe extern "C" fn vsync_bytes_free(b: *mut u8) {
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe { free_buf(b) }));
}

#[no_mangle]
pub unsafe extern "C" fn vsync_string_list_free(list: *mut *mut c_char, len: usize) {
    if list.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: caller contract: `list`/`len` came from this library.
        let b: Box<[*mut c_char]> = unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(list, len)) };
        for s in b.iter() {
            unsafe { free_buf(*s as *mut u8) };
        }
    }));
}

#[no_mangle]
pub unsafe extern "C" fn vsync_error_free(e: *mut vsync_error) {
    if e.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: caller contract: `e` came from this library and is freed once.
        let b = unsafe { Box::from_raw(e) };
        unsafe {
            free_buf(b.code as *mut u8);
            free_buf(b.message as *mut u8);
        }
    }));
}

// ---------------------------------------------------------------------------------------------
// Conformance hooks (private API, conformance/README.md).

#[no_mangle]
pub unsafe extern "C" fn vsync_testing_decrypt_envelope(
    envelope: *const u8,
    envelope_len: usize,
    passphrase: *const c_char,
    salt: *const c_char,
    iterations: u32,
    out_bytes: *mut *mut u8,
    out_len: *mut usize,
    out_error: *mut *mut vsync_error,
) -> i32 {
    unsafe {
        put(out_bytes, ptr::null_mut());
        put(out_len, 0);
    }
    guard(out_error, || {
        let env = unsafe { bytes(envelope, envelope_len) }?;
        let pw = unsafe { required(passphrase, "the passphrase is NULL") }?;
        let salt = unsafe { required(salt, "the salt is NULL") }?;
        let plain = hooks::decrypt_envelope(env, &pw, &salt, iterations)?;
        unsafe {
            put(out_len, plain.len());
            put(out_bytes, alloc_buf(&plain));
        }
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn vsync_testing_unseal_manifest(
    sealed: *const u8,
    sealed_len: usize,
    remote_ts: *const c_char,
    out_ts: *mut *mut c_char,
    out_payload: *mut *mut u8,
    out_payload_len: *mut usize,
    out_error: *mut *mut vsync_error,
) -> i32 {
    unsafe {
        put(out_ts, ptr::null_mut());
        put(out_payload, ptr::null_mut());
        put(out_payload_len, 0);
    }
    guard(out_error, || {
        let sealed = unsafe { bytes(sealed, sealed_len) }?;
        let remote = unsafe { text(remote_ts) };
        let (ts, payload) = hooks::unseal(sealed, remote.as_deref())?;
        unsafe {
            put(out_ts, alloc_str(&ts));
            put(out_payload_len, payload.len());
            put(out_payload, alloc_buf(&payload));
        }
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn vsync_testing_decode_config_json(
    blob: *const c_char,
    out_json: *mut *mut c_char,
    out_error: *mut *mut vsync_error,
) -> i32 {
    unsafe { put(out_json, ptr::null_mut()) };
    guard(out_error, || {
        let blob = unsafe { required(blob, "the blob is NULL") }?;
        let json = hooks::decode_config_json(&blob)?;
        unsafe { put(out_json, alloc_str(&json)) };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn vsync_testing_open_payload(
    payload: *const u8,
    payload_len: usize,
    env_label: *const c_char,
    pointer_ts: *const c_char,
    opts: *const vsync_options,
    out_handle: *mut *mut vsync_handle,
    out_error: *mut *mut vsync_error,
) -> i32 {
    unsafe { put(out_handle, ptr::null_mut()) };
    guard(out_error, || {
        if out_handle.is_null() {
            return Err(Fail::Invalid("out_handle is NULL"));
        }
        let payload = unsafe { bytes(payload, payload_len) }?;
        let env = unsafe { required(env_label, "the env label is NULL") }?;
        let ts = unsafe { text(pointer_ts) };
        let options = unsafe { options(opts) }?;
        let v = Vault::from_payload(payload, &env, ts.as_deref(), options)?;
        unsafe { put(out_handle, into_handle(v)) };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn vsync_testing_resolve_bootstrap(
    env_names: *const *const c_char,
    env_values: *const *const c_char,
    env_len: usize,
    out_config: *mut *mut c_char,
    out_passphrase: *mut *mut c_char,
    out_warnings: *mut *mut *mut c_char,
    out_warnings_len: *mut usize,
    out_error: *mut *mut vsync_error,
) -> i32 {
    unsafe {
        put(out_config, ptr::null_mut());
        put(out_passphrase, ptr::null_mut());
        put(out_warnings, ptr::null_mut());
        put(out_warnings_len, 0);
    }
    guard(out_error, || {
        let env: HashMap<String, String> = unsafe { pairs(env_names, env_values, env_len) }?
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        let (config, passphrase, warnings) = hooks::resolve_bootstrap(&env)?;
        unsafe {
            put(out_config, alloc_str(&config));
            put(out_passphrase, alloc_str(&passphrase));
            put(out_warnings_len, warnings.len());
            put(out_warnings, alloc_list(&warnings));
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_round_trip_with_embedded_nul() {
        let p = alloc_buf(b"a\0b");
        unsafe {
            assert_eq!(std::slice::from_raw_parts(p, 4), b"a\0b\0");
            free_buf(p);
            free_buf(ptr::null_mut());
        }
    }

    #[test]
    fn errors_carry_the_core_class() {
        let mut h = ptr::null_mut();
        let mut e = ptr::null_mut();
        let rc = unsafe { vsync_open_with(ptr::null(), ptr::null(), ptr::null(), &mut h, &mut e) };
        assert_eq!(rc, vsync_core::ErrorKind::ConfigMissing.number());
        assert!(h.is_null() && !e.is_null());
        let code = unsafe { CStr::from_ptr((*e).code) }.to_str().ok().map(str::to_owned);
        assert_eq!(code.as_deref(), Some("VSYNC_CONFIG_MISSING"));
        unsafe { vsync_error_free(e) };
    }
}
