#!/usr/bin/env bash
# Go binding benchmarks: a cold Open against the local S3 server, GetEnv per call next to a
# Go map lookup (and their ratio). Starts a server through scripts/with-s3.sh when none runs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [ -z "${VSYNC_TEST_ENDPOINT:-}" ]; then exec "$ROOT/scripts/with-s3.sh" "$0" "$@"; fi
cd "$ROOT"
log "cargo build --release -p vsync-c --features testing-hooks (the test build: the benchmarks share the tests' helpers)"
cargo build --release -p vsync-c --features testing-hooks --quiet
cd "$ROOT/bindings/go"
log "go test -bench (cold Open, GetEnv vs map lookup)"
out=$(go test -tags vsync_testing -run '^$' -bench . -benchmem -count=1 -benchtime="${BENCHTIME:-1s}" .)
echo "$out"
echo "$out" | awk '
  /^BenchmarkGetEnvVault/ { g = $3 }
  /^BenchmarkMapLookup/   { m = $3 }
  /^BenchmarkOpenCold/    { o = $3 }
  END {
    if (o) printf "cold Open: %.1f ms\n", o / 1e6
    if (g && m) printf "GetEnv %.0f ns/op vs map lookup %.2f ns/op: ratio %.0fx\n", g, m, g / m
  }'
