"""The handle without S3 (built from a payload through the private hook): chain, lifecycle,
redaction, threads. The live behaviour is in test_live.py."""

from __future__ import annotations

import copy
import inspect
import json
import logging
import os
import pickle
import sys
import threading
import time

import pytest
import vsync_s3_client
from vsync_s3_client import Vsync, _native

SECRET = "s3cr3t-value-do-not-print"


def handle(defaults=None, kv=None) -> Vsync:
    payload = json.dumps(
        {"kv": kv if kv is not None else {"DB": SECRET, "B": "vb"}, "assets": {"cert": "AAEC"}}
    ).encode()
    return Vsync._wrap(_native.open_payload(payload, "dev", None, defaults or {"D": "dv", "B": "db"}))


def test_chain_reads_os_environ_at_lookup_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VSYNC_PY_LATE", raising=False)
    h = handle(defaults={"VSYNC_PY_LATE": "def"})
    assert (h.get_env("VSYNC_PY_LATE"), h.env_source("VSYNC_PY_LATE")) == ("def", "default")
    monkeypatch.setenv("VSYNC_PY_LATE", "now")  # set after open: seen, no snapshot
    assert (h.get_env("VSYNC_PY_LATE"), h.env_source("VSYNC_PY_LATE")) == ("now", "env")
    monkeypatch.setenv("VSYNC_PY_LATE", "")  # an empty variable counts as set
    assert (h.get_env("VSYNC_PY_LATE"), h.env_source("VSYNC_PY_LATE"), h.has_env("VSYNC_PY_LATE")) == ("", "env", True)
    monkeypatch.delenv("VSYNC_PY_LATE")
    assert h.env_source("VSYNC_PY_LATE") == "default"
    monkeypatch.setenv("DB", "from-env")  # the vault wins
    assert (h.get_env("DB"), h.env_source("DB")) == (SECRET, "vault")
    monkeypatch.delenv("NOPE_VSYNC", raising=False)
    assert (h.get_env("NOPE_VSYNC"), h.env_source("NOPE_VSYNC"), h.has_env("NOPE_VSYNC")) == (None, "missing", False)


def test_env_lookup_sees_a_replaced_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    h = handle()
    monkeypatch.setattr(os, "environ", {"ONLY_HERE": "x"})
    assert (h.get_env("ONLY_HERE"), h.env_source("ONLY_HERE")) == ("x", "env")


def test_env_lookup_errors_propagate(monkeypatch: pytest.MonkeyPatch) -> None:
    class Boom(dict):
        def get(self, key, default=None):
            raise RuntimeError("lookup failed")

    h = handle()
    monkeypatch.setattr(os, "environ", Boom())
    with pytest.raises(RuntimeError, match="lookup failed"):
        h.get_env("X")
    assert h.get_env("DB") == SECRET  # a vault hit never consults the environment


def test_assets_keys_generation() -> None:
    h = handle()
    assert h.get_as_content("cert") == b"\x00\x01\x02"
    assert h.get_as_content("DB") == SECRET.encode()
    with pytest.raises(KeyError):
        h.get_as_content("nope")
    assert h.keys() == ["DB", "B"]
    assert h.generation() == 0
    with pytest.raises(vsync_s3_client.ConfigMissingError):
        h.remote_generation()  # built from a payload: no remote


def test_close_then_value_error_and_idempotent() -> None:
    h = handle()
    assert not h.closed
    h.close()
    h.close()
    assert h.closed
    for call in (
        lambda: h.get_env("DB"),
        lambda: h.has_env("DB"),
        lambda: h.env_source("DB"),
        lambda: h.get_as_content("cert"),
        lambda: h.keys(),
        lambda: h.generation(),
        lambda: h.remote_generation(),
        lambda: h.has_new_version(),
    ):
        with pytest.raises(ValueError):
            call()
    assert repr(h) == "<vsync:redacted gen=0 env=dev>"


def test_context_manager_closes() -> None:
    with handle() as h:
        assert h.get_env("B") == "vb"
    assert h.closed
    with pytest.raises(ValueError):
        h.get_env("B")
    with pytest.raises(ValueError):
        with h:
            pass


def test_redaction_everywhere(caplog: pytest.LogCaptureFixture) -> None:
    h = handle()
    want = "<vsync:redacted gen=0 env=dev>"
    assert repr(h) == str(h) == f"{h}" == f"{h!r}" == "%s" % h == want
    assert repr(h._h) == want
    assert repr([h]) == f"[{want}]"
    with caplog.at_level(logging.INFO):
        logging.getLogger("t").info("handle %s %r", h, h)
        logging.getLogger("t").info(h)
    assert SECRET not in caplog.text and want in caplog.text
    # No introspection path shows values.
    assert not hasattr(h, "__dict__")
    assert all(SECRET not in repr(getattr(h, a, None)) for a in dir(h))


