//! Closing handles and releasing what the library handed out.

use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use crate::args::vault_of;
use crate::buffer::free_buf;
use crate::types::{vsync_error, vsync_handle};

/// Zero every value, asset, default and credential. Idempotent, thread-safe; NULL is a no-op.
/// The handle stays allocated: later calls fail with VSYNC_KIND_CLOSED until vsync_free.
#[no_mangle]
pub unsafe extern "C" fn vsync_close(handle: *const vsync_handle) {
    let _ = catch_unwind(|| {
        if let Ok(v) = unsafe { vault_of(handle) } {
            v.close();
        }
    });
}

/// Releases what `p` points to (a Box this library handed out) after `finish` has wiped or closed
/// what it holds. NULL is a no-op; no panic escapes.
unsafe fn release<T: ?Sized>(p: *mut T, finish: impl FnOnce(&mut T)) {
    if p.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: caller contract: `p` came from this library and is released once.
        let mut b = unsafe { Box::from_raw(p) };
        finish(&mut b);
    }));
}

/// Close (if needed) and release a handle. Once per handle; must not race with other calls
/// on it. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn vsync_free(handle: *mut vsync_handle) {
    unsafe { release(handle, |h| h.vault.close()) };
}

/// Release (and zero) a string returned by this library. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn vsync_string_free(s: *mut c_char) {
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe { free_buf(s as *mut u8) }));
}

/// Release (and zero) a byte buffer returned by this library. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn vsync_bytes_free(bytes: *mut u8) {
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe { free_buf(bytes) }));
}

/// Release a list returned by this library (each string and the array). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn vsync_string_list_free(list: *mut *mut c_char, len: usize) {
    // SAFETY: caller contract: `list`/`len` came from this library.
    unsafe {
        release(ptr::slice_from_raw_parts_mut(list, len), |strings| {
            for s in strings.iter() {
                free_buf(*s as *mut u8);
            }
        })
    };
}

/// Release a list of sizes returned by this library (vsync_environ's value lengths). NULL is a
/// no-op.
#[no_mangle]
pub unsafe extern "C" fn vsync_size_list_free(list: *mut usize, len: usize) {
    // SAFETY: caller contract: `list`/`len` came from this library.
    unsafe { release(ptr::slice_from_raw_parts_mut(list, len), |_| ()) };
}

/// Release an error (with its code and message). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn vsync_error_free(error: *mut vsync_error) {
    unsafe {
        release(error, |e| {
            free_buf(e.code as *mut u8);
            free_buf(e.message as *mut u8);
        })
    };
}
