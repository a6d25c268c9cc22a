//! The ABI's functions: library information, opening a vault and reading it.

use std::borrow::Cow;
use std::ffi::c_char;
use std::sync::OnceLock;
use std::time::Duration;

use vsync_core::{bootstrap, ErrorKind, Source, Vault};
use zeroize::{Zeroize, Zeroizing};

use crate::args::{env_list, env_map, required, text, vault_of};
use crate::guard::{call, cstring, guard_open, static_array, Statics};
use crate::out::{Own, Scalar, Sizes};
use crate::types::*;

/// The ABI version of the linked library (VSYNC_ABI_VERSION it was built with).
#[no_mangle]
pub extern "C" fn vsync_abi_version() -> u32 {
    VSYNC_ABI_VERSION
}

/// Every error kind of the core, with its stable code and class name, in the core's order.
/// Returns a static array owned by the library (never free it); `*out_len` (optional)
/// receives its length. Bindings build their error tables from it instead of spelling codes.
#[no_mangle]
pub unsafe extern "C" fn vsync_error_kinds(out_len: *mut usize) -> *const vsync_error_kind_info {
    static KINDS: OnceLock<Option<Statics<vsync_error_kind_info>>> = OnceLock::new();
    unsafe {
        static_array(&KINDS, out_len, || {
            let mut strings = Vec::new();
            let mut infos = Vec::new();
            for k in ErrorKind::ALL {
                let (code, class) = (cstring(k.code())?, cstring(k.class_name())?);
                infos.push(vsync_error_kind_info {
                    kind: k.number(),
                    code: code.as_ptr(),
                    class_name: class.as_ptr(),
                    taxonomy: k.is_taxonomy(),
                });
                strings.extend([code, class]);
            }
            Some(Statics(strings, infos))
        })
    }
}

/// The names of the variables vsync_open reads (VSYNC_CONFIG_FILE, VSYNC_CONFIG, ...), in
/// the order it reads them. Returns a static array owned by the library (never free it);
/// `*out_len` (optional) receives its length.
#[no_mangle]
pub unsafe extern "C" fn vsync_bootstrap_variables(out_len: *mut usize) -> *const *const c_char {
    static NAMES: OnceLock<Option<Statics<*const c_char>>> = OnceLock::new();
    unsafe {
        static_array(&NAMES, out_len, || {
            let mut strings = Vec::new();
            for var in [bootstrap::CONFIG_VAR, bootstrap::PASSPHRASE_VAR] {
                strings.push(cstring(&format!("{var}_FILE"))?);
                strings.push(cstring(var)?);
            }
            let ptrs = strings.iter().map(|s| s.as_ptr()).collect();
            Some(Statics(strings, ptrs))
        })
    }
}

/// Open from the bootstrap environment (VSYNC_CONFIG[_FILE], VSYNC_PASSPHRASE[_FILE]): one S3
/// round trip, decryption in memory. `options` may be NULL. On success `*out_handle` is a new
/// handle owned by the caller (vsync_free). Bootstrap warnings go to stderr.
#[no_mangle]
pub unsafe extern "C" fn vsync_open(
    options: *const vsync_options,
    out_handle: *mut *mut vsync_handle,
    out_error: *mut *mut vsync_error,
) -> i32 {
    unsafe {
        guard_open(options, out_handle, out_error, |opts| match options.as_ref() {
            Some(o) if !o.env_names.is_null() => {
                let env = env_map(o.env_names, o.env_values, o.env_len)?;
                vsync_core::open(&|k| env.get(k).cloned(), opts)
            }
            _ => vsync_core::open(&bootstrap::process_env, opts),
        })
    }
}

