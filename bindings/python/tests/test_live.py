"""Integration against the real local S3 server (scripts/with-s3.sh), vaults pushed with the CLI."""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Callable, List, Optional

import pytest
import vsync_s3_client
from conftest import S3, in_a_fork, runtime_token, salt_of, write_file
from vsync_s3_client import (
    BundleCorruptError,
    ConfigMissingError,
    ConfigUnsupportedVersionError,
    ManifestNotFoundError,
    S3UnreachableError,
    UnsupportedSpecVersionError,
    WrongPassphraseError,
)

KV = {"DATABASE_URL": "postgres://app@db/test", "API_TOKEN": "tok-live-123", "SHARED": "from-vault"}
CERT = b"-----BEGIN CERT-----\n\x00\x01\xff"


def assert_vault(v: vsync_s3_client.Vsync, gen: int = 1) -> None:
    assert v.generation() == gen
    assert v.get_env("DATABASE_URL") == KV["DATABASE_URL"]
    assert v.env_source("API_TOKEN") == "vault"
    assert v.keys() == list(KV)
    assert v.get_as_content("tls/ca.pem") == CERT
    assert repr(v) == f"<vsync:redacted gen={gen} env=test>"


# ---- the three ways in ----


def test_open_reads_the_environment(new_vault, clean_bootstrap_env, capfd) -> None:
    vault = new_vault(KV, {"tls/ca.pem": CERT})
    clean_bootstrap_env.setenv("VSYNC_CONFIG", vault.config)
    clean_bootstrap_env.setenv("VSYNC_PASSPHRASE", vault.passphrase)
    clean_bootstrap_env.setenv("SHARED", "from-env")
    clean_bootstrap_env.setenv("ONLY_ENV", "e")
    with vsync_s3_client.open(defaults={"PORT": "8080", "ONLY_ENV": "d"}) as v:
        assert_vault(v)
        assert (v.get_env("SHARED"), v.env_source("SHARED")) == ("from-vault", "vault")
        assert (v.get_env("ONLY_ENV"), v.env_source("ONLY_ENV")) == ("e", "env")
        assert (v.get_env("PORT"), v.env_source("PORT")) == ("8080", "default")
        assert (v.get_env("NOPE"), v.has_env("NOPE")) == (None, False)
        assert v.remote_generation() == 1 and v.has_new_version() is False
    assert "vsync:" not in capfd.readouterr().err


def test_environ_is_the_chain_for_every_name(new_vault, clean_bootstrap_env) -> None:
    vault = new_vault(KV, {"tls/ca.pem": CERT})
    clean_bootstrap_env.setenv("SHARED", "from-env")
    clean_bootstrap_env.setenv("ONLY_ENV", "e")
    clean_bootstrap_env.setenv("EMPTY_ENV", "")
    defaults = {"PORT": "8080", "ONLY_ENV": "d", "API_TOKEN": "default-token"}
    with vsync_s3_client.open_with(vault.config, vault.passphrase, defaults=defaults) as v:
        view = v.environ()
        assert type(view) is dict
        # Vault wins over the environment and the defaults; the environment over the defaults.
        assert {k: view[k] for k in [*KV, "ONLY_ENV", "EMPTY_ENV", "PORT"]} == {
            **KV,
            "ONLY_ENV": "e",
            "EMPTY_ENV": "",
            "PORT": "8080",
        }
        # Exactly get_env key by key: every variable of os.environ is there, nothing else is.
        assert set(view) == set(KV) | set(defaults) | set(os.environ)
        assert all(view[k] == v.get_env(k) for k in view)
        assert list(view) == sorted(view, key=lambda k: k.encode())
        assert "tls/ca.pem" not in view  # assets are not part of the chain
        clean_bootstrap_env.setenv("ONLY_ENV", "changed")
        assert view["ONLY_ENV"] == "e"  # a snapshot
        assert v.environ()["ONLY_ENV"] == "changed"
    with pytest.raises(ValueError):
        v.environ()


def test_open_with_skips_the_environment(new_vault, clean_bootstrap_env) -> None:
    vault = new_vault(KV, {"tls/ca.pem": CERT})
    clean_bootstrap_env.setenv("VSYNC_CONFIG", "garbage")  # ignored by open_with
    with vsync_s3_client.open_with(vault.config, vault.passphrase, timeout=10) as v:
        assert_vault(v)


