"""pydantic-settings source: fill a ``BaseSettings`` class from a vsync vault.

Install with ``pip install 'vsync-s3-client[pydantic]'`` and return the source right after
``init_settings`` from ``settings_customise_sources``, in place of ``env_settings``::

    from pydantic_settings import BaseSettings
    from vsync_s3_client.pydantic import VsyncSettingsSource

    class Settings(BaseSettings):
        database_url: str

        @classmethod
        def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                       file_secret_settings):
            return (init_settings, VsyncSettingsSource(settings_cls), dotenv_settings, file_secret_settings)

The source reads :meth:`vsync_s3_client.Vsync.environ` — every vault key, the process
environment and the ``defaults``, the vault winning, resolved by the core exactly as ``get_env``
resolves one key — and hands it to pydantic-settings' own environment source
(``EnvSettingsSource``, as its AWS Secrets Manager source does with a secret's JSON), so aliases,
case sensitivity, ``env_prefix``, ``env_nested_delimiter`` and JSON-decoded complex fields work
as they do for environment variables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Optional, Union

try:
    from pydantic_settings import EnvSettingsSource
    from pydantic_settings.sources.utils import parse_env_vars
except ImportError as e:  # pragma: no cover - exercised in a subprocess without pydantic-settings
    raise ImportError(
        "vsync_s3_client.pydantic needs pydantic-settings: pip install 'vsync-s3-client[pydantic]'"
    ) from e

from . import Vsync
from . import open as _open_vault

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

__all__ = ["VsyncSettingsSource"]


class VsyncSettingsSource(EnvSettingsSource):
    """The vsync chain (vault → process environment → ``defaults``) as a pydantic-settings source.

    ``vault`` is an open :class:`~vsync_s3_client.Vsync` handle, read and left open (its owner
    closes it); without one the source opens the vault named by ``VSYNC_CONFIG`` and
    ``VSYNC_PASSPHRASE`` with :func:`vsync_s3_client.open` (``defaults``, ``timeout``,
    ``min_generation`` are passed to it), reads it, and closes it before the constructor returns,
    also when reading fails. A failed open raises its :class:`~vsync_s3_client.VSyncError`
    subclass out of the settings class's constructor.

    The ``env_*`` and ``case_sensitive`` arguments override the settings class's ``model_config``,
    as for pydantic-settings' ``EnvSettingsSource``; by default the source follows the
    ``model_config``, so it reads a vault key exactly as ``env_settings`` would read the
    environment variable of the same name.
    """

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        vault: Optional[Vsync] = None,
        *,
        defaults: Optional[Mapping[str, str]] = None,
        timeout: Union[int, float, None] = None,
        min_generation: Optional[int] = None,
        case_sensitive: Optional[bool] = None,
        env_prefix: Optional[str] = None,
        env_nested_delimiter: Optional[str] = None,
        env_ignore_empty: Optional[bool] = None,
        env_parse_none_str: Optional[str] = None,
        env_parse_enums: Optional[bool] = None,
    ) -> None:
        if vault is not None and (defaults is not None or timeout is not None or min_generation is not None):
            # They are open() arguments: with a handle they would be silently ignored.
            raise TypeError(
                "defaults, timeout and min_generation apply when the source opens the vault; pass them "
                "to vsync_s3_client.open() for a handle you open yourself"
            )
        # Read by _load_env_vars, which EnvSettingsSource.__init__ calls.
        self._vault = vault
        self._open_args = (defaults, timeout, min_generation)
        super().__init__(
            settings_cls,
            case_sensitive=case_sensitive,
            env_prefix=env_prefix,
            env_nested_delimiter=env_nested_delimiter,
            env_ignore_empty=env_ignore_empty,
            env_parse_none_str=env_parse_none_str,
            env_parse_enums=env_parse_enums,
        )
        # The source keeps the resolved values it parsed, not the handle.
        self._vault = None

    def _load_env_vars(self) -> Mapping[str, Optional[str]]:
        if self._vault is not None:
            resolved = self._vault.environ()
        else:
            defaults, timeout, min_generation = self._open_args
            with _open_vault(defaults, timeout=timeout, min_generation=min_generation) as opened:
                resolved = opened.environ()
        return parse_env_vars(resolved, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)

    def __repr__(self) -> str:
        # No values: they are secrets.
        return (
            f"{self.__class__.__name__}(env_nested_delimiter={self.env_nested_delimiter!r}, "
            f"env_prefix_len={self.env_prefix_len!r})"
        )