/// Open with explicit inputs, skipping the environment. NULL or "" config/passphrase ->
/// VSYNC_KIND_CONFIG_MISSING. `options` may be NULL (its env_* fields are ignored).
#[no_mangle]
pub unsafe extern "C" fn vsync_open_with(
    config: *const c_char,
    passphrase: *const c_char,
    options: *const vsync_options,
    out_handle: *mut *mut vsync_handle,
    out_error: *mut *mut vsync_error,
) -> i32 {
    unsafe {
        guard_open(options, out_handle, out_error, |opts| {
            // NULL counts as empty: the core answers ConfigMissingError (SPEC §7).
            let config = text(config).unwrap_or_default();
            let mut passphrase = text(passphrase).unwrap_or_default().into_owned();
            let r = vsync_core::open_with(&config, &passphrase, opts);
            passphrase.zeroize();
            r
        })
    }
}

/// Shared by get_env / has_env: the core's chain with the caller's env value as step 2.
unsafe fn resolve(h: *const vsync_handle, key: *const c_char, env_value: *const c_char) -> Res<vsync_core::Resolved> {
    let vault = unsafe { vault_of(h) }?;
    let key = unsafe { required(key, "the key") }?;
    let mut env = unsafe { text(env_value) }.map(Cow::into_owned);
    let mut lookup = |_: &str| env.take();
    vault.resolve(&key, &mut lookup)
}

/// Resolve `key` through the chain. `env_value` is step 2: the value the caller's view of the
/// process environment holds for `key` right now, or NULL when unset ("" counts as set).
/// Outputs (all optional): `*out_value` = the value (caller frees with vsync_string_free) or
/// NULL when missing; `*out_len` = its length in bytes; `*out_source` = a vsync_source.
/// Pass out_value = NULL to learn only the source (nothing is allocated).
#[no_mangle]
pub unsafe extern "C" fn vsync_get_env(
    handle: *const vsync_handle,
    key: *const c_char,
    env_value: *const c_char,
    out_value: *mut *mut c_char,
    out_len: *mut usize,
    out_source: *mut i32,
    out_error: *mut *mut vsync_error,
) -> i32 {
    call((Scalar(out_source, 0), Own::with_len(out_value, out_len)), out_error, || {
        let r = unsafe { resolve(handle, key, env_value) }?;
        Ok((c_source(r.source) as i32, r.value))
    })
}

/// True iff the chain resolves `key` (steps 1-3). `env_value` as in vsync_get_env.
#[no_mangle]
pub unsafe extern "C" fn vsync_has_env(
    handle: *const vsync_handle,
    key: *const c_char,
    env_value: *const c_char,
    out_has: *mut bool,
    out_error: *mut *mut vsync_error,
) -> i32 {
    call(
        Scalar(out_has, false),
        out_error,
        || Ok(unsafe { resolve(handle, key, env_value) }?.source != Source::Missing),
    )
}

/// An asset's bytes, else the key/value of that name as UTF-8, else VSYNC_KIND_NOT_FOUND.
/// `*out_bytes` is owned by the caller (vsync_bytes_free), never NULL on success (an empty
/// asset gives a valid pointer and *out_len = 0).
#[no_mangle]
pub unsafe extern "C" fn vsync_get_as_content(
    handle: *const vsync_handle,
    name: *const c_char,
    out_bytes: *mut *mut u8,
    out_len: *mut usize,
    out_error: *mut *mut vsync_error,
) -> i32 {
    call(Own::with_len(out_bytes, out_len), out_error, || {
        let vault = unsafe { vault_of(handle) }?;
        vault.get_as_content(&unsafe { required(name, "the name") }?)
    })
}

/// The vault's key names in payload order (no values). `*out_keys` is an array of `*out_len`
/// strings owned by the caller: release with vsync_string_list_free(*out_keys, *out_len).
#[no_mangle]
pub unsafe extern "C" fn vsync_keys(
    handle: *const vsync_handle,
    out_keys: *mut *mut *mut c_char,
    out_len: *mut usize,
    out_error: *mut *mut vsync_error,
) -> i32 {
    call(Own::with_len(out_keys, out_len), out_error, || unsafe { vault_of(handle) }?.keys())
}

