"""Type stubs of the private native module (Rust, PyO3). Use the public facade instead.

Checked by ``mypy.stubtest`` against the module as it ships (built without the ``testing-hooks``
feature; scripts/test-python.sh). The conformance runner's hooks exist only in the test build
and are deliberately not declared here."""

from typing import List, Mapping, Optional, Tuple, Type, final

__all__ = [
    "_register_error_classes",
    "open",
    "open_with",
    "Handle",
    "ERROR_KINDS",
    "__version__",
]

__version__: str
ERROR_KINDS: List[Tuple[int, str, str]]

@final
class Handle:
    """An open vault (the core's handle)."""

    @property
    def closed(self) -> bool: ...
    @property
    def env_label(self) -> str: ...
    def get_env(self, key: str, environ: Mapping[str, str]) -> Optional[str]: ...
    def has_env(self, key: str, environ: Mapping[str, str]) -> bool: ...
    def env_source(self, key: str, environ: Mapping[str, str]) -> str: ...
    def environ(self, environ: Mapping[str, str]) -> List[Tuple[str, str]]: ...
    def get_as_content(self, name: str) -> bytes: ...
    def keys(self) -> List[str]: ...
    def generation(self) -> int: ...
    def remote_generation(self) -> int: ...
    def has_new_version(self) -> bool: ...
    def close(self) -> None: ...

def _register_error_classes(table: Mapping[str, Type[BaseException]]) -> None: ...
def open(
    environ: Mapping[str, str],
    defaults: Optional[Mapping[str, str]] = None,
    timeout: Optional[float] = None,
    min_generation: Optional[int] = None,
) -> Handle: ...
def open_with(
    config: Optional[str],
    passphrase: Optional[str],
    defaults: Optional[Mapping[str, str]] = None,
    timeout: Optional[float] = None,
    min_generation: Optional[int] = None,
) -> Handle: ...
