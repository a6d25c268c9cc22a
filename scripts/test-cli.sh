#!/usr/bin/env bash
# The vsync CLI: unit tests, and the binary driven as a process against the local S3
# server that scripts/with-s3.sh started (run through `./scripts/task test:cli`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
# moto: the second S3 implementation the retention tests run against (cli/tests/rollback.rs
# starts moto_server on a free loopback port itself).
ensure_venv
if ! "$VENV/bin/python" -c 'import moto.server, flask' 2>/dev/null; then
  log "installing moto[server] into .venv"
  "$VENV/bin/python" -m pip install -q 'moto[server]>=5'
fi
export VSYNC_MOTO_SERVER="$VENV/bin/moto_server"
cargo test --release -p vsync-cli
