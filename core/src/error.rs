//! The one error type of the project. Every binding maps [`ErrorKind`] to its language in one
//! place; the class name, the stable string code and the numeric code never change once published.
//!
//! Messages say what happened and what to do. They may name keys, paths, buckets and endpoints,
//! never a passphrase, a secret key or a secret value: constructors only take text the caller
//! composed from non-secret parts, and `tests::no_secret_in_any_message` checks every variant.

use std::fmt;

/// The error classes: the seven of SPEC §9, then four that are not part of the taxonomy.
///
/// Numbers: 1..=7 are the taxonomy and 8..=9 the core's own non-taxonomy outcomes (a closed
/// handle, a lookup miss); none of these ever changes. The two *boundary* kinds are negative:
/// they are never the outcome of a core operation but what a binding raises at its language
/// boundary (a caught panic, an argument the language cannot reject by itself, such as a NULL
/// pointer through the C ABI). Their numbers are the C ABI's historical `VSYNC_ERR_INTERNAL`
/// (-2) and `VSYNC_ERR_INVALID_ARGUMENT` (-1), so every status the C ABI returns is exactly
/// `ErrorKind::number()` with no translation, and the ABI kept its version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum ErrorKind {
    ConfigMissing = 1,
    ConfigUnsupportedVersion = 2,
    S3Unreachable = 3,
    ManifestNotFound = 4,
    WrongPassphrase = 5,
    BundleCorrupt = 6,
    UnsupportedSpecVersion = 7,
    /// The handle was closed; not one of the seven (each language has its own "closed" error).
    Closed = 8,
    /// `get_as_content` found neither an asset nor a key of that name; a lookup miss.
    NotFound = 9,
    /// A bug caught at a boundary (a panic). Every binding raises it as its root error class
    /// (`VSyncError` / `VSyncException`, `vsync.ErrInternal` in Go) with code `VSYNC_INTERNAL`.
    Internal = -2,
    /// A binding was called with an argument it must refuse before the core runs (a NULL
    /// pointer through the C ABI). Bindings whose language checks types raise its own error.
    InvalidArgument = -1,
}

impl ErrorKind {
    /// Every kind, in number order of the outcomes first (1..=9), then the boundary kinds. The
    /// bindings build their error tables and their per-variant tests from this list.
    pub const ALL: [ErrorKind; 11] = [
        ErrorKind::ConfigMissing,
        ErrorKind::ConfigUnsupportedVersion,
        ErrorKind::S3Unreachable,
        ErrorKind::ManifestNotFound,
        ErrorKind::WrongPassphrase,
        ErrorKind::BundleCorrupt,
        ErrorKind::UnsupportedSpecVersion,
        ErrorKind::Closed,
        ErrorKind::NotFound,
        ErrorKind::Internal,
        ErrorKind::InvalidArgument,
    ];

    /// The canonical class name of SPEC §9 (`ConfigMissingError`, ...), as used in corpora.
    pub fn class_name(self) -> &'static str {
        match self {
            ErrorKind::ConfigMissing => "ConfigMissingError",
            ErrorKind::ConfigUnsupportedVersion => "ConfigUnsupportedVersionError",
            ErrorKind::S3Unreachable => "S3UnreachableError",
            ErrorKind::ManifestNotFound => "ManifestNotFoundError",
            ErrorKind::WrongPassphrase => "WrongPassphraseError",
            ErrorKind::BundleCorrupt => "BundleCorruptError",
            ErrorKind::UnsupportedSpecVersion => "UnsupportedSpecVersionError",
            ErrorKind::Closed => "ClosedError",
            ErrorKind::NotFound => "NotFoundError",
            ErrorKind::Internal => "InternalError",
            ErrorKind::InvalidArgument => "InvalidArgumentError",
        }
    }

    /// The stable string code every binding exposes (`err.code`, `code()`).
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::ConfigMissing => "VSYNC_CONFIG_MISSING",
            ErrorKind::ConfigUnsupportedVersion => "VSYNC_CONFIG_UNSUPPORTED_VERSION",
            ErrorKind::S3Unreachable => "VSYNC_S3_UNREACHABLE",
            ErrorKind::ManifestNotFound => "VSYNC_MANIFEST_NOT_FOUND",
            ErrorKind::WrongPassphrase => "VSYNC_WRONG_PASSPHRASE",
            ErrorKind::BundleCorrupt => "VSYNC_BUNDLE_CORRUPT",
            ErrorKind::UnsupportedSpecVersion => "VSYNC_UNSUPPORTED_SPEC_VERSION",
            ErrorKind::Closed => "VSYNC_CLOSED",
            ErrorKind::NotFound => "VSYNC_NOT_FOUND",
            ErrorKind::Internal => "VSYNC_INTERNAL",
            ErrorKind::InvalidArgument => "VSYNC_INVALID_ARGUMENT",
        }
    }

    /// The numeric code: the C ABI's status, and (for 1..=9) the CLI's exit code minus 10.
    pub fn number(self) -> i32 {
        self as i32
    }

    pub fn from_number(n: i32) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.number() == n)
    }

    pub fn from_class_name(name: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.class_name() == name)
    }

    /// True for the seven classes of the taxonomy (SPEC §9).
    pub fn is_taxonomy(self) -> bool {
        self.number() >= 1 && self.number() <= 7
    }

    /// True for the kinds only a binding raises at its boundary (never a core operation).
    pub fn is_boundary(self) -> bool {
        self.number() < 0
    }

    /// The process exit code of a program that ends on this kind (`vsync run`, the CLI, Node's
    /// preload): `10 + number()`; 1 for a boundary kind, which is a bug when it ends a program.
    pub fn exit_code(self) -> i32 {
        if self.is_boundary() {
            1
        } else {
            10 + self.number()
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.class_name())
    }
}

