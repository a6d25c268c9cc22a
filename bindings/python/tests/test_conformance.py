"""The conformance runner (conformance/README.md): every vector of every category of a corpus.

Corpus: <repo>/conformance/vectors, or VSYNC_CONFORMANCE_DIR. One test per vector; a category
this runner does not know fails; live vectors fail (never skip) without VSYNC_CONFORMANCE_LIVE.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import pytest
import vsync_s3_client
from conftest import REPO, canonical, env_only
from vsync_s3_client import Vsync, _native

CORPUS = Path(os.environ.get("VSYNC_CONFORMANCE_DIR") or REPO / "conformance" / "vectors")


def _collect() -> List[Any]:
    if not CORPUS.is_dir():
        return [pytest.param(None, id="corpus-missing")]
    out = []
    for cat in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        for vec in sorted(cat.glob("*.json")):
            out.append(pytest.param(vec, id=f"{cat.name}/{vec.stem}"))
    return out or [pytest.param(None, id="corpus-empty")]


VECTORS = _collect()


class Vector:
    def __init__(self, path: Path):
        self.path = path
        self.name = path.stem
        doc = json.loads(path.read_text())
        self.category: str = path.parent.name
        assert doc["category"] == self.category, f"{path}: category field {doc['category']!r} != directory"
        self.inputs: Dict[str, Any] = doc.get("inputs") or {}
        self.expected: Dict[str, Any] = doc["expected"]
        self.error: Optional[str] = self.expected.get("error")

    @property
    def bin(self) -> bytes:
        return self.path.with_suffix(".bin").read_bytes()


def check(v: Vector, run: Callable[[], Any], then: Callable[[Any], None]) -> None:
    """Run the call; expect the vector's error class, or hand the result to `then`."""
    if v.error is not None:
        with pytest.raises(vsync_s3_client.VSyncError) as info:
            run()
        assert canonical(info.value) == v.error, f"{v.name}: {type(info.value).__name__}: {info.value}"
    else:
        then(run())


def query_results(h: Vsync, v: Vector, monkeypatch: pytest.MonkeyPatch) -> None:
    queries = v.inputs.get("queries") or []
    env_only(v.inputs.get("env") or {}, queries, monkeypatch)
    got = [{"key": q, "value": h.get_env(q), "source": h.env_source(q), "has": h.has_env(q)} for q in queries]
    assert got == v.expected["results"]


def materialize(files: Dict[str, Any], env: Dict[str, str], tmp: Path) -> Dict[str, str]:
    """Create the bootstrap files with their modes (chmod after writing) and substitute {dir}."""
    for name, f in (files or {}).items():
        p = tmp / name
        p.write_bytes(bytes.fromhex(f["content_hex"]))
        os.chmod(p, int(f["mode_octal"], 8))
    return {k: val.replace("{dir}", str(tmp)) for k, val in (env or {}).items()}


def live_config(v: Vector) -> str:
    live = os.environ.get("VSYNC_CONFORMANCE_LIVE")
    if not live:
        pytest.fail(f"live vector {v.category}/{v.name} needs VSYNC_CONFORMANCE_LIVE (run through scripts/with-s3.sh)")
    cfg = Path(live) / v.category / f"{v.name}.config"
    if not cfg.is_file():
        pytest.fail(f"live vector {v.category}/{v.name}: {cfg} is missing (was the corpus seeded?)")
    return cfg.read_text()


# ---- one function per category ----


def rqe1_decrypt(v: Vector, mp, tmp: Path) -> None:
    i = v.inputs
    check(
        v,
        lambda: _native.decrypt_envelope(v.bin, i["passphrase"], i["salt"], i.get("iterations", 600000)),
        lambda plain: _eq(plain.hex(), v.expected["plaintext_hex"]),
    )


