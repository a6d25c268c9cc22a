//! vsync-c: a narrow C ABI over `vsync-core`. The Go binding links the static library; any C
//! or C++ program can too (`tests/abi_test.c`).
//!
//! `include/vsync.h` is generated from this file by cbindgen (`cbindgen.toml`): the doc
//! comments below are the header's documentation, and `tests/header.rs` fails when the
//! committed header differs from what cbindgen makes of the current signatures (regenerate
//! with `VSYNC_BLESS=1 cargo test -p vsync-c --test header`).
//!
//! Rules of this layer: it only converts arguments and results. Formats, the lookup order and
//! error classes (numbers and codes included) all come from the core. Every exported function
//! runs its body under `catch_unwind`, so no panic crosses the boundary (it becomes the core's
//! `Internal` kind). Every buffer handed out is allocated here, carries its length in a hidden
//! header, and is zeroed when freed with `vsync_string_free` / `vsync_bytes_free`.
#![allow(non_camel_case_types, clippy::missing_safety_doc, clippy::too_many_arguments)]

use std::borrow::Cow;
use std::collections::HashMap;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::OnceLock;
use std::time::Duration;

use indexmap::IndexMap;
use vsync_core::{bootstrap, hooks, Error, ErrorKind, OpenOptions, Source, Vault};
use zeroize::{Zeroize, Zeroizing};

/// Incremented on any incompatible change of this header. Compare with vsync_abi_version().
pub const VSYNC_ABI_VERSION: u32 = 1;

/// The status of a call that succeeded.
pub const VSYNC_OK: i32 = 0;

/// A required pointer was NULL: the core's InvalidArgument kind (same as VSYNC_KIND_INVALID_ARGUMENT).
pub const VSYNC_ERR_INVALID_ARGUMENT: i32 = -1;

/// A panic was caught at the boundary, a bug in the library: the core's Internal kind
/// (same as VSYNC_KIND_INTERNAL).
pub const VSYNC_ERR_INTERNAL: i32 = -2;

/// The core's error kinds (ErrorKind::number()). 1..7 are the SPEC §9 taxonomy, 8..9 the
/// core's other outcomes, the negative ones are raised at the boundary. vsync_error_kinds()
/// lists them with their codes and class names, from the core.
#[repr(i32)]
pub enum vsync_error_kind {
    /// ConfigMissingError
    VSYNC_KIND_CONFIG_MISSING = 1,
    /// ConfigUnsupportedVersionError
    VSYNC_KIND_CONFIG_UNSUPPORTED_VERSION = 2,
    /// S3UnreachableError (also time-outs)
    VSYNC_KIND_S3_UNREACHABLE = 3,
    /// ManifestNotFoundError
    VSYNC_KIND_MANIFEST_NOT_FOUND = 4,
    /// WrongPassphraseError
    VSYNC_KIND_WRONG_PASSPHRASE = 5,
    /// BundleCorruptError
    VSYNC_KIND_BUNDLE_CORRUPT = 6,
    /// UnsupportedSpecVersionError
    VSYNC_KIND_UNSUPPORTED_SPEC_VERSION = 7,
    /// The handle was closed (not in the taxonomy).
    VSYNC_KIND_CLOSED = 8,
    /// vsync_get_as_content: no such asset or key.
    VSYNC_KIND_NOT_FOUND = 9,
    /// A bug caught at the boundary (VSYNC_ERR_INTERNAL).
    VSYNC_KIND_INTERNAL = -2,
    /// A required pointer was NULL (VSYNC_ERR_INVALID_ARGUMENT).
    VSYNC_KIND_INVALID_ARGUMENT = -1,
}

/// The C name of each core kind. Exhaustive on purpose: a kind added to the core does not
/// compile here until the header names it (and `tests` checks the numbers agree).
pub const fn c_kind(kind: ErrorKind) -> vsync_error_kind {
    match kind {
        ErrorKind::ConfigMissing => vsync_error_kind::VSYNC_KIND_CONFIG_MISSING,
        ErrorKind::ConfigUnsupportedVersion => vsync_error_kind::VSYNC_KIND_CONFIG_UNSUPPORTED_VERSION,
        ErrorKind::S3Unreachable => vsync_error_kind::VSYNC_KIND_S3_UNREACHABLE,
        ErrorKind::ManifestNotFound => vsync_error_kind::VSYNC_KIND_MANIFEST_NOT_FOUND,
        ErrorKind::WrongPassphrase => vsync_error_kind::VSYNC_KIND_WRONG_PASSPHRASE,
        ErrorKind::BundleCorrupt => vsync_error_kind::VSYNC_KIND_BUNDLE_CORRUPT,
        ErrorKind::UnsupportedSpecVersion => vsync_error_kind::VSYNC_KIND_UNSUPPORTED_SPEC_VERSION,
        ErrorKind::Closed => vsync_error_kind::VSYNC_KIND_CLOSED,
        ErrorKind::NotFound => vsync_error_kind::VSYNC_KIND_NOT_FOUND,
        ErrorKind::Internal => vsync_error_kind::VSYNC_KIND_INTERNAL,
        ErrorKind::InvalidArgument => vsync_error_kind::VSYNC_KIND_INVALID_ARGUMENT,
    }
}

