#!/usr/bin/env bash
# Python binding tests (pytest). `conformance` runs only the conformance runner.
# The binding is installed the way users install it — `pip install ./bindings/python` (PEP 517,
# maturin) into .venv — plus the `testing-hooks` feature (the conformance runner's hooks in
# `_native`), and the tests import that installed package, not the source tree.
# The full suite also checks _native.pyi with mypy.stubtest against the module as it ships: built
# without the feature, as scripts/dist.sh builds it.
# Live tests need scripts/with-s3.sh (VSYNC_TEST_*); without it they fail, they never skip.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_venv
ensure_moto  # test_keyless.py: web identity through moto's STS
PY="$VENV/bin/python"
# boto3 and cryptography serve the family-style reader test (test_family_reader.py), which reads
# our CLI's vaults without any code of ours; mypy runs stubtest on _native.pyi; pydantic-settings
# (its latest release, pinned; the [pydantic] extra's floor is 2.9) serves test_pydantic.py.
PYDANTIC_SETTINGS_VERSION=2.16.3
if ! "$PY" -c 'import pytest, pytest_benchmark, boto3, cryptography, mypy' 2>/dev/null \
  || [ "$("$PY" -c 'import pydantic_settings; print(pydantic_settings.__version__)' 2>/dev/null)" != "$PYDANTIC_SETTINGS_VERSION" ]; then
  log "installing the test dependencies into .venv"
  "$PY" -m pip install -q 'pytest>=7' 'pytest-benchmark>=4' 'boto3>=1.34' 'cryptography>=42' 'mypy==2.4.1' \
    "pydantic-settings==$PYDANTIC_SETTINGS_VERSION"
fi
log "pip install ./bindings/python (maturin --features testing-hooks: the test build)"
# A .so left in the source tree by a manual dev build must not shadow or leak into the wheel.
rm -f bindings/python/python/vsync_s3_client/_native*.so
MATURIN_PEP517_ARGS="--features testing-hooks" \
  "$PY" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ./bindings/python
where=$(cd /tmp && "$PY" -c 'import vsync_s3_client, os; print(os.path.dirname(vsync_s3_client.__file__))')
case "$where" in
  "$VENV"/*) log "testing the installed package at $where" ;;
  *) echo "vsync_s3_client resolved to $where, not the .venv install" >&2; exit 1 ;;
esac

if [ "${1:-}" = conformance ]; then
  exec "$PY" -m pytest -p no:cacheprovider bindings/python/tests/test_conformance.py
fi

# ---- the shipped module against its stub ----------------------------------------------------
# The module scripts/dist.sh packs: vsync-python built alone, without `testing-hooks`.
log "cargo build --release -p vsync-python (the shipped _native, no testing hooks)"
cargo build --release -p vsync-python --quiet
shipped=$(mktemp -d)
trap 'rm -rf "$shipped"' EXIT
cp -r bindings/python/python/vsync_s3_client "$shipped/"
cp "$CARGO_TARGET_DIR/release/libvsync_python.so" "$shipped/vsync_s3_client/_native.abi3.so"
# Run from $shipped with it first on sys.path: these checks import it, not the .venv install.
shipped_py() { (cd "$shipped" && PYTHONPATH="$shipped" "$PY" "$@"); }
# The test hooks (src/testing.rs) must not ship; release:check asserts the same on dist/.
shipped_py - <<'PY'
import vsync_s3_client._native as native

hooks = ["decrypt_envelope", "unseal_manifest", "decode_config_json", "open_payload", "resolve_bootstrap",
         "_panic_for_test", "_raise_for_test"]
leaked = [name for name in hooks if hasattr(native, name)]
assert not leaked, f"the shipped _native exports test hooks: {leaked}"
print("shipped _native: no test hook among", sorted(n for n in dir(native) if not n.startswith("__")))
PY
# The hand-written stub, checked against what the shipped module really exports (names,
# signatures, classes), as pydantic-core does.
log "mypy.stubtest vsync_s3_client._native (the shipped module against _native.pyi)"
shipped_py -m mypy.stubtest vsync_s3_client._native
# ... and the check can fail: against the test build (it exports the hooks, which the stub does
# not declare) and against a stub with one signature changed.
log "mypy.stubtest self-test: the test build and a wrong stub must both fail"
if (cd /tmp && "$PY" -m mypy.stubtest vsync_s3_client._native >"$shipped/hooks.log" 2>&1); then
  echo "stubtest passed on the test build, which exports the hooks: the gate cannot fail" >&2
  exit 1
fi
grep -q 'decrypt_envelope' "$shipped/hooks.log" \
  || { echo "stubtest failed on the test build, but not on the hooks:" >&2; cat "$shipped/hooks.log" >&2; exit 1; }
sed -i 's/def keys(self) -> List\[str\]: \.\.\./def keys(self, extra: int) -> List[str]: .../' "$shipped/vsync_s3_client/_native.pyi"
grep -q 'def keys(self, extra: int)' "$shipped/vsync_s3_client/_native.pyi"
if shipped_py -m mypy.stubtest vsync_s3_client._native >"$shipped/wrong.log" 2>&1; then
  echo "stubtest passed on a stub with a wrong signature: the gate cannot fail" >&2
  exit 1
fi
grep -q 'Handle.keys' "$shipped/wrong.log" \
  || { echo "stubtest failed on the wrong stub, but not on Handle.keys:" >&2; cat "$shipped/wrong.log" >&2; exit 1; }
rm -rf "$shipped"
trap - EXIT

exec "$PY" -m pytest -p no:cacheprovider bindings/python/tests
