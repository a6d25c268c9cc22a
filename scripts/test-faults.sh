#!/usr/bin/env bash
# The fault-injection suite (docs/faults.md), against the server scripts/with-s3.sh started:
# scripts/faults/faultproxy.py (stdlib Python) between the client and the server injects one
# fault per case; each case asserts the error class, a time bound and the request count.
#   1. core: core/tests/faults.rs (read side, TLS, DNS in a namespace, the writer, the fleet boot)
#   2. CLI:  cli/tests/faults.rs (push/rotate with each PUT's reply lost, concurrent pushes)
#   3. Node: bindings/node/test/faults/ (the same faults through a binding)
# Needs python3 and openssl; the DNS case needs `unshare -m -n` (root) or user namespaces.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT" || exit 1
for tool in python3 openssl unshare; do
  command -v "$tool" >/dev/null || { echo "test:faults needs $tool" >&2; exit 1; }
done
failed=()
# `--all-targets` (test:core, test:cli) leaves out `test = false` targets: lint these here.
cargo clippy --release -p vsync-core -p vsync-cli --test faults --quiet -- -D warnings || failed+=(clippy)
# The cases mostly wait (on deadlines, on the proxy): run them side by side.
log "core fault cases (cargo test --test faults)"
cargo test --release -p vsync-core --test faults -- --test-threads 8 || failed+=(core)
log "CLI writer fault cases (cargo test --test faults)"
cargo test --release -p vsync-cli --test faults -- --test-threads 4 || failed+=(cli)
log "Node binding fault cases"
(
  cd bindings/node
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
  fi
  node build.js && node --test --test-reporter=spec test/faults/
) || failed+=(node)
if [ ${#failed[@]} -gt 0 ]; then
  log "fault suite: failed parts: ${failed[*]}"
  exit 1
fi
log "fault suite: all parts passed"
