#!/usr/bin/env bash
# The demo (`./scripts/task demo`): start a local S3-compatible server (`vsync dev-server`), mint
# a runtime token, push a sample vault (key/values and a binary asset), open it from every
# language's reader (scripts/demo.d/*.sh), push a second generation and show each open handle's
# has_new_version() turn true. Needs only cargo (and each reader's own toolchain).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

if [ -t 1 ]; then say() { printf '\n\033[1m%s\033[0m\n' "$*"; }; else say() { printf '\n%s\n' "$*"; }; fi
indent() { sed 's/^/    /'; }

work=$(mktemp -d)
server=""
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

log "building the vsync CLI (release; the first build takes a few minutes)"
cargo build --release --quiet -p vsync-cli --bin vsync
VSYNC="$CARGO_TARGET_DIR/release/vsync"

say "1. a local S3-compatible server"
echo "\$ vsync dev-server --bucket vsync-demo &"
"$VSYNC" dev-server --bucket vsync-demo --data "$work/s3" >"$work/server.env" 2>"$work/server.log" &
server=$!
for _ in $(seq 1 100); do grep -q '^VSYNC_DEV_SECRET_KEY=' "$work/server.env" 2>/dev/null && break; sleep 0.05; done
set -a; source "$work/server.env"; set +a
echo "  listening on $VSYNC_DEV_ENDPOINT (SigV4 enforced; data in a temporary directory)"

say "2. a runtime token for env 'demo' (credentials + location + salt, no passphrase)"
echo "\$ vsync runtime-token --endpoint $VSYNC_DEV_ENDPOINT --region us-east-1 --bucket vsync-demo --prefix myapp/demo/ --env demo --check"
token=$("$VSYNC" runtime-token --endpoint "$VSYNC_DEV_ENDPOINT" --region us-east-1 --bucket vsync-demo \
  --prefix myapp/demo/ --env demo --access-key-id "$VSYNC_DEV_ACCESS_KEY" \
  --secret-access-key "$VSYNC_DEV_SECRET_KEY" --check 2>/dev/null)
echo "  VSYNC_CONFIG=${token:0:24}… (${#token} characters)"
umask 077
printf 'demo passphrase, keep it out of the repo\n' >"$work/passphrase"
cat >"$work/.env" <<'DOTENV'
# the demo's secrets
DATABASE_URL=postgres://app:demo-db-password@db.internal:5432/app
API_TOKEN="tok_live_4f9a1c"
FEATURE_FLAGS=search,checkout
DOTENV
# A 1x1 PNG: a binary asset.
base64 -d >"$work/logo.png" <<<'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='
export VSYNC_CONFIG="$token" VSYNC_PASSPHRASE_FILE="$work/passphrase"

say "3. push generation 1: three key/values and a binary asset"
echo "\$ vsync push --env-file .env --asset logo.png=./logo.png"
"$VSYNC" push --env-file "$work/.env" --asset "logo.png=$work/logo.png" 2>/dev/null | indent
echo "\$ vsync status"
"$VSYNC" status 2>/dev/null | sed -n '/^remote/,$p' | indent

say "4. every language opens it from VSYNC_CONFIG + VSYNC_PASSPHRASE_FILE"
echo "  (LOG_LEVEL comes from the process environment, PORT from open()'s defaults, SENTRY_DSN is missing)"
export LOG_LEVEL=info DEMO_ASSET=logo.png DEMO_KEYS="DATABASE_URL API_TOKEN FEATURE_FLAGS LOG_LEVEL PORT SENTRY_DSN"
readers=()
for hook in "$ROOT"/scripts/demo.d/*.sh; do
  [ -x "$hook" ] || continue
  name=$(basename "$hook" .sh); name=${name#*-}
  set +e
  "$hook" build >"$work/$name.build" 2>&1
  rc=$?
  set -e
  if [ $rc -eq 10 ]; then echo "  [$name] skipped: $(head -n1 "$work/$name.build")"; continue; fi
  if [ $rc -ne 0 ]; then echo "  [$name] build failed:"; indent <"$work/$name.build"; exit 1; fi
  "$hook" run >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  readers+=("$name")
done
[ ${#readers[@]} -gt 0 ] || { echo "no reader ran"; exit 1; }
for i in "${!readers[@]}"; do
  name=${readers[$i]}
  for _ in $(seq 1 600); do
    grep -q '^waiting for a new version' "$work/$name.out" && break
    kill -0 "${pids[$i]}" 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -q '^waiting for a new version' "$work/$name.out"; then
    echo "  [$name] failed:"; cat "$work/$name.out" "$work/$name.err" | indent; exit 1
  fi
  echo "  [$name]"
  sed '/^waiting for a new version/q' "$work/$name.out" | indent
done

say "5. push generation 2 while those handles are open"
printf 'FEATURE_FLAGS=search,checkout,wishlist\n' >>"$work/.env"
echo "\$ vsync push --env-file .env --asset logo.png=./logo.png --expect-gen 1"
"$VSYNC" push --env-file "$work/.env" --asset "logo.png=$work/logo.png" --expect-gen 1 2>/dev/null | indent
failed=0
for i in "${!readers[@]}"; do
  name=${readers[$i]}
  if wait "${pids[$i]}" && grep -q '^has_new_version true' "$work/$name.out"; then
    echo "  [$name] $(grep '^has_new_version true' "$work/$name.out")"
  else
    echo "  [$name] failed:"; cat "$work/$name.out" "$work/$name.err" | indent; failed=1
  fi
done
pids=()
[ $failed -eq 0 ] || exit 1

say "done: ${#readers[@]} reader(s) (${readers[*]}) read what vsync pushed"