/// An error: a class and a message that is safe to print and log.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into() }
    }
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn config_missing(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::ConfigMissing, m)
    }
    pub fn config_version(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::ConfigUnsupportedVersion, m)
    }
    pub fn unreachable(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::S3Unreachable, m)
    }
    pub fn manifest_not_found(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::ManifestNotFound, m)
    }
    pub fn wrong_passphrase() -> Self {
        Self::new(
            ErrorKind::WrongPassphrase,
            "the bundle could not be decrypted: wrong passphrase, or a salt/iteration count that \
             does not match the one the vault was pushed with, or the bundle was tampered with; \
             check VSYNC_PASSPHRASE and that VSYNC_CONFIG is the runtime token of this vault",
        )
    }
    pub fn corrupt(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::BundleCorrupt, m)
    }
    pub fn spec_version(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::UnsupportedSpecVersion, m)
    }
    pub fn closed() -> Self {
        Self::new(ErrorKind::Closed, "this vsync handle is closed; open a new one")
    }
    pub fn not_found(name: &str) -> Self {
        Self::new(ErrorKind::NotFound, format!("no asset or key named {name:?} in the vault"))
    }
    /// What every binding reports for a panic it caught at its boundary (the payload is not
    /// shown: it is not ours to vouch for, and could quote anything).
    pub fn caught_panic() -> Self {
        Self::new(
            ErrorKind::Internal,
            "internal error in the vsync library (a bug caught at the language boundary; please report it)",
        )
    }
    pub fn invalid_argument(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, m)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.class_name(), self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("code", &self.kind.code())
            .field("message", &self.message)
            .finish()
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_numbers_are_stable_and_unique() {
        let codes: std::collections::HashSet<_> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
        assert_eq!(codes.len(), ErrorKind::ALL.len());
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_number(k.number()), Some(k));
            assert_eq!(ErrorKind::from_class_name(k.class_name()), Some(k));
        }
        assert_eq!(ErrorKind::ConfigMissing.number(), 1);
        assert_eq!(ErrorKind::UnsupportedSpecVersion.number(), 7);
        assert_eq!(ErrorKind::BundleCorrupt.code(), "VSYNC_BUNDLE_CORRUPT");
        assert_eq!(ErrorKind::ALL.iter().filter(|k| k.is_taxonomy()).count(), 7);
        // The boundary kinds keep the C ABI's historical negative statuses.
        assert_eq!(ErrorKind::Internal.number(), -2);
        assert_eq!(ErrorKind::InvalidArgument.number(), -1);
        assert_eq!(ErrorKind::ALL.iter().filter(|k| k.is_boundary()).count(), 2);
        let classes: std::collections::HashSet<_> = ErrorKind::ALL.iter().map(|k| k.class_name()).collect();
        assert_eq!(classes.len(), ErrorKind::ALL.len());
        for k in ErrorKind::ALL {
            assert_eq!(k.code(), format!("VSYNC_{}", screaming(k.class_name().trim_end_matches("Error"))));
        }
    }

    /// `ConfigMissing` -> `CONFIG_MISSING`, `S3Unreachable` -> `S3_UNREACHABLE`.
    fn screaming(camel: &str) -> String {
        let mut out = String::new();
        for (i, c) in camel.char_indices() {
            if c.is_ascii_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_uppercase());
        }
        out
    }
}
