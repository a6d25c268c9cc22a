#!/usr/bin/env bash
# Node binding (bindings/node): installs the dev dependencies once, builds the addon with cargo
# into the shared target dir, then runs `node --test`. `conformance` runs only the runner.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_node_modules
cd "$ROOT/bindings/node"
log "cargo build --release -p vsync-node --features testing-hooks (bindings/node/build.js: the test build)"
node build.js --testing-hooks
if [ "${1:-}" = conformance ]; then
  exec node --test --test-reporter=spec test/conformance.test.js
fi
exec node --test --test-reporter=spec --test-concurrency=1 test/*.test.js