def rqem0001_manifest(v: Vector, mp, tmp: Path) -> None:
    def then(r: Any) -> None:
        ts, payload = r
        assert ts == v.expected["embedded_ts"]
        assert payload.hex() == v.expected["payload_hex"]

    check(v, lambda: _native.unseal_manifest(v.bin, v.inputs.get("remote_ts")), then)


def config_blob(v: Vector, mp, tmp: Path) -> None:
    blob = v.bin.decode("utf-8")
    check(v, lambda: _native.decode_config_json(blob), lambda text: _eq(json.loads(text), v.expected["config_json"]))


def fallback_chain(v: Vector, mp, tmp: Path) -> None:
    payload = json.dumps({"kv": v.inputs.get("vault") or {}}).encode()
    h = Vsync._wrap(_native.open_payload(payload, "test", None, v.inputs.get("defaults") or {}))
    query_results(h, v, mp)


def resolved_view(v: Vector, mp, tmp: Path) -> None:
    payload = json.dumps({"kv": v.inputs.get("vault") or {}}).encode()
    with Vsync._wrap(_native.open_payload(payload, "test", None, v.inputs.get("defaults") or {})) as h:
        # The process environment is exactly `env`: the facade reads os.environ at call time.
        mp.setattr(os, "environ", dict(v.inputs.get("env") or {}))
        view = h.environ()
        want = v.expected["environ"]
        assert list(view.items()) == [(e["key"], e["value"]) for e in want]
        assert [h.env_source(e["key"]) for e in want] == [e["source"] for e in want]


def asset_path(v: Vector, mp, tmp: Path) -> None:
    key = v.inputs["key"]
    payload = json.dumps(
        {"kv": v.inputs.get("vault") or {}, "assets": {key: base64.b64encode(v.bin).decode()}}
    ).encode()

    def run() -> bytes:
        with Vsync._wrap(_native.open_payload(payload, "test", None, {})) as h:
            return h.get_as_content(key)

    def then(data: bytes) -> None:
        assert data.hex() == v.expected["bytes_hex"]
        # The README's tempfile recipe: mkstemp creates the file 0600 before any byte is written.
        fd, path = tempfile.mkstemp(dir=tmp)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            assert Path(path).read_bytes() == data
            assert f"{stat.S_IMODE(os.stat(path).st_mode):04o}" == v.expected["mode_octal"]
        finally:
            os.unlink(path)

    check(v, run, then)


# Passed when a vector names no passphrase: the family's live scenarios fail before decryption.
ANY_PASSPHRASE = "any non-empty passphrase"


def taxonomy_step(v: Vector) -> str:
    """The one place this runner decides what an error-taxonomy vector runs (SPEC §11): the
    family's four input shapes and our `config` shape, told apart by the inputs and the `.bin`'s
    first bytes, never by the vector's name."""
    i = v.inputs
    if isinstance(i.get("scenario"), str):
        return "live"
    if v.path.with_suffix(".bin").exists():
        if v.bin.startswith(b"vsync-cfg-") or not isinstance(i.get("passphrase"), str):
            return "config-blob"
        return "envelope"
    if isinstance(i.get("config"), str):
        return "open-with"
    if isinstance(i.get("env"), dict):
        return "bootstrap"
    pytest.fail(f"error-taxonomy vector {v.name}: no input shape this runner knows ({sorted(i)})")


def error_taxonomy(v: Vector, mp, tmp: Path) -> None:
    i = v.inputs
    assert v.error is not None, "error-taxonomy vectors always expect an error"
    passphrase = i.get("passphrase") or ANY_PASSPHRASE
    step = taxonomy_step(v)
    if step == "live":
        cfg = live_config(v)
        run: Callable[[], Any] = functools.partial(vsync_s3_client.open_with, cfg, passphrase, i.get("defaults"))
    elif step == "envelope":
        run = functools.partial(
            _native.decrypt_envelope, v.bin, i["passphrase"], i["salt"], i.get("iterations", 600000)
        )
    elif step == "config-blob":
        run = functools.partial(_native.decode_config_json, v.bin.decode("utf-8"))
    elif step == "open-with":
        run = functools.partial(vsync_s3_client.open_with, i["config"], passphrase)
    else:
        env = materialize(i.get("files") or {}, i["env"], tmp)

        def run() -> Any:
            # As open() does before any network access: resolve the inputs, then decode the config.
            return _native.decode_config_json(_native.resolve_bootstrap(env)[0])

    check(v, run, lambda _: None)


