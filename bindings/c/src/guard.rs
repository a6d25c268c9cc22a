//! The panic guard: every exported function runs its body here, so no panic crosses the
//! boundary and every error reaches the caller as a `vsync_error` with the core's kind.

use std::ffi::CString;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::OnceLock;

use vsync_core::{Error, OpenOptions, Vault};

use crate::args::{options, required_out};
use crate::buffer::{alloc_str, put};
use crate::out::Out;
use crate::types::{vsync_error, vsync_handle, vsync_options, Res, VSYNC_OK};

fn into_error(e: &Error) -> *mut vsync_error {
    let kind = e.kind().number();
    Box::into_raw(Box::new(vsync_error { kind, code: alloc_str(e.code()), message: alloc_str(e.message()) }))
}

/// Run `f` with no panic escaping; store an error in `*out_error` (when non-NULL).
pub(crate) fn guard(out_error: *mut *mut vsync_error, f: impl FnOnce() -> Res) -> i32 {
    // SAFETY: out pointers are caller-provided and valid when non-NULL.
    unsafe { put(out_error, ptr::null_mut()) };
    match catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| Err(Error::caught_panic())) {
        Ok(()) => VSYNC_OK,
        Err(e) => {
            if !out_error.is_null() {
                unsafe { put(out_error, into_error(&e)) };
            }
            e.kind().number()
        }
    }
}

/// A fallible call with out parameters: they are cleared first, and set from `f`'s result when
/// it succeeds.
pub(crate) fn call<O: Out>(out: O, out_error: *mut *mut vsync_error, f: impl FnOnce() -> Res<O::Value>) -> i32 {
    // SAFETY: out pointers are caller-provided and valid when non-NULL.
    unsafe { out.clear() };
    guard(out_error, || {
        let value = f()?;
        unsafe { out.set(value) };
        Ok(())
    })
}

/// A fallible call that creates a handle: `*out_handle` is NULL until `make` succeeds.
/// `make` gets the caller's `options` (NULL: all defaults), read once the out pointer is checked.
pub(crate) unsafe fn guard_open(
    options: *const vsync_options,
    out_handle: *mut *mut vsync_handle,
    out_error: *mut *mut vsync_error,
    make: impl FnOnce(OpenOptions) -> Res<Vault>,
) -> i32 {
    unsafe { put(out_handle, ptr::null_mut()) };
    guard(out_error, || {
        required_out(out_handle, "out_handle")?;
        let vault = make(unsafe { self::options(options) }?)?;
        unsafe { put(out_handle, Box::into_raw(Box::new(vsync_handle { vault }))) };
        Ok(())
    })
}

/// NUL-terminated copies of static text, kept for the life of the process (the pointers
/// handed out point into the CStrings, which are never mutated or dropped).
pub(crate) struct Statics<T>(#[allow(dead_code)] pub(crate) Vec<CString>, pub(crate) Vec<T>);
// SAFETY: the raw pointers in `T` point into the CStrings owned alongside, immutable after init.
unsafe impl<T> Send for Statics<T> {}
unsafe impl<T> Sync for Statics<T> {}

pub(crate) fn cstring(s: &str) -> Option<CString> {
    CString::new(s).ok()
}

/// Hands out a static array built once (`build` runs at most once per process).
pub(crate) unsafe fn static_array<T>(
    cell: &'static OnceLock<Option<Statics<T>>>,
    out_len: *mut usize,
    build: impl FnOnce() -> Option<Statics<T>>,
) -> *const T {
    match catch_unwind(AssertUnwindSafe(|| cell.get_or_init(build))) {
        Ok(Some(s)) => {
            unsafe { put(out_len, s.1.len()) };
            s.1.as_ptr()
        }
        _ => {
            unsafe { put(out_len, 0) };
            ptr::null()
        }
    }
}
