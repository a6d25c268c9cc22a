//! Arguments coming in: borrowed C strings, byte buffers, key/value arrays and options, read
//! into Rust values (a NULL where one is required is the core's InvalidArgument).

use std::borrow::Cow;
use std::collections::HashMap;
use std::ffi::{c_char, CStr};

use indexmap::IndexMap;
use vsync_core::{Error, OpenOptions, Vault};

use crate::types::{vsync_handle, vsync_options, Res};

/// A borrowed C string as text; invalid UTF-8 is replaced (the core then classifies the text).
pub(crate) unsafe fn text<'a>(p: *const c_char) -> Option<Cow<'a, str>> {
    if p.is_null() {
        None
    } else {
        // SAFETY: caller contract: a NUL-terminated string.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy())
    }
}

pub(crate) unsafe fn required<'a>(p: *const c_char, what: &str) -> Res<Cow<'a, str>> {
    unsafe { text(p) }.ok_or_else(|| Error::invalid_argument(format!("{what} is NULL")))
}

/// A required out pointer of a function that creates something (a handle).
pub(crate) fn required_out<T>(out: *mut T, what: &str) -> Res {
    if out.is_null() {
        return Err(Error::invalid_argument(format!("{what} is NULL")));
    }
    Ok(())
}

pub(crate) unsafe fn vault_of<'a>(h: *const vsync_handle) -> Res<&'a Vault> {
    if h.is_null() {
        return Err(Error::invalid_argument("the handle is NULL"));
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
        return Err(Error::invalid_argument("a key/value array is NULL"));
    }
    let mut out = Vec::with_capacity(len);
    for i in 0..len {
        // SAFETY: caller contract: both arrays hold `len` entries.
        let (k, v) = unsafe { (*keys.add(i), *values.add(i)) };
        let k = unsafe { required(k, "a key in a key/value array") }?;
        out.push((k.into_owned(), unsafe { text(v) }.map(Cow::into_owned)));
    }
    Ok(out)
}

/// An environment given as name/value arrays, in the caller's order; NULL values (unset) dropped.
pub(crate) unsafe fn env_list(
    names: *const *const c_char,
    values: *const *const c_char,
    len: usize,
) -> Res<Vec<(String, String)>> {
    Ok(unsafe { pairs(names, values, len) }?.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect())
}

/// An environment given as name/value arrays; a NULL value means unset.
pub(crate) unsafe fn env_map(
    names: *const *const c_char,
    values: *const *const c_char,
    len: usize,
) -> Res<HashMap<String, String>> {
    Ok(unsafe { pairs(names, values, len) }?.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect())
}

pub(crate) unsafe fn options(o: *const vsync_options) -> Res<OpenOptions> {
    let mut opts = OpenOptions::default();
    if o.is_null() {
        return Ok(opts);
    }
    // SAFETY: caller contract.
    let o = unsafe { &*o };
    let mut defaults = IndexMap::new();
    for (k, v) in unsafe { pairs(o.default_keys, o.default_values, o.defaults_len) }? {
        defaults.insert(k, v.ok_or_else(|| Error::invalid_argument("a default value is NULL"))?);
    }
    opts.defaults = defaults;
    // 0 means "the default"; huge values are clamped by the core.
    if let Some(t) = vsync_core::limits::timeout_from_millis(i128::from(o.timeout_ms)) {
        opts.timeout = t;
    }
    opts.min_generation = Some(o.min_generation);
    Ok(opts)
}