def vault_payload(v: Vector, mp, tmp: Path) -> None:
    def then(h: Vsync) -> None:
        with h:
            assert h.keys() == v.expected["keys"]
            for k, val in v.expected["kv"].items():
                assert h.get_env(k) == val
                assert h.env_source(k) == "vault"
            for name, hx in v.expected["assets"].items():
                assert h.get_as_content(name).hex() == hx

    check(v, lambda: Vsync._wrap(_native.open_payload(v.bin, v.inputs["env"], v.inputs.get("pointer_ts"), {})), then)


def bootstrap(v: Vector, mp, tmp: Path) -> None:
    env = materialize(v.inputs.get("files") or {}, v.inputs.get("env") or {}, tmp)

    def then(r: Any) -> None:
        config, passphrase, warnings = r
        assert config == v.expected["config"]
        assert passphrase == v.expected["passphrase"]
        assert warnings == [w.replace("{dir}", str(tmp)) for w in v.expected["warnings"]]

    check(v, lambda: _native.resolve_bootstrap(env), then)


def check_live_open(v: Vector, then: Callable[[Vsync], None], *args: Any, **kwargs: Any) -> None:
    """open_with on the vector's live vault with its passphrase (then `args`/`kwargs`); when the
    vector expects an error, that error; else the generation, then `then`, and the handle closed."""
    cfg = live_config(v)

    def checked(h: Vsync) -> None:
        with h:
            assert h.generation() == v.expected["generation"]
            then(h)

    check(v, lambda: vsync_s3_client.open_with(cfg, v.inputs["passphrase"], *args, **kwargs), checked)


def s3_scenario(v: Vector, mp, tmp: Path) -> None:
    def then(h: Vsync) -> None:
        query_results(h, v, mp)
        for name, hx in (v.expected.get("assets") or {}).items():
            assert h.get_as_content(name).hex() == hx
        assert h.remote_generation() == v.expected["generation"]
        assert h.has_new_version() is False

    check_live_open(v, then, v.inputs.get("defaults") or {})


def rollback(v: Vector, mp, tmp: Path) -> None:
    def then(h: Vsync) -> None:
        for k, val in v.expected["kv"].items():
            assert h.get_env(k) == val

    check_live_open(v, then, min_generation=v.inputs.get("min_generation"))


def _eq(got: Any, want: Any) -> None:
    assert got == want


RUNNERS: Dict[str, Callable[[Vector, pytest.MonkeyPatch, Path], None]] = {
    "rqe1-decrypt": rqe1_decrypt,
    "rqe1-decrypt-error": rqe1_decrypt,
    "rqem0001-manifest": rqem0001_manifest,
    "config-blob": config_blob,
    "fallback-chain": fallback_chain,
    "resolved-view": resolved_view,
    "asset-path": asset_path,
    "error-taxonomy": error_taxonomy,
    "vault-payload": vault_payload,
    "bootstrap": bootstrap,
    "s3-scenario": s3_scenario,
    "rollback": rollback,
}


@pytest.mark.parametrize("path", VECTORS)
def test_vector(path: Optional[Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if path is None:
        pytest.fail(f"no conformance corpus at {CORPUS} (set VSYNC_CONFORMANCE_DIR)")
    v = Vector(path)
    runner = RUNNERS.get(v.category)
    if runner is None:
        pytest.fail(f"unknown conformance category {v.category!r} ({path}); this runner must learn it")
    runner(v, monkeypatch, tmp_path)
