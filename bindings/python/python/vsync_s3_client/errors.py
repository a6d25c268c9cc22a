"""The vsync error taxonomy (SPEC §9): one root, seven classes, each with the core's stable code.

Every class is also importable from :mod:`vsync_s3_client`. Catch :class:`VSyncError` to handle
any vsync failure; the message says what to do and never contains a secret.

The classification itself happens in the Rust core. ``_BY_CODE`` below is the single place that
maps the core's stable codes (``ErrorKind::code()``) to Python classes; the native module raises
whatever class this table names.
"""

from __future__ import annotations

from typing import ClassVar, Dict, Type

__all__ = [
    "VSyncError",
    "ConfigMissingError",
    "ConfigUnsupportedVersionError",
    "S3UnreachableError",
    "ManifestNotFoundError",
    "WrongPassphraseError",
    "BundleCorruptError",
    "UnsupportedSpecVersionError",
]


class VSyncError(Exception):
    """Root of every vsync error.

    Raised directly (not as a subclass) only for an internal error: a bug in the native code,
    caught at the boundary, with ``code == "VSYNC_INTERNAL"``.
    """

    #: The core's stable error code, e.g. ``"VSYNC_CONFIG_MISSING"``.
    code: ClassVar[str] = "VSYNC_INTERNAL"


class ConfigMissingError(VSyncError):
    """``VSYNC_CONFIG``/``VSYNC_PASSPHRASE`` (or their ``_FILE`` forms) are unset, empty, unreadable,
    world-writable, or not a ``vsync-cfg-v1:`` blob. Recourse: set them (see the message)."""

    code: ClassVar[str] = "VSYNC_CONFIG_MISSING"


class ConfigUnsupportedVersionError(VSyncError):
    """The config blob is a version or encoding this library does not read (``v`` is not 1,
    standard base64/padding, a missing or short salt). Recourse: regenerate the runtime token."""

    code: ClassVar[str] = "VSYNC_CONFIG_UNSUPPORTED_VERSION"


class S3UnreachableError(VSyncError):
    """S3 could not be reached or refused the request (network, DNS, TLS, time-out, 403,
    missing bucket). Recourse: check endpoint, credentials and network; raise the timeout."""

    code: ClassVar[str] = "VSYNC_S3_UNREACHABLE"


class ManifestNotFoundError(VSyncError):
    """Nothing was pushed at the configured bucket/prefix. Recourse: run ``vsync push`` for this
    environment first, or fix the prefix in the runtime token."""

    code: ClassVar[str] = "VSYNC_MANIFEST_NOT_FOUND"


class WrongPassphraseError(VSyncError):
    """The bundle did not decrypt: wrong passphrase, salt or iteration count, or tampering.
    Recourse: check ``VSYNC_PASSPHRASE`` and that the token belongs to this vault."""

    code: ClassVar[str] = "VSYNC_WRONG_PASSPHRASE"


class BundleCorruptError(VSyncError):
    """A blob, manifest, pointer or payload is malformed, or the bucket is torn (a pointer names a
    missing object, a rolled-back ``latest``). Recourse: push again; check the token was copied whole."""

    code: ClassVar[str] = "VSYNC_BUNDLE_CORRUPT"


class UnsupportedSpecVersionError(VSyncError):
    """The envelope or manifest is a newer format version (``RQE2``, ``RQEM0002``). Recourse:
    upgrade vsync-s3-client."""

    code: ClassVar[str] = "VSYNC_UNSUPPORTED_SPEC_VERSION"


# The one mapping from the core's stable codes to Python exceptions. A closed handle and a
# get_as_content miss are not part of the taxonomy: they are Python's own ValueError / KeyError.
_BY_CODE: Dict[str, Type[Exception]] = {
    cls.code: cls
    for cls in (
        VSyncError,
        ConfigMissingError,
        ConfigUnsupportedVersionError,
        S3UnreachableError,
        ManifestNotFoundError,
        WrongPassphraseError,
        BundleCorruptError,
        UnsupportedSpecVersionError,
    )
}
_BY_CODE["VSYNC_CLOSED"] = ValueError
_BY_CODE["VSYNC_NOT_FOUND"] = KeyError