def test_module_level_get_env_opens_once_and_caches(new_vault, clean_bootstrap_env) -> None:
    vault = new_vault(KV, {"tls/ca.pem": CERT})
    with pytest.raises(ConfigMissingError):
        vsync_s3_client.get_env("DATABASE_URL")  # a failed open is not cached
    clean_bootstrap_env.setenv("VSYNC_CONFIG", vault.config)
    clean_bootstrap_env.setenv("VSYNC_PASSPHRASE", vault.passphrase)
    assert vsync_s3_client.get_env("DATABASE_URL") == KV["DATABASE_URL"]
    first = vsync_s3_client._default
    clean_bootstrap_env.setenv("VSYNC_PASSPHRASE", "changed")  # no reopen: the cached handle answers
    assert vsync_s3_client.get_env("API_TOKEN") == KV["API_TOKEN"]
    assert vsync_s3_client._default is first


@pytest.mark.parametrize("mode,outcome", [(0o600, "ok"), (0o644, "warn"), (0o640, "warn"), (0o666, "refused")])
def test_file_variables_and_their_modes(
    new_vault, clean_bootstrap_env, tmp_path: Path, capfd, mode: int, outcome: str
) -> None:
    vault = new_vault(KV, {"tls/ca.pem": CERT})
    cfg = write_file(tmp_path / "config", vault.config + "\n", mode)
    pw = write_file(tmp_path / "pass", vault.passphrase + "\r\n", 0o600)
    clean_bootstrap_env.setenv("VSYNC_CONFIG_FILE", str(cfg))
    clean_bootstrap_env.setenv("VSYNC_PASSPHRASE_FILE", str(pw))
    clean_bootstrap_env.setenv("VSYNC_PASSPHRASE", "ignored: the _FILE form wins")
    capfd.readouterr()
    if outcome == "refused":
        with pytest.raises(ConfigMissingError) as info:
            vsync_s3_client.open()
        assert "0666" in str(info.value) and "VSYNC_CONFIG_FILE" in str(info.value)
        return
    with vsync_s3_client.open() as v:
        assert_vault(v)
    err = capfd.readouterr().err
    if outcome == "warn":
        assert err.count(f"vsync: {cfg} is group/world-readable (mode {mode:04o}); narrow to 0600") == 1
    else:
        assert "vsync:" not in err
    assert vault.passphrase not in err


# ---- every error class from a real scenario ----


def test_wrong_passphrase(new_vault) -> None:
    vault = new_vault(KV)
    with pytest.raises(WrongPassphraseError) as info:
        vsync_s3_client.open_with(vault.config, "not the passphrase")
    assert info.value.code == "VSYNC_WRONG_PASSPHRASE"
    assert "not the passphrase" not in str(info.value)


def test_nothing_pushed_is_manifest_not_found(new_vault) -> None:
    vault = new_vault({})  # a token for a fresh prefix, nothing pushed
    with pytest.raises(ManifestNotFoundError) as info:
        vsync_s3_client.open_with(vault.config, vault.passphrase)
    assert vault.prefix in str(info.value)


def test_wrong_secret_key_is_s3_unreachable_403(s3: S3, new_vault) -> None:
    vault = new_vault(KV)
    bad = runtime_token(s3, vault.prefix, secret_key="wrong-secret-key-xyz", salt=salt_of(vault.config))
    with pytest.raises(S3UnreachableError) as info:
        vsync_s3_client.open_with(bad, vault.passphrase)
    assert "403" in str(info.value)
    assert "wrong-secret-key-xyz" not in str(info.value) and s3.secret_key not in str(info.value)


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A port whose connections are refused: a bound socket that does not listen. Keeping it bound
    for the test keeps another process from taking the port meanwhile."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    try:
        yield s.getsockname()[1]
    finally:
        s.close()


def test_closed_port_is_s3_unreachable(s3: S3, refusing_port: int) -> None:
    cfg = runtime_token(s3, "py-closed/", endpoint=f"http://127.0.0.1:{refusing_port}")
    t0 = time.monotonic()
    with pytest.raises(S3UnreachableError):
        vsync_s3_client.open_with(cfg, "whatever", timeout=60)
    # A refused connection fails at once: it does not wait for the deadline (half of it, as slack).
    assert time.monotonic() - t0 < 30


def test_silent_server_times_out_as_s3_unreachable(s3: S3) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # accepts the connection, never answers: only the deadline ends the call
    try:
        cfg = runtime_token(s3, "py-silent/", endpoint=f"http://127.0.0.1:{silent.getsockname()[1]}")
        t0 = time.monotonic()
        with pytest.raises(S3UnreachableError, match="did not answer within 500ms"):
            vsync_s3_client.open_with(cfg, "whatever", timeout=0.5)
        elapsed = time.monotonic() - t0
        # Not before the deadline; and within the deadline + 10 s (key derivation on a loaded machine).
        assert 0.5 <= elapsed < 0.5 + 10, elapsed
    finally:
        silent.close()


