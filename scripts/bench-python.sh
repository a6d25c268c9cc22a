#!/usr/bin/env bash
# Python binding benchmarks: cold open() against the local S3 server, get_env per call next to a
# dict lookup, import time. Run through scripts/with-s3.sh (it needs VSYNC_TEST_* and VSYNC_BIN).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
: "${VSYNC_TEST_ENDPOINT:?run through scripts/with-s3.sh}"
ensure_venv
if ! (cd /tmp && "$VENV/bin/python" -c 'import vsync_s3_client') 2>/dev/null; then
  log "pip install ./bindings/python"
  rm -f bindings/python/python/vsync_s3_client/_native*.so
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check ./bindings/python
fi
cd /tmp && exec "$VENV/bin/python" "$ROOT/bindings/python/bench/bench.py"