/// Where a value came from (the locked chain: vault -> env -> default -> missing).
#[repr(i32)]
pub enum vsync_source {
    VSYNC_SOURCE_VAULT = 1,
    VSYNC_SOURCE_ENV = 2,
    VSYNC_SOURCE_DEFAULT = 3,
    VSYNC_SOURCE_MISSING = 4,
}

/// The C name of each core source (exhaustive, like `c_kind`).
pub const fn c_source(source: Source) -> vsync_source {
    match source {
        Source::Vault => vsync_source::VSYNC_SOURCE_VAULT,
        Source::Env => vsync_source::VSYNC_SOURCE_ENV,
        Source::Default => vsync_source::VSYNC_SOURCE_DEFAULT,
        Source::Missing => vsync_source::VSYNC_SOURCE_MISSING,
    }
}

/// An error. Owned by the caller: release with vsync_error_free (which frees `code` and
/// `message` too; do not free them separately). The message never contains a secret.
#[repr(C)]
pub struct vsync_error {
    /// A vsync_error_kind (the core's ErrorKind::number()).
    pub kind: i32,
    /// The core's stable code of that kind (see vsync_error_kinds()).
    pub code: *mut c_char,
    /// What happened and what to do.
    pub message: *mut c_char,
}

/// One of the core's error kinds, as listed by vsync_error_kinds(). Static: never freed.
#[repr(C)]
pub struct vsync_error_kind_info {
    /// A vsync_error_kind (the core's ErrorKind::number()).
    pub kind: i32,
    /// The stable code that vsync_error.code carries for this kind.
    pub code: *const c_char,
    /// The canonical class name (SPEC §9), as the conformance vectors name it.
    pub class_name: *const c_char,
    /// True for the seven classes of the SPEC §9 taxonomy.
    pub taxonomy: bool,
}

/// An open vault. Opaque.
pub struct vsync_handle {
    vault: Vault,
}

/// Options for vsync_open / vsync_open_with / vsync_testing_open_payload. Every pointer is
/// borrowed for the call only. A NULL `const vsync_options *` means all defaults.
#[repr(C)]
pub struct vsync_options {
    /// Step 3 of the chain: `defaults_len` keys and values (no NULL entries).
    pub default_keys: *const *const c_char,
    pub default_values: *const *const c_char,
    pub defaults_len: usize,
    /// Bound on the open (and on each remote-generation call) in ms; 0 = 30 s default.
    pub timeout_ms: u64,
    /// vsync_open only: the bootstrap environment (see vsync_bootstrap_variables). When
    /// `env_names` is NULL the library reads the process environment (getenv). Otherwise
    /// exactly these `env_len` variables exist; a NULL entry in `env_values` means unset.
    pub env_names: *const *const c_char,
    pub env_values: *const *const c_char,
    pub env_len: usize,
}

type Res<T = ()> = Result<T, Error>;

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

fn alloc_list(items: &[String]) -> *mut *mut c_char {
    let v: Vec<*mut c_char> = items.iter().map(|s| alloc_str(s)).collect();
    Box::into_raw(v.into_boxed_slice()) as *mut *mut c_char
}

unsafe fn put<T>(out: *mut T, v: T) {
    if !out.is_null() {
        // SAFETY: caller contract: a non-NULL out pointer is valid for a write.
        unsafe { out.write(v) };
    }
}

/// Writes `make()` to `*out` only when `out` is non-NULL: nothing is allocated for an optional
/// out pointer the caller left NULL.
unsafe fn put_with<T>(out: *mut T, make: impl FnOnce() -> T) {
    if !out.is_null() {
        // SAFETY: caller contract: a non-NULL out pointer is valid for a write.
        unsafe { out.write(make()) };
    }
}

/// The out parameters of a call (one result, or a group such as a buffer and its length).
/// `clear` writes their "nothing" values (NULL / 0) before the call does anything else; `set`
/// writes the result of a call that succeeded. NULL out pointers are skipped (optional ones).
trait Out: Copy {
    type Value;
    unsafe fn clear(self);
    unsafe fn set(self, value: Self::Value);
}

