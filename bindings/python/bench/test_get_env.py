"""get_env per call (pytest-benchmark), without S3: a vault hit and the three ways a key can miss
the vault (environment, default, missing).

The handle comes from the conformance hook ``open_payload``, so this runs against the test build
(the wheel scripts/test-python.sh installs). To compare two builds, run it once with each
(``--benchmark-json``) and compare the medians.
"""

from __future__ import annotations

import json
from typing import Iterator

import pytest
from vsync_s3_client import Vsync, _native


@pytest.fixture(scope="module")
def vault() -> Iterator[Vsync]:
    payload = json.dumps({"kv": {f"KEY_{i}": f"value-{i}" for i in range(50)}}).encode()
    h = Vsync._wrap(_native.open_payload(payload, "bench", None, {"ONLY_DEFAULT": "d"}))
    yield h
    h.close()


def test_vault_hit(benchmark, vault: Vsync) -> None:
    assert benchmark(vault.get_env, "KEY_7") == "value-7"


def test_miss_from_environment(benchmark, vault: Vsync, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VSYNC_BENCH_ONLY_ENV", "e")
    assert benchmark(vault.get_env, "VSYNC_BENCH_ONLY_ENV") == "e"


def test_miss_from_default(benchmark, vault: Vsync, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ONLY_DEFAULT", raising=False)
    assert benchmark(vault.get_env, "ONLY_DEFAULT") == "d"


def test_miss_everywhere(benchmark, vault: Vsync, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VSYNC_BENCH_NOWHERE", raising=False)
    assert benchmark(vault.get_env, "VSYNC_BENCH_NOWHERE") is None
