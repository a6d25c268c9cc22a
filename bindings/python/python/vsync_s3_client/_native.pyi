"""Type stubs of the private native module (Rust, PyO3). Use the public facade instead.

Checked against the installed module by ``mypy.stubtest`` (scripts/test-python.sh)."""

from typing import Callable, List, Mapping, Optional, Tuple, final

__all__ = [
    "_panic_for_test",
    "_raise_for_test",
    "decode_config_json",
    "decrypt_envelope",
    "open",
    "open_payload",
    "open_with",
    "resolve_bootstrap",
    "unseal_manifest",
    "Handle",
    "ERROR_KINDS",
    "__version__",
]

_Lookup = Callable[[str], Optional[str]]

__version__: str
ERROR_KINDS: List[Tuple[int, str, str]]

@final
class Handle:
    """An open vault (the core's handle)."""

    @property
    def closed(self) -> bool: ...
    @property
    def env_label(self) -> str: ...
    def get_env(self, key: str, lookup: _Lookup) -> Optional[str]: ...
    def has_env(self, key: str, lookup: _Lookup) -> bool: ...
    def env_source(self, key: str, lookup: _Lookup) -> str: ...
    def get_as_content(self, name: str) -> bytes: ...
    def keys(self) -> List[str]: ...
    def generation(self) -> int: ...
    def remote_generation(self) -> int: ...
    def has_new_version(self) -> bool: ...
    def close(self) -> None: ...

def open(
    lookup: _Lookup,
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

# Private test hooks (conformance/README.md).
def decrypt_envelope(envelope: bytes, passphrase: str, salt: str, iterations: int = 600000) -> bytes: ...
def unseal_manifest(sealed: bytes, remote_ts: Optional[str] = None) -> Tuple[str, bytes]: ...
def decode_config_json(blob: str) -> str: ...
def open_payload(
    payload: bytes, env_label: str, pointer_ts: Optional[str] = None, defaults: Optional[Mapping[str, str]] = None
) -> Handle: ...
def resolve_bootstrap(env: Mapping[str, str]) -> Tuple[str, str, List[str]]: ...
def _panic_for_test() -> None: ...
def _raise_for_test(number: int) -> None: ...
