"""The vsync error taxonomy (SPEC §9): one root, seven classes, each with the core's stable code.

Every class is also importable from :mod:`vsync_s3_client`. Catch :class:`VSyncError` to handle
any vsync failure; the message says what to do and never contains a secret.

The classification itself happens in the Rust core, and so do the codes: every class's ``code``
is the core's ``ErrorKind::code()``, read from the native module's ``ERROR_KINDS``. ``_BY_CODE``
below is the single place that maps the core's kinds to Python classes; it is handed to the native
module once, here, at import, and the native module raises whatever class it names (it never
imports this module).
"""

from __future__ import annotations

from typing import ClassVar, Dict, Type

from . import _native

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
    caught at the boundary (the core's ``InternalError`` kind, as in every vsync binding).
    """

    #: The core's stable code of this class (``ErrorKind::code()``), set from the core below.
    code: ClassVar[str]


class ConfigMissingError(VSyncError):
    """``VSYNC_CONFIG``/``VSYNC_PASSPHRASE`` (or their ``_FILE`` forms) are unset, empty, unreadable,
    world-writable, or not a ``vsync-cfg-v1:`` blob. Recourse: set them (see the message)."""


class ConfigUnsupportedVersionError(VSyncError):
    """The config blob is a version or encoding this library does not read (``v`` is not 1,
    standard base64/padding, a missing or short salt). Recourse: regenerate the runtime token."""


class S3UnreachableError(VSyncError):
    """S3 could not be reached or refused the request (network, DNS, TLS, time-out, 403,
    missing bucket). Recourse: check endpoint, credentials and network; raise the timeout."""


class ManifestNotFoundError(VSyncError):
    """Nothing was pushed at the configured bucket/prefix. Recourse: run ``vsync push`` for this
    environment first, or fix the prefix in the runtime token."""


class WrongPassphraseError(VSyncError):
    """The bundle did not decrypt: wrong passphrase, salt or iteration count, or tampering.
    Recourse: check ``VSYNC_PASSPHRASE`` and that the token belongs to this vault."""


class BundleCorruptError(VSyncError):
    """A blob, manifest, pointer or payload is malformed, or the bucket is torn (a pointer names a
    missing object, a rolled-back ``latest``). Recourse: push again; check the token was copied whole."""


class UnsupportedSpecVersionError(VSyncError):
    """The envelope or manifest is a newer format version (``RQE2``, ``RQEM0002``). Recourse:
    upgrade vsync-s3-client."""


# The one mapping from the core's error kinds (by the core's class name) to Python exceptions.
# The seven carry the core's names; the root stands for a bug caught at the boundary. A closed
# handle, a get_as_content miss and a refused argument are not part of the taxonomy: they are
# Python's own ValueError / KeyError / TypeError.
_PYTHON_CLASS: Dict[str, Type[Exception]] = {
    **{cls.__name__: cls for cls in VSyncError.__subclasses__()},
    "InternalError": VSyncError,
    "ClosedError": ValueError,
    "NotFoundError": KeyError,
    "InvalidArgumentError": TypeError,
}

#: The core's stable code -> the Python class raised for it (handed to the native module below).
_BY_CODE: Dict[str, Type[Exception]] = {}
for _number, _class_name, _code in _native.ERROR_KINDS:
    _cls = _PYTHON_CLASS[_class_name]
    _BY_CODE[_code] = _cls
    if issubclass(_cls, VSyncError):
        _cls.code = _code

_native._register_error_classes(_BY_CODE)
