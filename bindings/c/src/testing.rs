//! Conformance hooks: PRIVATE API for the conformance runners and the bindings' tests
//! (conformance/README.md). Same conventions; not covered by any stability promise.

use std::ffi::c_char;

use vsync_core::{hooks, Error, ErrorKind, Vault};
use zeroize::Zeroizing;

use crate::args::{bytes, env_map, required, text};
use crate::guard::{call, guard, guard_open};
use crate::out::Own;
use crate::types::{vsync_error, vsync_handle, vsync_options};

/// hooks::decrypt_envelope. `*out_bytes` (caller frees, vsync_bytes_free) is the plaintext.
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
    call(Own::with_len(out_bytes, out_len), out_error, || {
        let env = unsafe { bytes(envelope, envelope_len) }?;
        let pw = unsafe { required(passphrase, "the passphrase") }?;
        let salt = unsafe { required(salt, "the salt") }?;
        hooks::decrypt_envelope(env, &pw, &salt, iterations)
    })
}

/// hooks::unseal. `remote_ts` may be NULL (no check). `*out_ts` (vsync_string_free) and
/// `*out_payload` (vsync_bytes_free) are owned by the caller.
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
    call((Own::new(out_ts), Own::with_len(out_payload, out_payload_len)), out_error, || {
        let sealed = unsafe { bytes(sealed, sealed_len) }?;
        let remote = unsafe { text(remote_ts) };
        let (ts, payload) = hooks::unseal(sealed, remote.as_deref())?;
        Ok((Zeroizing::new(ts), Zeroizing::new(payload)))
    })
}

/// hooks::decode_config_json. `*out_json` (vsync_string_free) holds the secret key: tests only.
#[no_mangle]
pub unsafe extern "C" fn vsync_testing_decode_config_json(
    blob: *const c_char,
    out_json: *mut *mut c_char,
    out_error: *mut *mut vsync_error,
) -> i32 {
    call(Own::new(out_json), out_error, || {
        Ok(Zeroizing::new(hooks::decode_config_json(&unsafe { required(blob, "the blob") }?)?))
    })
}

/// Vault::from_payload: a handle without S3 (remote generation -> VSYNC_KIND_CONFIG_MISSING).
/// `pointer_ts` may be NULL; `options` may be NULL. `*out_handle`: caller frees (vsync_free).
#[no_mangle]
pub unsafe extern "C" fn vsync_testing_open_payload(
    payload: *const u8,
    payload_len: usize,
    env_label: *const c_char,
    pointer_ts: *const c_char,
    options: *const vsync_options,
    out_handle: *mut *mut vsync_handle,
    out_error: *mut *mut vsync_error,
) -> i32 {
    unsafe {
        guard_open(options, out_handle, out_error, |opts| {
            let env = required(env_label, "the env label")?;
            Vault::from_payload(bytes(payload, payload_len)?, &env, text(pointer_ts).as_deref(), opts)
        })
    }
}

/// hooks::resolve_bootstrap over an explicit environment (a NULL value = unset).
/// `*out_config`, `*out_passphrase` (vsync_string_free) and `*out_warnings`
/// (vsync_string_list_free with `*out_warnings_len`) are owned by the caller.
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
    call(
        (Own::new(out_config), Own::new(out_passphrase), Own::with_len(out_warnings, out_warnings_len)),
        out_error,
        || hooks::resolve_bootstrap(&unsafe { env_map(env_names, env_values, env_len) }?),
    )
}

/// Fails with the error of the core kind numbered `kind`, through the normal error path, so
/// that each binding tests its error table per kind. VSYNC_KIND_INTERNAL is produced by a
/// real panic caught at the boundary. An unknown number gives VSYNC_KIND_INVALID_ARGUMENT.
#[no_mangle]
#[allow(clippy::panic)] // the point of the Internal case
pub unsafe extern "C" fn vsync_testing_raise(kind: i32, out_error: *mut *mut vsync_error) -> i32 {
    guard(out_error, || match ErrorKind::from_number(kind) {
        Some(ErrorKind::Internal) => panic!("deliberate test panic"),
        Some(k) => Err(Error::new(k, format!("raised for a test: {}", k.class_name()))),
        None => Err(Error::invalid_argument(format!("no error kind numbered {kind}"))),
    })
}
