//! The ABI's types and constants: what `include/vsync.h` declares besides the functions and
//! the two enums of the core's numbers, `vsync_error_kind` and `vsync_source`, which are not
//! written here: `tests/header.rs` has cbindgen emit them from the core's `ErrorKind::ALL` and
//! `Source::ALL` (statuses and sources cross the ABI as the core's `number()`, an `int32_t`).

use std::ffi::c_char;

use vsync_core::{Error, Vault};

/// Incremented on any incompatible change of this header. Compare with vsync_abi_version().
pub const VSYNC_ABI_VERSION: u32 = 2;

/// The status of a call that succeeded.
pub const VSYNC_OK: i32 = 0;

/// A required pointer was NULL: the core's InvalidArgument kind (same as VSYNC_KIND_INVALID_ARGUMENT).
pub const VSYNC_ERR_INVALID_ARGUMENT: i32 = -1;

/// A panic was caught at the boundary, a bug in the library: the core's Internal kind
/// (same as VSYNC_KIND_INTERNAL).
pub const VSYNC_ERR_INTERNAL: i32 = -2;

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
    pub(crate) vault: Vault,
}

/// Options for vsync_open / vsync_open_with (and the test builds' payload hook). Every pointer is
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
    /// The rollback floor (SPEC §4): a vault whose sealed generation is below it, or that
    /// seals none, fails with VSYNC_KIND_BUNDLE_CORRUPT. 0 = none (VSYNC_MIN_GENERATION still
    /// applies). Added in ABI version 2.
    pub min_generation: u64,
}

pub(crate) type Res<T = ()> = Result<T, Error>;
