//! Unit tests of the layer (the ABI as a whole is exercised by `tests/abi_test.c` and Go).

use std::ffi::CStr;
use std::ptr;

use vsync_core::ErrorKind;

use crate::buffer::{alloc_buf, free_buf};
use crate::*;

fn cstr(p: *const std::ffi::c_char) -> Option<String> {
    unsafe { CStr::from_ptr(p) }.to_str().ok().map(str::to_owned)
}

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
fn the_boundary_statuses_are_the_core_numbers() {
    assert_eq!(VSYNC_ERR_INTERNAL, ErrorKind::Internal.number());
    assert_eq!(VSYNC_ERR_INVALID_ARGUMENT, ErrorKind::InvalidArgument.number());
}

#[test]
fn every_kind_is_listed_with_the_core_code() {
    let mut n = 0;
    let kinds = unsafe { vsync_error_kinds(&mut n) };
    assert_eq!(n, ErrorKind::ALL.len());
    let kinds = unsafe { std::slice::from_raw_parts(kinds, n) };
    for (info, k) in kinds.iter().zip(ErrorKind::ALL) {
        assert_eq!((info.kind, info.taxonomy), (k.number(), k.is_taxonomy()));
        assert_eq!(cstr(info.code).as_deref(), Some(k.code()));
        assert_eq!(cstr(info.class_name).as_deref(), Some(k.class_name()));
    }
}

#[cfg(feature = "testing-hooks")]
#[test]
fn every_kind_comes_back_with_the_core_code() {
    for k in ErrorKind::ALL {
        let mut e = ptr::null_mut();
        assert_eq!(unsafe { vsync_testing_raise(k.number(), &mut e) }, k.number());
        assert!(!e.is_null());
        assert_eq!(unsafe { (*e).kind }, k.number());
        assert_eq!(cstr(unsafe { (*e).code }).as_deref(), Some(k.code()));
        unsafe { vsync_error_free(e) };
    }
}

#[test]
fn errors_carry_the_core_class() {
    let mut h = ptr::null_mut();
    let mut e = ptr::null_mut();
    let rc = unsafe { vsync_open_with(ptr::null(), ptr::null(), ptr::null(), &mut h, &mut e) };
    assert_eq!(rc, ErrorKind::ConfigMissing.number());
    assert!(h.is_null() && !e.is_null());
    assert_eq!(cstr(unsafe { (*e).code }).as_deref(), Some(ErrorKind::ConfigMissing.code()));
    unsafe { vsync_error_free(e) };
}
