#!/usr/bin/env python3
"""The key derivation (PBKDF2-HMAC-SHA256, 600 000 iterations) timed inside built C ABI libraries.

    scripts/bench-kdf-artifacts.py LIB.so [LIB.so ...]

Calls vsync_testing_decrypt_envelope (core hooks::decrypt_envelope: header check, derive_key,
AES-GCM open) on a well-formed envelope that fails authentication, so each call is one full key
derivation plus a few microseconds. The libraries' calls alternate; the report is the median per
library and its ratio to the first one (e.g. the release build vs. the dist build: a size profile
must not slow the KDF). This is `kdf_alone` measured in the profile that ships. The hook is a
test-only export (the shipped libraries do not have it): build each profile to compare with
`cargo build -p vsync-c --features testing-hooks --profile <release|dist>`; the feature adds the
hooks and nothing to the KDF's code path.
"""

from __future__ import annotations

import ctypes
import statistics
import sys
import time

ITERATIONS = 600_000
ROUNDS = 15


def load(path: str):
    lib = ctypes.CDLL(path)
    fn = lib.vsync_testing_decrypt_envelope
    fn.restype = ctypes.c_int32
    fn.argtypes = [
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_uint32,
        ctypes.POINTER(ctypes.c_void_p),
        ctypes.POINTER(ctypes.c_size_t),
        ctypes.POINTER(ctypes.c_void_p),
    ]
    free_err = lib.vsync_error_free
    free_err.argtypes = [ctypes.c_void_p]

    envelope = b"RQE1" + bytes(12) + bytes(32)  # header + nonce + a tag that cannot authenticate

    def once() -> float:
        out, out_len, err = ctypes.c_void_p(), ctypes.c_size_t(), ctypes.c_void_p()
        start = time.perf_counter()
        rc = fn(envelope, len(envelope), b"bench passphrase", b"0123456789abcdef-salt", ITERATIONS, out, out_len, err)
        took = time.perf_counter() - start
        if err.value:
            free_err(err)
        if rc == 0:
            raise SystemExit(f"{path}: the forged envelope opened")
        return took

    return once


def main(paths: list[str]) -> int:
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    runs = {p: load(p) for p in paths}
    for once in runs.values():
        once()  # warm up
    samples: dict[str, list[float]] = {p: [] for p in paths}
    for _ in range(ROUNDS):
        for p, once in runs.items():
            samples[p].append(once())
    base = statistics.median(samples[paths[0]])
    print(f"PBKDF2-SHA256 x{ITERATIONS} through vsync_testing_decrypt_envelope, median of {ROUNDS}, alternating:")
    for p in paths:
        m = statistics.median(samples[p])
        print(f"  {m * 1000:7.1f} ms  x{m / base:.3f}  {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