/// The resolved view (SPEC §8): every name vsync_get_env answers, with the value it answers,
/// sorted by name (byte order). `env_names` / `env_values` (`env_len` entries; NULL when 0) are
/// step 2: the caller's snapshot of its process environment (a NULL value means unset; a name
/// given twice keeps its last value). On success `*out_len` is the number of names, and (each
/// out pointer optional) `*out_names` and `*out_values` are arrays of that many strings owned by
/// the caller (release each with vsync_string_list_free(list, *out_len); the values are zeroed),
/// `*out_value_lens` the values' lengths in bytes (a value may hold a NUL byte; release with
/// vsync_size_list_free(lens, *out_len)). Pass out_values = NULL to learn only the names.
#[no_mangle]
pub unsafe extern "C" fn vsync_environ(
    handle: *const vsync_handle,
    env_names: *const *const c_char,
    env_values: *const *const c_char,
    env_len: usize,
    out_names: *mut *mut *mut c_char,
    out_values: *mut *mut *mut c_char,
    out_value_lens: *mut *mut usize,
    out_len: *mut usize,
    out_error: *mut *mut vsync_error,
) -> i32 {
    let out = (Own::with_len(out_names, out_len), Own::new(out_values), Own::new(out_value_lens));
    call(out, out_error, || {
        let vault = unsafe { vault_of(handle) }?;
        let env = unsafe { env_list(env_names, env_values, env_len) }?;
        let (names, values): (Vec<String>, Vec<Zeroizing<String>>) = vault.environ(env)?.into_iter().unzip();
        let lens = Sizes(values.iter().map(|v| v.len()).collect());
        Ok((names, values, lens))
    })
}

/// The generation read at open time (pure memory).
#[no_mangle]
pub unsafe extern "C" fn vsync_generation(
    handle: *const vsync_handle,
    out_generation: *mut u64,
    out_error: *mut *mut vsync_error,
) -> i32 {
    call(Scalar(out_generation, 0), out_error, || unsafe { vault_of(handle) }?.generation())
}

/// The remote-generation calls: one HEAD bounded by the handle's timeout, or by `timeout_ms`
/// when it is non-zero and sooner (the core's `*_within` never extends the handle's timeout).
unsafe fn remote<T: Copy>(
    handle: *const vsync_handle,
    timeout_ms: u64,
    out: Scalar<T>,
    out_error: *mut *mut vsync_error,
    within: fn(&Vault, Duration) -> Res<T>,
) -> i32 {
    call(out, out_error, || {
        let v = unsafe { vault_of(handle) }?;
        // 0 means "the handle's timeout"; huge values are clamped by the core.
        let timeout = vsync_core::limits::timeout_from_millis(i128::from(timeout_ms));
        within(v, timeout.unwrap_or(Duration::MAX))
    })
}

/// The generation in the bucket now (one HEAD). Bounded by the open's timeout, or by
/// timeout_ms when it is non-zero and sooner (a longer timeout_ms does not extend it).
#[no_mangle]
pub unsafe extern "C" fn vsync_remote_generation(
    handle: *const vsync_handle,
    timeout_ms: u64,
    out_generation: *mut u64,
    out_error: *mut *mut vsync_error,
) -> i32 {
    unsafe { remote(handle, timeout_ms, Scalar(out_generation, 0), out_error, Vault::remote_generation_within) }
}

/// remote generation > generation; timeout_ms as for vsync_remote_generation.
#[no_mangle]
pub unsafe extern "C" fn vsync_has_new_version(
    handle: *const vsync_handle,
    timeout_ms: u64,
    out_new: *mut bool,
    out_error: *mut *mut vsync_error,
) -> i32 {
    unsafe { remote(handle, timeout_ms, Scalar(out_new, false), out_error, Vault::has_new_version_within) }
}
