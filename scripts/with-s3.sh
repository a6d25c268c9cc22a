#!/usr/bin/env bash
# Usage: scripts/with-s3.sh COMMAND [ARGS...]
# Starts a real S3-compatible server on 127.0.0.1 (`vsync dev-server`: the s3s-fs library,
# which enforces SigV4, embedded in our CLI), creates the test buckets, seeds the
# live conformance scenarios, exports the variables below, runs COMMAND, then stops the server.
# When VSYNC_TEST_ENDPOINT is already set (a parent run started a server), it just runs COMMAND.
#
#   VSYNC_TEST_ENDPOINT    http://127.0.0.1:<port> (a free port the server bound)
#   VSYNC_TEST_ACCESS_KEY / VSYNC_TEST_SECRET_KEY   the server's credentials
#   VSYNC_TEST_BUCKET      a bucket tests may write anywhere in (use a unique prefix per test)
#   VSYNC_CONFORMANCE_LIVE directory of seeded scenario configs: <category>/<name>.config
#   VSYNC_BIN              the vsync CLI
#   VSYNC_TEST_REQUEST_LOG the server's request log: `<access key id> <session token or ->` per line
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [ -n "${VSYNC_TEST_ENDPOINT:-}" ]; then exec "$@"; fi
build_cli
state=$(mktemp -d)
mkdir -p "$state/data" "$state/live"
export VSYNC_TEST_ACCESS_KEY=vsync-test-access
export VSYNC_TEST_SECRET_KEY=vsync-test-secret-$RANDOM$RANDOM
export VSYNC_TEST_BUCKET=vsync-test
# One line per request: the access key id that signed it and its session token (tests of keyless
# tokens tell from it which credential source signed).
export VSYNC_TEST_REQUEST_LOG="$state/requests.log"
export VSYNC_CONFORMANCE_LIVE="$state/live"
# Port 0: the kernel picks a free port when the server binds (no window in which another process
# takes a port picked beforehand); the server prints the endpoint once it listens and watches its
# signals, which is the event waited for below (bounded: a server that died or hangs fails fast).
# Secrets go through the environment, never the command line (readable by every local user).
VSYNC_DEV_SECRET_KEY="$VSYNC_TEST_SECRET_KEY" "$VSYNC_BIN" dev-server --port 0 --data "$state/data" \
  --bucket vsync-test --bucket vsync-conformance --access-key "$VSYNC_TEST_ACCESS_KEY" \
  --request-log "$VSYNC_TEST_REQUEST_LOG" >"$state/server.out" 2>"$state/server.log" &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$state"; }
trap cleanup EXIT
for _ in $(seq 1 1200); do
  # The access-key line comes after the endpoint's: once it is there, the endpoint line is whole.
  grep -q '^VSYNC_DEV_ACCESS_KEY=' "$state/server.out" && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.05
done
VSYNC_TEST_ENDPOINT=$(sed -n 's/^VSYNC_DEV_ENDPOINT=//p' "$state/server.out")
[ -n "$VSYNC_TEST_ENDPOINT" ] || { cat "$state/server.log" >&2; log "the S3 server did not start within 60 s"; exit 1; }
export VSYNC_TEST_ENDPOINT
log "S3 server (vsync dev-server) on $VSYNC_TEST_ENDPOINT"
# Seed the project's corpus (the bindings' integration tests use some of its scenarios) and,
# when VSYNC_CONFORMANCE_DIR names another corpus, that one too.
for corpus in "$ROOT/conformance/vectors" ${VSYNC_CONFORMANCE_DIR:+"$VSYNC_CONFORMANCE_DIR"}; do
  AWS_SECRET_ACCESS_KEY="$VSYNC_TEST_SECRET_KEY" "$VSYNC_BIN" vectors seed --corpus "$corpus" \
    --endpoint "$VSYNC_TEST_ENDPOINT" --access-key-id "$VSYNC_TEST_ACCESS_KEY" \
    --bucket vsync-conformance --out "$VSYNC_CONFORMANCE_LIVE"
done
"$@"
