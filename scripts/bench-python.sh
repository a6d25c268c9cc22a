#!/usr/bin/env bash
# Python binding benchmarks: cold open() against the local S3 server, get_env per call next to a
# dict lookup, import time. Run through scripts/with-s3.sh (it needs VSYNC_TEST_* and VSYNC_BIN).
#
# `bench-python.sh get-env [PKG_DIR...]`: get_env per call with pytest-benchmark
# (bindings/python/bench/test_get_env.py, no S3), against the installed test build (the one
# scripts/test-python.sh installs), or against each PKG_DIR in turn (a directory holding an
# unpacked test-build wheel) to compare two builds in one session. Medians in ns at the end.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_venv
if [ "${1:-}" = get-env ]; then
  shift
  out=$(mktemp -d)
  n=0
  for pkg in "${@:-}"; do
    n=$((n + 1))
    log "pytest-benchmark get_env: ${pkg:-the installed package}"
    PYTHONPATH="$pkg" "$VENV/bin/python" -m pytest -p no:cacheprovider -q bindings/python/bench/test_get_env.py \
      --benchmark-disable-gc --benchmark-min-time=0.2 --benchmark-json="$out/$n.json"
    echo "${pkg:-installed}" >"$out/$n.label"
  done
  "$VENV/bin/python" - "$out"/*.json <<'PY'
import json
import sys

for path in sys.argv[1:]:
    label = open(path[: -len(".json")] + ".label").read().strip()
    for b in json.load(open(path))["benchmarks"]:
        print(f"{label:24} {b['name']:28} median {b['stats']['median'] * 1e9:7.0f} ns")
PY
  rm -rf "$out"
  exit 0
fi
: "${VSYNC_TEST_ENDPOINT:?run through scripts/with-s3.sh}"
if ! (cd /tmp && "$VENV/bin/python" -c 'import vsync_s3_client') 2>/dev/null; then
  log "pip install ./bindings/python"
  rm -f bindings/python/python/vsync_s3_client/_native*.so
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check ./bindings/python
fi
cd /tmp && exec "$VENV/bin/python" "$ROOT/bindings/python/bench/bench.py"
