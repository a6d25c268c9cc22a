#!/usr/bin/env bash
# Rust core tests. `conformance` runs only the conformance runner.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
if [ "${1:-}" = conformance ]; then
  exec cargo test --release -p vsync-core --test conformance
fi
# (clippy runs in scripts/test-lint.sh, once for the whole workspace)
ensure_system_test_tools
ensure_moto
cargo test --release -p vsync-core --lib --tests
