//! Out parameters: cleared before a call does anything, set from its result when it succeeds.

use std::ffi::c_char;
use std::ptr;

use zeroize::Zeroizing;

use crate::buffer::{alloc_buf, alloc_list, alloc_str, put, put_with};

/// The out parameters of a call (one result, or a group such as a buffer and its length).
/// `clear` writes their "nothing" values (NULL / 0) before the call does anything else; `set`
/// writes the result of a call that succeeded. NULL out pointers are skipped (optional ones).
pub(crate) trait Out: Copy {
    type Value;
    unsafe fn clear(self);
    unsafe fn set(self, value: Self::Value);
}

/// A plain value, and what `*out` holds until the call succeeds.
#[derive(Clone, Copy)]
pub(crate) struct Scalar<T>(pub(crate) *mut T, pub(crate) T);

impl<T: Copy> Out for Scalar<T> {
    type Value = T;
    unsafe fn clear(self) {
        unsafe { put(self.0, self.1) };
    }
    unsafe fn set(self, value: T) {
        unsafe { put(self.0, value) };
    }
}

/// A result handed to the caller as memory it owns, allocated here with its hidden length
/// header (freed with the function the declaration names).
pub(crate) trait Owned {
    type Ptr;
    fn len(&self) -> usize;
    fn alloc(&self) -> *mut Self::Ptr;
}

/// vsync_string_free.
impl Owned for Zeroizing<String> {
    type Ptr = c_char;
    fn len(&self) -> usize {
        self.as_str().len()
    }
    fn alloc(&self) -> *mut c_char {
        alloc_str(self)
    }
}

/// vsync_bytes_free.
impl Owned for Zeroizing<Vec<u8>> {
    type Ptr = u8;
    fn len(&self) -> usize {
        self.as_slice().len()
    }
    fn alloc(&self) -> *mut u8 {
        alloc_buf(self)
    }
}

/// vsync_string_list_free.
impl Owned for Vec<String> {
    type Ptr = *mut c_char;
    fn len(&self) -> usize {
        self.as_slice().len()
    }
    fn alloc(&self) -> *mut *mut c_char {
        alloc_list(self)
    }
}

/// vsync_string_list_free (which zeroes each string).
impl Owned for Vec<Zeroizing<String>> {
    type Ptr = *mut c_char;
    fn len(&self) -> usize {
        self.as_slice().len()
    }
    fn alloc(&self) -> *mut *mut c_char {
        alloc_list(self)
    }
}

/// A list of sizes (vsync_size_list_free).
pub(crate) struct Sizes(pub(crate) Vec<usize>);

impl Owned for Sizes {
    type Ptr = usize;
    fn len(&self) -> usize {
        self.0.len()
    }
    fn alloc(&self) -> *mut usize {
        Box::into_raw(self.0.clone().into_boxed_slice()) as *mut usize
    }
}

/// A value that may be missing: NULL and length 0 when it is.
impl<T: Owned> Owned for Option<T> {
    type Ptr = T::Ptr;
    fn len(&self) -> usize {
        self.as_ref().map_or(0, T::len)
    }
    fn alloc(&self) -> *mut T::Ptr {
        self.as_ref().map_or(ptr::null_mut(), T::alloc)
    }
}

/// An owned result, and optionally its length (`len` NULL: none). The allocation is made only
/// when `out` is non-NULL, so a caller may ask for the length alone.
pub(crate) struct Own<V: Owned> {
    out: *mut *mut V::Ptr,
    len: *mut usize,
}

impl<V: Owned> Clone for Own<V> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<V: Owned> Copy for Own<V> {}

impl<V: Owned> Own<V> {
    // A result without a length of its own: a NUL-terminated string (the hooks), or the values of
    // vsync_environ (whose length is the names').
    pub(crate) fn new(out: *mut *mut V::Ptr) -> Self {
        Own { out, len: ptr::null_mut() }
    }
    pub(crate) fn with_len(out: *mut *mut V::Ptr, len: *mut usize) -> Self {
        Own { out, len }
    }
}

impl<V: Owned> Out for Own<V> {
    type Value = V;
    unsafe fn clear(self) {
        unsafe {
            put(self.out, ptr::null_mut());
            put(self.len, 0);
        }
    }
    unsafe fn set(self, value: V) {
        unsafe {
            put(self.len, value.len());
            put_with(self.out, || value.alloc());
        }
    }
}

impl<A: Out, B: Out> Out for (A, B) {
    type Value = (A::Value, B::Value);
    unsafe fn clear(self) {
        unsafe {
            self.0.clear();
            self.1.clear();
        }
    }
    unsafe fn set(self, (a, b): Self::Value) {
        unsafe {
            self.0.set(a);
            self.1.set(b);
        }
    }
}

impl<A: Out, B: Out, C: Out> Out for (A, B, C) {
    type Value = (A::Value, B::Value, C::Value);
    unsafe fn clear(self) {
        unsafe {
            self.0.clear();
            self.1.clear();
            self.2.clear();
        }
    }
    unsafe fn set(self, (a, b, c): Self::Value) {
        unsafe {
            self.0.set(a);
            self.1.set(b);
            self.2.set(c);
        }
    }
}
