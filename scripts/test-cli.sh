#!/usr/bin/env bash
# The vsync CLI: unit tests, and the binary driven as a process against the local S3
# server that scripts/with-s3.sh started (run through `./scripts/task test:cli`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_moto
cargo test --release -p vsync-cli
