#!/usr/bin/env bash
# Java binding benchmarks (a simple harness, bindings/java/bench/Bench.java): native-library load
# time, cold open() against the local S3 server, getEnv per call next to HashMap.get.
# Runs itself through scripts/with-s3.sh when no server is set up.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [ -z "${VSYNC_TEST_ENDPOINT:-}" ]; then exec "$ROOT/scripts/with-s3.sh" "$0" "$@"; fi
java_dir="$ROOT/bindings/java"
(cd "$java_dir" && mvn -q -B --no-transfer-progress compile) >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077
printf 'bench passphrase\n' >"$work/pass"
printf 'DATABASE_URL=postgres://app@db/bench\nAPI_TOKEN=tok-bench\n' >"$work/.env"
head -c 4096 /dev/urandom >"$work/asset.bin"
VSYNC_CONFIG=$(AWS_SECRET_ACCESS_KEY="$VSYNC_TEST_SECRET_KEY" "$VSYNC_BIN" runtime-token \
  --endpoint "$VSYNC_TEST_ENDPOINT" --region us-east-1 --bucket "$VSYNC_TEST_BUCKET" --prefix "bench-java-$$/" \
  --env bench --access-key-id "$VSYNC_TEST_ACCESS_KEY")
VSYNC_CONFIG="$VSYNC_CONFIG" "$VSYNC_BIN" push --passphrase-file "$work/pass" --env-file "$work/.env" \
  --asset "blob=$work/asset.bin" >/dev/null 2>&1
export VSYNC_CONFIG VSYNC_PASSPHRASE="bench passphrase"
exec java -cp "$java_dir/target/classes" "$java_dir/bench/Bench.java"
