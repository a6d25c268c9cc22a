#!/usr/bin/env bash
# Demo hook (scripts/demo.sh): reads the pushed sample vault through the Go binding's Open()
# and prints what it sees. Expects VSYNC_CONFIG, VSYNC_PASSPHRASE, VSYNC_DEMO_KEYS,
# VSYNC_DEMO_DEFAULTS, VSYNC_DEMO_ASSET in the environment.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
cargo build --release -p vsync-c --quiet
cd "$ROOT/bindings/go"
go build -o "$ROOT/target/vsync-go-demo" ./examples/demo
exec "$ROOT/target/vsync-go-demo"