def test_bad_blobs() -> None:
    with pytest.raises(ConfigUnsupportedVersionError):
        vsync_s3_client.open_with("vsync-cfg-v1:ab+c", "p")
    with pytest.raises(BundleCorruptError):
        vsync_s3_client.open_with("vsync-cfg-v1:bm90LWd6aXA", "p")  # base64url of "not-gzip"
    with pytest.raises(ConfigMissingError):
        vsync_s3_client.open_with('{"v":1}', "p")


def test_missing_environment_is_config_missing(clean_bootstrap_env) -> None:
    with pytest.raises(ConfigMissingError) as info:
        vsync_s3_client.open()
    assert "VSYNC_CONFIG" in str(info.value)
    clean_bootstrap_env.setenv("VSYNC_CONFIG", "vsync-cfg-v1:x")
    with pytest.raises(ConfigMissingError) as info:
        vsync_s3_client.open()
    assert "VSYNC_PASSPHRASE" in str(info.value)


def live(category: str, name: str) -> str:
    d = os.environ.get("VSYNC_CONFORMANCE_LIVE")
    if not d:
        pytest.fail("VSYNC_CONFORMANCE_LIVE is not set: run through scripts/with-s3.sh")
    return (Path(d) / category / f"{name}.config").read_text()


@pytest.mark.parametrize(
    "scenario,cls",
    [
        ("unsupported-envelope", UnsupportedSpecVersionError),
        ("unsupported-manifest", UnsupportedSpecVersionError),
        ("bundle-missing", BundleCorruptError),
        ("rollback", BundleCorruptError),
        ("corrupt-manifest", BundleCorruptError),
    ],
)
def test_seeded_bucket_faults(scenario: str, cls: type) -> None:
    with pytest.raises(cls):
        vsync_s3_client.open_with(live("s3-scenario", scenario), "correct horse battery staple")


# ---- staleness ----


def test_has_new_version_after_a_second_push(s3: S3, new_vault) -> None:
    vault = new_vault(KV, {"tls/ca.pem": CERT})
    with vsync_s3_client.open_with(vault.config, vault.passphrase) as v:
        assert (v.generation(), v.remote_generation(), v.has_new_version()) == (1, 1, False)
        out = vault.push(s3, {**KV, "API_TOKEN": "tok-rotated"})
        assert out.startswith("pushed gen=2 "), out
        assert (v.generation(), v.remote_generation(), v.has_new_version()) == (1, 2, True)
        assert v.get_env("API_TOKEN") == KV["API_TOKEN"]  # no refresh: the handle keeps its snapshot
    with vsync_s3_client.open_with(vault.config, vault.passphrase) as v2:
        assert (v2.generation(), v2.get_env("API_TOKEN"), v2.has_new_version()) == (2, "tok-rotated", False)


# ---- threads and the GIL ----


def test_threads_read_a_live_handle_concurrently(new_vault) -> None:
    vault = new_vault(KV, {"tls/ca.pem": CERT})
    v = vsync_s3_client.open_with(vault.config, vault.passphrase)
    ok: List[bool] = []

    def reader() -> None:
        ok.append(
            all(
                v.get_env("DATABASE_URL") == KV["DATABASE_URL"] and v.get_as_content("tls/ca.pem") == CERT
                for _ in range(1000)
            )
        )

    threads = [threading.Thread(target=reader) for _ in range(8)] + [
        threading.Thread(target=lambda: ok.append(v.remote_generation() == 1))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ok == [True] * 9
    v.close()


def longest_stall(call: Callable[[], object]) -> tuple:
    """Run `call` while a pure-Python thread ticks; return (call duration, the longest gap between
    two ticks during the call). A call that holds the GIL freezes the ticker for its duration."""
    ticks: List[float] = []
    stop = threading.Event()

    def ticker() -> None:
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.0005)

    t = threading.Thread(target=ticker)
    t.start()
    time.sleep(0.05)
    try:
        t0 = time.perf_counter()
        result = call()
        t1 = time.perf_counter()
    finally:
        stop.set()
        t.join()
    if hasattr(result, "close"):
        result.close()  # type: ignore[union-attr]
    inside = [t0] + [x for x in ticks if t0 <= x <= t1] + [t1]
    return t1 - t0, max(b - a for a, b in zip(inside, inside[1:]))


