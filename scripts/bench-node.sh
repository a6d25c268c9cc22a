#!/usr/bin/env bash
# Node binding benchmarks against the local S3 server (run through scripts/with-s3.sh):
# cold open(), getEnv per call next to Map.get, require() time.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT/bindings/node"
node build.js
exec node bench/bench.js
