#!/usr/bin/env bash
# Python binding tests (pytest). `conformance` runs only the conformance runner.
# The binding is installed the way users install it — `pip install ./bindings/python` (PEP 517,
# maturin) into .venv — and the tests import that installed package, not the source tree.
# Live tests need scripts/with-s3.sh (VSYNC_TEST_*); without it they fail, they never skip.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_venv
PY="$VENV/bin/python"
# boto3 and cryptography serve the family-style reader test (test_family_reader.py), which reads
# our CLI's vaults without any code of ours; mypy runs stubtest on _native.pyi.
if ! "$PY" -c 'import pytest, pytest_benchmark, boto3, cryptography, mypy' 2>/dev/null; then
  log "installing the test dependencies into .venv"
  "$PY" -m pip install -q 'pytest>=7' 'pytest-benchmark>=4' 'boto3>=1.34' 'cryptography>=42' 'mypy==2.4.1'
fi
log "pip install ./bindings/python"
# A .so left in the source tree by a manual dev build must not shadow or leak into the wheel.
rm -f bindings/python/python/vsync_s3_client/_native*.so
"$PY" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ./bindings/python
where=$(cd /tmp && "$PY" -c 'import vsync_s3_client, os; print(os.path.dirname(vsync_s3_client.__file__))')
case "$where" in
  "$VENV"/*) log "testing the installed package at $where" ;;
  *) echo "vsync_s3_client resolved to $where, not the .venv install" >&2; exit 1 ;;
esac
if [ "${1:-}" != conformance ]; then
  # The hand-written stub of the native module, checked against what the wheel really exports
  # (names, signatures, classes), as pydantic-core does.
  log "mypy.stubtest vsync_s3_client._native (the installed module against _native.pyi)"
  (cd /tmp && "$PY" -m mypy.stubtest vsync_s3_client._native)
fi
tests=bindings/python/tests
if [ "${1:-}" = conformance ]; then if [ "${1:-}" != conformance ]; then
  # The hand-written stub of the native module, checked against what the wheel really exports
  # (names, signatures, classes), as pydantic-core does.
  log "mypy.stubtest vsync_s3_client._native (the installed module against _native.pyi)"
  (cd /tmp && "$PY" -m mypy.stubtest vsync_s3_client._native)
fi
tests=bindings/python/tests/test_conformance.py; fi
exec "$PY" -m pytest -p no:cacheprovider "$tests"
