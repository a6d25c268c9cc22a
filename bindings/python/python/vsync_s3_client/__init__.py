"""vsync_s3_client: read application secrets from an encrypted vsync vault in S3.

Call :func:`open` once at boot (it reads ``VSYNC_CONFIG`` and ``VSYNC_PASSPHRASE``), then read
values with :meth:`Vsync.get_env` through the locked fallback chain
vault → ``os.environ`` (at lookup time) → defaults → missing::

    import vsync_s3_client as vsync

    with vsync.open(defaults={"LOG_LEVEL": "info"}) as v:
        db = v.get_env("DATABASE_URL")

All the work (formats, S3, decryption, the lookup order, error classes) happens in a Rust core;
this package is a thin typed facade over its private native module.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Dict, List, Literal, Mapping, NoReturn, Optional, Union

from . import _native, errors
from .errors import *  # noqa: F403 - the error classes (errors.__all__) are part of this API

# The native module carries the workspace version (Cargo.toml): one version for every package.
__version__: str = _native.__version__

__all__ = [
    "open",
    "open_with",
    "get_env",
    "Vsync",
    "Source",
]
__all__ += errors.__all__

#: Where a value came from (:meth:`Vsync.env_source`).
Source = Literal["vault", "env", "default", "missing"]

_Timeout = Union[int, float, None]

# Step 2 of the chain is Python's own view of the environment: every call passes ``os.environ``
# as it is then (so changes and monkeypatching are seen), and the native module reads
# ``.get(key)`` from it only when the vault misses. The core never calls back into Python.


class Vsync:
    """An open vault. Create it with :func:`open` or :func:`open_with`.

    Readers are pure memory and thread-safe. ``close()`` wipes the decrypted values; any accessor
    afterwards raises :class:`ValueError`. Usable as a context manager. ``repr``/``str`` show only
    ``<vsync:redacted gen=N env=E>``; the handle cannot be pickled or copied.
    """

    __slots__ = ("_h", "__weakref__")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("create a Vsync with vsync_s3_client.open() or open_with()")

    @classmethod
    def _wrap(cls, handle: _native.Handle) -> "Vsync":
        self = object.__new__(cls)
        object.__setattr__(self, "_h", handle)
        return self

    def get_env(self, key: str) -> Optional[str]:
        """The value of ``key``: vault, else ``os.environ`` now, else the defaults, else ``None``."""
        return self._h.get_env(key, os.environ)

    def has_env(self, key: str) -> bool:
        """True iff :meth:`get_env` would return a value (vault, environment or defaults)."""
        return self._h.has_env(key, os.environ)

    def env_source(self, key: str) -> Source:
        """Where :meth:`get_env` would take ``key`` from: ``"vault"``, ``"env"``, ``"default"`` or
        ``"missing"``. Returns no value, so it is safe to log."""
        return self._h.env_source(key, os.environ)  # type: ignore[return-value]

    def environ(self) -> Dict[str, str]:
        """The resolved view: every name :meth:`get_env` answers, with the value it answers
        (vault, else ``os.environ`` as it is now, else the defaults), ordered by name.

        A snapshot: later changes to ``os.environ`` are not seen. The values are the secrets
        themselves, in ``str`` objects that :meth:`close` cannot wipe; hand them to the code that
        needs them (a settings object) rather than keeping the dict around.
        """
        return dict(self._h.environ(os.environ))

    def get_as_content(self, name: str) -> bytes:
        """The bytes of asset ``name``, else the value of key ``name`` as UTF-8.

        Raises :class:`KeyError` when the vault has neither.
        """
        return self._h.get_as_content(name)

    def keys(self) -> List[str]:
        """The vault's key names in payload order (no values; environment and defaults excluded)."""
        return self._h.keys()

    def generation(self) -> int:
        """The generation read at open time (pure memory)."""
        return self._h.generation()

    def remote_generation(self) -> int:
        """The generation in the bucket now (one HEAD request; releases the GIL)."""
        return self._h.remote_generation()

    def has_new_version(self) -> bool:
        """``remote_generation() > generation()``: a newer push exists (network; releases the GIL)."""
        return self._h.has_new_version()

    def close(self) -> None:
        """Wipe the decrypted values, assets, defaults and credentials. Idempotent."""
        self._h.close()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._h.closed

    def __enter__(self) -> "Vsync":
        if self._h.closed:
            raise ValueError("this vsync handle is closed; open a new one")
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return repr(self._h)

    __str__ = __repr__

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError("Vsync handles are read-only")

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("a vsync handle cannot be pickled or copied; open one in each process")

    def __reduce__(self) -> NoReturn:
        raise TypeError("a vsync handle cannot be pickled or copied; open one in each process")


def open(  # noqa: A001 - the family's name
    defaults: Optional[Mapping[str, str]] = None,
    *,
    timeout: _Timeout = None,
    min_generation: Optional[int] = None,
) -> Vsync:
    """Open the vault named by the environment: ``VSYNC_CONFIG`` (or ``VSYNC_CONFIG_FILE``) and
    ``VSYNC_PASSPHRASE`` (or ``VSYNC_PASSPHRASE_FILE``), read once, now.

    One S3 round trip plus key derivation, bounded by ``timeout`` seconds (default 30); the GIL is
    released meanwhile. ``defaults`` is step 3 of the fallback chain. ``min_generation`` is the
    rollback floor (SPEC §4): a vault below it, or without a sealed generation, raises
    :class:`BundleCorruptError` (``VSYNC_MIN_GENERATION`` raises the floor too). Raises a
    :class:`VSyncError` subclass on failure.
    """
    return Vsync._wrap(_native.open(os.environ, defaults, timeout, min_generation))


def open_with(
    config: str,
    passphrase: str,
    defaults: Optional[Mapping[str, str]] = None,
    *,
    timeout: _Timeout = None,
    min_generation: Optional[int] = None,
) -> Vsync:
    """Open with an explicit config blob and passphrase, ignoring ``VSYNC_CONFIG`` and
    ``VSYNC_PASSPHRASE`` (tests, secret managers); the process-wide ``VSYNC_MIN_GENERATION`` and
    ``VSYNC_MAX_BUNDLE_BYTES`` still apply. An empty or ``None`` input raises
    :class:`ConfigMissingError`. Otherwise as :func:`open`."""
    return Vsync._wrap(_native.open_with(config, passphrase, defaults, timeout, min_generation))


_default: Optional[Vsync] = None
_default_lock = threading.Lock()


def get_env(key: str) -> Optional[str]:
    """``open()`` once (on first use, cached for the process) and return ``get_env(key)``.

    A failed open is not cached: the next call tries again.
    """
    global _default
    handle = _default
    if handle is None:
        with _default_lock:
            if _default is None:
                _default = open()
            handle = _default
    return handle.get_env(key)


def _reset_default() -> None:
    """Close and forget the handle cached by :func:`get_env` (tests)."""
    global _default
    with _default_lock:
        if _default is not None:
            _default.close()
        _default = None
