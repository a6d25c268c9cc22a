"""Shared fixtures: the live S3 server started by scripts/with-s3.sh, and the CLI to push vaults."""

from __future__ import annotations

import os
import stat
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Mapping, Optional

import pytest
import vsync_s3_client
from vsync_s3_client import _native

REPO = Path(__file__).resolve().parents[3]

# Canonical class name (SPEC §9) of every core error code, straight from the core's enum.
CANONICAL_BY_CODE = {code: name for (_n, name, code) in _native.ERROR_KINDS}


def canonical(err: BaseException) -> str:
    """The canonical class name of a raised vsync error, via its stable code."""
    code = getattr(err, "code", None)
    if not isinstance(err, vsync_s3_client.VSyncError) or code not in CANONICAL_BY_CODE:
        raise AssertionError(f"not a vsync taxonomy error: {type(err).__name__}: {err}")
    return CANONICAL_BY_CODE[code]


@dataclass
class S3:
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    vsync_bin: str


@pytest.fixture(scope="session")
def s3() -> S3:
    """The local S3-compatible server. Missing variables fail the test (never skip)."""
    names = ["VSYNC_TEST_ENDPOINT", "VSYNC_TEST_ACCESS_KEY", "VSYNC_TEST_SECRET_KEY", "VSYNC_TEST_BUCKET", "VSYNC_BIN"]
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        pytest.fail(f"live tests need {', '.join(missing)}: run through scripts/with-s3.sh (task test:python)")
    return S3(*(os.environ[n] for n in names))


@dataclass
class Pushed:
    config: str
    passphrase: str
    prefix: str
    dir: Path

    def push(self, s3: S3, kv: Mapping[str, str], assets: Optional[Mapping[str, bytes]] = None) -> str:
        return push(s3, self, kv, assets)


def cli(s3: S3, *args: str) -> str:
    # A clean environment: the CLI would otherwise pick VSYNC_*/AWS_* defaults up from ours.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VSYNC_", "AWS_"))}
    out = subprocess.run([s3.vsync_bin, *args], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise AssertionError(f"vsync {args[0]} failed ({out.returncode}): {out.stderr}")
    return out.stdout


def runtime_token(
    s3: S3,
    prefix: str,
    *,
    secret_key: Optional[str] = None,
    endpoint: Optional[str] = None,
    salt: Optional[str] = None,
    ambient: bool = False,
) -> str:
    """A token for `prefix`: with the dev server's keys, or keyless (`ambient`, SPEC §2)."""
    args = [
        "runtime-token",
        "--endpoint",
        endpoint or s3.endpoint,
        "--region",
        "us-east-1",
        "--bucket",
        s3.bucket,
        "--prefix",
        prefix,
        "--env",
        "test",
    ]
    if ambient:
        args += ["--ambient-credentials"]
    else:
        args += ["--access-key-id", s3.access_key, "--secret-access-key", secret_key or s3.secret_key]
    if salt:
        args += ["--salt", salt]
    return cli(s3, *args).strip()


def in_a_fork(checks: Callable[[], List[bool]]) -> str:
    """Run `checks` in a forked child and return its report ("True,True,..." or "error ...");
    asserts the child exited 0. The child never returns into pytest."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.write(w, ",".join(str(c) for c in checks()).encode())
            code = 0
        except BaseException as e:
            os.write(w, f"error {type(e).__name__}: {e}".encode())
        finally:
            os._exit(code)
    os.close(w)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(r) as f:
        report = f.read()
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, report
    return report


def salt_of(config: str) -> str:
    """The salt of a token (decoded by the core's hook), to mint a sibling token for the same vault."""
    import json

    return json.loads(_native.decode_config_json(config))["salt"]


def push(s3: S3, vault: Pushed, kv: Mapping[str, str], assets: Optional[Mapping[str, bytes]] = None) -> str:
    n = uuid.uuid4().hex[:8]
    env_file = vault.dir / f"{n}.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in kv.items()))
    args = ["push", "--config", vault.config, "--passphrase-file", str(vault.dir / "pass"), "--env-file", str(env_file)]
    for name, data in (assets or {}).items():
        p = vault.dir / f"{n}-{uuid.uuid4().hex[:6]}.bin"
        p.write_bytes(data)
        args += ["--asset", f"{name}={p}"]
    return cli(s3, *args).strip()


@pytest.fixture
def new_vault(s3: S3, tmp_path: Path):
    """Factory: mint a token for a fresh prefix and push kv/assets with the CLI."""

    def make(
        kv: Mapping[str, str], assets: Optional[Mapping[str, bytes]] = None, passphrase: str = "pass phrase 🗝"
    ) -> Pushed:
        d = tmp_path / uuid.uuid4().hex[:8]
        d.mkdir()
        prefix = f"py-{uuid.uuid4().hex}/"
        (d / "pass").write_text(passphrase)
        os.chmod(d / "pass", 0o600)
        vault = Pushed(runtime_token(s3, prefix), passphrase, prefix, d)
        if kv or assets:
            out = push(s3, vault, kv, assets)
            assert out.startswith("pushed gen=1 "), out
        return vault

    return make


def write_file(path: Path, content: str, mode: int) -> Path:
    path.write_text(content)
    os.chmod(path, mode)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    return path


@pytest.fixture
def clean_bootstrap_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No VSYNC_CONFIG*/VSYNC_PASSPHRASE* in the environment; the module-level handle reset."""
    for k in ("VSYNC_CONFIG", "VSYNC_CONFIG_FILE", "VSYNC_PASSPHRASE", "VSYNC_PASSPHRASE_FILE"):
        monkeypatch.delenv(k, raising=False)
    vsync_s3_client._reset_default()
    yield monkeypatch
    vsync_s3_client._reset_default()


def env_only(env: Dict[str, str], queried: list, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make os.environ hold exactly `env` for the keys involved (conformance rule)."""
    for k in set(queried) | set(env):
        if k in env:
            monkeypatch.setenv(k, env[k])
        else:
            monkeypatch.delenv(k, raising=False)