/// A plain value, and what `*out` holds until the call succeeds.
#[derive(Clone, Copy)]
struct Scalar<T>(*mut T, T);

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
trait Owned {
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
struct Own<V: Owned> {
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
    fn new(out: *mut *mut V::Ptr) -> Self {
        Own { out, len: ptr::null_mut() }
    }
    fn with_len(out: *mut *mut V::Ptr, len: *mut usize) -> Self {
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

/// A borrowed C string as text; invalid UTF-8 is replaced (the core then classifies the text).
unsafe fn text<'a>(p: *const c_char) -> Option<Cow<'a, str>> {
    if p.is_null() {
        None
    } else {
        // SAFETY: caller contract: a NUL-terminated string.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy())
    }
}

unsafe fn required<'a>(p: *const c_char, what: &str) -> Res<Cow<'a, str>> {
    unsafe { text(p) }.ok_or_else(|| Error::invalid_argument(format!("{what} is NULL")))
}

/// A required out pointer of a function that creates something (a handle).
fn required_out<T>(out: *mut T, what: &str) -> Res {
    if out.is_null() {
        return Err(Error::invalid_argument(format!("{what} is NULL")));
    }
    Ok(())
}

unsafe fn bytes<'a>(p: *const u8, len: usize) -> Res<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Error::invalid_argument("a byte buffer is NULL"));
    }
    // SAFETY: caller contract: `len` readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

unsafe fn vault_of<'a>(h: *const vsync_handle) -> Res<&'a Vault> {
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

/// An environment given as name/value arrays; a NULL value means unset.
unsafe fn env_map(
    names: *const *const c_char,
    values: *const *const c_char,
    len: usize,
) -> Res<HashMap<String, String>> {
    Ok(unsafe { pairs(names, values, len) }?.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect())
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
        defaults.insert(k, v.ok_or_else(|| Error::invalid_argument("a default value is NULL"))?);
    }
    opts.defaults = defaults;
    // 0 means "the default"; huge values are clamped by the core.
    if let Some(t) = vsync_core::limits::timeout_from_millis(i128::from(o.timeout_ms)) {
        opts.timeout = t;
    }
    Ok(opts)
}

fn into_error(e: &Error) -> *mut vsync_error {
    let kind = e.kind().number();
    Box::into_raw(Box::new(vsync_error { kind, code: alloc_str(e.code()), message: alloc_str(e.message()) }))
}

/// Run `f` with no panic escaping; store an error in `*out_error` (when non-NULL).
fn guard(out_error: *mut *mut vsync_error, f: impl FnOnce() -> Res) -> i32 {
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
fn call<O: Out>(out: O, out_error: *mut *mut vsync_error, f: impl FnOnce() -> Res<O::Value>) -> i32 {
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
unsafe fn guard_open(
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
struct Statics<T>(#[allow(dead_code)] Vec<CString>, Vec<T>);
// SAFETY: the raw pointers in `T` point into the CStrings owned alongside, immutable after init.
unsafe impl<T> Send for Statics<T> {}
unsafe impl<T> Sync for Statics<T> {}

fn cstring(s: &str) -> Option<CString> {
    CString::new(s).ok()
}

/// Hands out a static array built once (`build` runs at most once per process).
unsafe fn static_array<T>(
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

// ---------------------------------------------------------------------------------------------
// The ABI.

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

// ---------------------------------------------------------------------------------------------
// Conformance hooks: PRIVATE API for the conformance runners and the bindings' tests
// (conformance/README.md). Same conventions; not covered by any stability promise.

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
    fn the_c_names_carry_the_core_numbers() {
        for k in ErrorKind::ALL {
            assert_eq!(c_kind(k) as i32, k.number(), "{k:?}");
        }
        assert_eq!(VSYNC_ERR_INTERNAL, ErrorKind::Internal.number());
        assert_eq!(VSYNC_ERR_INVALID_ARGUMENT, ErrorKind::InvalidArgument.number());
        for s in [Source::Vault, Source::Env, Source::Default, Source::Missing] {
            assert_eq!(c_source(s) as i32, s.number(), "{s:?}");
        }
    }

    #[test]
    fn every_kind_comes_back_with_the_core_code() {
        let mut n = 0;
        let kinds = unsafe { vsync_error_kinds(&mut n) };
        assert_eq!(n, ErrorKind::ALL.len());
        let kinds = unsafe { std::slice::from_raw_parts(kinds, n) };
        for (info, k) in kinds.iter().zip(ErrorKind::ALL) {
            let cstr = |p| unsafe { CStr::from_ptr(p) }.to_str().ok().map(str::to_owned);
            assert_eq!((info.kind, info.taxonomy), (k.number(), k.is_taxonomy()));
            assert_eq!(cstr(info.code).as_deref(), Some(k.code()));
            assert_eq!(cstr(info.class_name).as_deref(), Some(k.class_name()));
            let mut e = ptr::null_mut();
            assert_eq!(unsafe { vsync_testing_raise(info.kind, &mut e) }, k.number());
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
        let code = unsafe { CStr::from_ptr((*e).code) }.to_str().ok().map(str::to_owned);
        assert_eq!(code.as_deref(), Some(ErrorKind::ConfigMissing.code()));
        unsafe { vsync_error_free(e) };
    }
}