def test_gil_is_released_during_open(new_vault) -> None:
    vault = new_vault(KV)
    # open() costs at least the 600 000-iteration key derivation (~90 ms): holding the GIL that
    # long would leave the ticker stalled for the whole call.
    duration, stall = longest_stall(lambda: vsync_s3_client.open_with(vault.config, vault.passphrase))
    assert duration > 0.05
    assert stall < duration / 2, (duration, stall)


class Proxy:
    """A TCP proxy to the S3 server run by Python threads in this process: requests through it
    only complete if the calling thread released the GIL."""

    def __init__(self, target: str):
        host, port = target.split("//", 1)[1].split(":")
        self.target = (host, int(port))
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.connections = 0
        self.frozen = False  # when set, new connections are held unanswered (only a deadline ends them)
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            if self.frozen:
                self.held.append(client)
                continue
            threading.Thread(target=self._pump, args=(client,), daemon=True).start()

    def _pump(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.target)
        socks = [client, upstream]
        try:
            while True:
                ready, _, _ = select.select(socks, [], [], 5)
                if not ready:
                    return
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (upstream if s is client else client).sendall(data)
        finally:
            client.close()
            upstream.close()

    def close(self) -> None:
        self.sock.close()
        for c in self.held:
            c.close()


def test_gil_is_released_during_network_calls(s3: S3, new_vault) -> None:
    vault = new_vault(KV)
    proxy = Proxy(s3.endpoint)
    try:
        cfg = runtime_token(s3, vault.prefix, endpoint=proxy.endpoint, salt=salt_of(vault.config))
        # Each call below needs the in-process Python proxy to run while it waits.
        v = vsync_s3_client.open_with(cfg, vault.passphrase, timeout=5)
        assert v.generation() == 1
        assert v.remote_generation() == 1
        assert v.has_new_version() is False
        assert proxy.connections >= 3
        v.close()
    finally:
        proxy.close()


def test_timeout_bounds_remote_calls(s3: S3, new_vault) -> None:
    """docs/deadlines.md: remote_generation / has_new_version are bounded by the open's timeout;
    expiry is S3UnreachableError naming it. The frozen proxy holds the connection, so only that
    deadline can end the call, whichever thread the scheduler runs first."""
    vault = new_vault(KV)
    proxy = Proxy(s3.endpoint)
    try:
        cfg = runtime_token(s3, vault.prefix, endpoint=proxy.endpoint, salt=salt_of(vault.config))
        with vsync_s3_client.open_with(cfg, vault.passphrase, timeout=3) as v:
            assert v.remote_generation() == 1
            proxy.frozen = True
            for call in (v.remote_generation, v.has_new_version):
                t0 = time.monotonic()
                with pytest.raises(S3UnreachableError, match="did not answer within 3s"):
                    call()
                assert time.monotonic() - t0 >= 3  # it waited for the deadline, not less
    finally:
        proxy.close()


# ---- fork ----


def test_fork_after_open(new_vault, clean_bootstrap_env) -> None:
    vault = new_vault(KV, {"tls/ca.pem": CERT})
    v = vsync_s3_client.open_with(vault.config, vault.passphrase)
    clean_bootstrap_env.setenv("VSYNC_CONFIG", vault.config)
    clean_bootstrap_env.setenv("VSYNC_PASSPHRASE", vault.passphrase)

    def in_the_child() -> List[bool]:
        checks = [
            v.get_env("DATABASE_URL") == KV["DATABASE_URL"],
            v.get_as_content("tls/ca.pem") == CERT,
            v.remote_generation() == 1,
        ]
        with vsync_s3_client.open() as child:
            checks.append(child.get_env("API_TOKEN") == KV["API_TOKEN"])
        return checks

    report = in_a_fork(in_the_child)
    assert report == "True,True,True,True"
    assert v.get_env("DATABASE_URL") == KV["DATABASE_URL"]  # the parent's handle is untouched
    v.close()


def test_errors_never_show_secrets(s3: S3, new_vault) -> None:
    vault = new_vault(KV)
    messages: List[Optional[str]] = []
    for cfg, pw in [
        (vault.config, "wrong-pass-zzz"),
        (runtime_token(s3, vault.prefix, secret_key="bad-secret-zzz", salt=salt_of(vault.config)), vault.passphrase),
    ]:
        try:
            vsync_s3_client.open_with(cfg, pw)
        except vsync_s3_client.VSyncError as e:
            messages.append(f"{e!s} {e!r}")
    assert len(messages) == 2
    for m in messages:
        for secret in ("wrong-pass-zzz", "bad-secret-zzz", vault.passphrase, s3.secret_key, *KV.values()):
            assert secret not in m  # type: ignore[operator]
