//! Memory handed to the caller: every buffer carries its length in a hidden header and is
//! zeroed when freed; out pointers are written only when non-NULL.

use std::ffi::c_char;
use std::ptr;

use zeroize::Zeroize;

const HDR: usize = std::mem::size_of::<usize>();

pub(crate) fn alloc_buf(bytes: &[u8]) -> *mut u8 {
    let total = HDR + bytes.len() + 1;
    let mut v: Vec<u8> = Vec::with_capacity(total);
    v.extend_from_slice(&bytes.len().to_ne_bytes());
    v.extend_from_slice(bytes);
    v.push(0);
    let base = Box::into_raw(v.into_boxed_slice()) as *mut u8;
    // SAFETY: the allocation is `total >= HDR` bytes long.
    unsafe { base.add(HDR) }
}

pub(crate) unsafe fn free_buf(p: *mut u8) {
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

pub(crate) fn alloc_str(s: &str) -> *mut c_char {
    alloc_buf(s.as_bytes()) as *mut c_char
}

pub(crate) fn alloc_list<S: AsRef<str>>(items: &[S]) -> *mut *mut c_char {
    let v: Vec<*mut c_char> = items.iter().map(|s| alloc_str(s.as_ref())).collect();
    Box::into_raw(v.into_boxed_slice()) as *mut *mut c_char
}

pub(crate) unsafe fn put<T>(out: *mut T, v: T) {
    if !out.is_null() {
        // SAFETY: caller contract: a non-NULL out pointer is valid for a write.
        unsafe { out.write(v) };
    }
}

/// Writes `make()` to `*out` only when `out` is non-NULL: nothing is allocated for an optional
/// out pointer the caller left NULL.
pub(crate) unsafe fn put_with<T>(out: *mut T, make: impl FnOnce() -> T) {
    if !out.is_null() {
        // SAFETY: caller contract: a non-NULL out pointer is valid for a write.
        unsafe { out.write(make()) };
    }
}
