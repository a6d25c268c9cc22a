#!/usr/bin/env bash
# Demo reader hook for Rust (the core itself): see README.md in this directory.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
case "$1" in
  build) cargo build --release --quiet -p vsync-cli --example demo-reader --manifest-path "$ROOT/Cargo.toml" ;;
  run) exec "$CARGO_TARGET_DIR/release/examples/demo-reader" ;;
esac
