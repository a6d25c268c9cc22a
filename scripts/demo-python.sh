#!/usr/bin/env bash
# Demo hook (scripts/demo.sh sets VSYNC_CONFIG, VSYNC_PASSPHRASE, VSYNC_DEMO_*): prints what the
# Python binding reads through the plain open(). Uses the cdylib from `cargo build --release`
# beside the pure-Python facade (what the wheel contains), so no pip install is needed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
[ -f "$CARGO_TARGET_DIR/release/libvsync_python.so" ] || cargo build --release -p vsync-python --quiet
pkg=$(mktemp -d)
trap 'rm -rf "$pkg"' EXIT
cp -r bindings/python/python/vsync_s3_client "$pkg/"
rm -f "$pkg"/vsync_s3_client/_native*.so
cp "$CARGO_TARGET_DIR/release/libvsync_python.so" "$pkg/vsync_s3_client/_native.abi3.so"
PYTHONPATH="$pkg" python3 - <<'PY'
import hashlib
import os

import vsync_s3_client as vsync

keys = [k for k in os.environ.get("VSYNC_DEMO_KEYS", "").split(",") if k]
defaults = dict(p.split("=", 1) for p in os.environ.get("VSYNC_DEMO_DEFAULTS", "").split(",") if p)
asset = os.environ.get("VSYNC_DEMO_ASSET", "")
with vsync.open(defaults=defaults) as v:
    print(f"[python] generation={v.generation()}")
    for k in keys:
        value = v.get_env(k)
        print(f"[python] {k}={'<none>' if value is None else value} ({v.env_source(k)})")
    data = v.get_as_content(asset)
    print(f"[python] asset {asset}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:12]}")
    print(f"[python] has_new_version={str(v.has_new_version()).lower()}")
PY
