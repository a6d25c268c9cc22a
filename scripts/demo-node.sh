#!/usr/bin/env bash
# Demo hook for Node (called by scripts/demo.sh with VSYNC_CONFIG, VSYNC_PASSPHRASE and the
# VSYNC_DEMO_* variables set): builds the addon, then prints what the Node binding reads.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT/bindings/node"
node build.js >&2
exec node examples/demo.mjs