def test_pickle_and_copy_refused() -> None:
    h = handle()
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError):
            pickle.dumps(h, protocol=proto)
    with pytest.raises(TypeError):
        pickle.dumps(h._h)
    with pytest.raises(TypeError):
        copy.copy(h)
    with pytest.raises(TypeError):
        copy.deepcopy(h)


def test_not_constructible_or_mutable() -> None:
    with pytest.raises(TypeError):
        Vsync()
    h = handle()
    with pytest.raises(AttributeError):
        h._h = None  # type: ignore[misc]


def test_reads_never_hand_the_gil_over(monkeypatch: pytest.MonkeyPatch) -> None:
    # The core never calls back into Python: the host reads step 2 (os.environ) itself and hands
    # the value down, so a read - vault hit, environment, default or missing - runs with the GIL
    # held from start to end. (Before, every read released the GIL and a miss re-attached to it
    # inside the core to call os.environ.get: a busy thread got in between, and the reader waited
    # up to the switch interval to get the GIL back.)
    monkeypatch.setenv("VSYNC_PY_ENVKEY", "e")
    monkeypatch.delenv("NOPE_VSYNC", raising=False)
    h = handle()
    turns = [0]
    stop = threading.Event()
    started = threading.Event()

    def busy() -> None:
        started.set()
        while not stop.is_set():
            turns[0] += 1
            time.sleep(0.0002)  # releases the GIL, then waits for it again

    interval = sys.getswitchinterval()
    # No forced GIL switch during the reads below: only a release by the reads lets `busy` run.
    sys.setswitchinterval(60)
    t = threading.Thread(target=busy)
    try:
        t.start()
        started.wait()
        before = turns[0]
        for _ in range(2000):
            assert h.get_env("VSYNC_PY_ENVKEY") == "e" and h.get_env("DB") == SECRET
            assert h.get_env("NOPE_VSYNC") is None and h.get_env("D") == "dv"
            assert h.env_source("VSYNC_PY_ENVKEY") == "env" and h.has_env("B")
            assert h.keys() == ["DB", "B"] and h.generation() >= 0
        after = turns[0]
    finally:
        stop.set()
        sys.setswitchinterval(interval)
        t.join()
    assert after == before, f"the reads let another thread run {after - before} times"


def test_concurrent_readers_and_a_closer_do_not_deadlock(monkeypatch: pytest.MonkeyPatch) -> None:
    # A closer waits for the core's write lock without the GIL; readers hold the GIL but never
    # wait on anything that needs it (step 2 is read by the host between two passes of the core,
    # outside its lock).
    monkeypatch.setenv("VSYNC_PY_ENVKEY", "e")
    for _round in range(20):
        h = handle()
        errors = []
        start = threading.Barrier(9)

        def reader(h: Vsync, start: threading.Barrier, errors: list) -> None:
            start.wait()
            try:
                for _ in range(300):
                    assert h.get_env("VSYNC_PY_ENVKEY") == "e"
                    assert h.get_env("DB") == SECRET
            except ValueError:
                pass  # closed under our feet: the documented outcome
            except BaseException as e:  # pragma: no cover
                errors.append(e)

        threads = [threading.Thread(target=reader, args=(h, start, errors)) for _ in range(8)]
        for t in threads:
            t.start()
        start.wait()
        h.close()
        for t in threads:
            t.join(timeout=20)
            assert not t.is_alive(), "deadlock"
        assert errors == []


def test_many_threads_read_the_same_values() -> None:
    h = handle()
    results = []

    def reader(i: int) -> None:
        results.append(all(h.get_env("DB") == SECRET and h.get_as_content("cert") == b"\0\1\2" for _ in range(500)))

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 16


def test_every_public_name_has_a_docstring() -> None:
    import vsync_s3_client.errors as errors

    for name in vsync_s3_client.__all__:
        obj = getattr(vsync_s3_client, name)
        if name == "Source":
            continue  # a typing alias
        assert inspect.getdoc(obj), name
    for name, member in inspect.getmembers(Vsync):
        if not name.startswith("_"):
            assert inspect.getdoc(member), f"Vsync.{name}"
    assert vsync_s3_client.__doc__ and errors.__doc__


def test_typed_package_files_are_shipped() -> None:
    pkg = os.path.dirname(vsync_s3_client.__file__)
    assert os.path.isfile(os.path.join(pkg, "py.typed"))
    assert os.path.isfile(os.path.join(pkg, "_native.pyi"))


def test_defaults_accept_any_mapping() -> None:
    import types

    h = Vsync._wrap(_native.open_payload(b"{}", "dev", None, types.MappingProxyType({"K": "v"})))
    assert (h.get_env("K"), h.env_source("K")) == ("v", "default")
