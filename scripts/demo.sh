#!/usr/bin/env bash
# The demo (`./scripts/task demo`): start a local S3-compatible server (`vsync dev-server`), mint
# a runtime token, push a sample vault (key/values and a binary asset), read it from a shell
# command through `vsync run`, open it from every language, push a second generation and show
# the open handles' has_new_version() turn true.
# Needs cargo, plus each reader's own toolchain.
#
# Readers — add a language by adding one of these (nothing else changes):
#   scripts/demo-<lang>.sh   one-shot: open from VSYNC_CONFIG/VSYNC_PASSPHRASE with defaults from
#                            VSYNC_DEMO_DEFAULTS ("K=V,..."), print `[<lang>] ...` lines for the
#                            keys of VSYNC_DEMO_KEYS (comma-separated), the asset VSYNC_DEMO_ASSET,
#                            generation and has_new_version, exit 0.
#   scripts/demo.d/NN-<lang>.sh   long-lived (build/run), keeps its handle open across the second
#                            push and reports has_new_version turning true: scripts/demo.d/README.md.
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
# Wait for the event (its variables printed), bounded; stop early if the server died.
for _ in $(seq 1 1200); do
  grep -q '^VSYNC_DEV_SECRET_KEY=' "$work/server.env" 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.05
done
set -a
# The dev server wrote this file just above.
# shellcheck source=/dev/null
source "$work/server.env"
set +a
echo "  listening on $VSYNC_DEV_ENDPOINT (SigV4 enforced; data in a temporary directory)"

say "2. a runtime token for env 'demo' (credentials + location + salt, no passphrase)"
echo "\$ vsync runtime-token --endpoint $VSYNC_DEV_ENDPOINT --region us-east-1 --bucket vsync-demo --prefix myapp/demo/ --env demo --check"
token=$(AWS_SECRET_ACCESS_KEY="$VSYNC_DEV_SECRET_KEY" "$VSYNC" runtime-token --endpoint "$VSYNC_DEV_ENDPOINT" \
  --region us-east-1 --bucket vsync-demo --prefix myapp/demo/ --env demo --access-key-id "$VSYNC_DEV_ACCESS_KEY" \
  --check 2>/dev/null)
echo "  VSYNC_CONFIG=${token:0:24}… (${#token} characters)"
umask 077
cat >"$work/.env" <<'DOTENV'
# the demo's secrets
DATABASE_URL=postgres://app:demo-db-password@db.internal:5432/app
API_TOKEN="tok_live_4f9a1c"
FEATURE_FLAGS=search,checkout
DOTENV
# A 1x1 PNG: a binary asset.
base64 -d >"$work/logo.png" <<<'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='
export VSYNC_CONFIG="$token" VSYNC_PASSPHRASE="demo passphrase, keep it out of the repo"

say "3. push generation 1: three key/values and a binary asset"
echo "\$ vsync push --env-file .env --asset logo.png=./logo.png"
"$VSYNC" push --env-file "$work/.env" --asset "logo.png=$work/logo.png" 2>/dev/null | indent
echo "\$ vsync status"
"$VSYNC" status 2>/dev/null | sed -n '/^remote/,$p' | indent

say "4. any program, zero code: vsync run puts the vault in a command's environment"
# shellcheck disable=SC2016 # the command's own shell expands these, not this script
{
  echo "\$ vsync run -- sh -c 'echo \"\$DATABASE_URL\"'"
  db_url=$("$VSYNC" run -- sh -c 'echo "$DATABASE_URL"')
  indent <<<"$db_url"
  grep -q '^DATABASE_URL=' "$work/.env" && [ "DATABASE_URL=$db_url" = "$(grep '^DATABASE_URL=' "$work/.env")" ] \
    || { say "FAILED: vsync run did not give the command the vault's DATABASE_URL"; exit 1; }
  echo "\$ vsync run -- sh -c 'echo \"passphrase: \${VSYNC_PASSPHRASE:-not given to the command}\"'"
  "$VSYNC" run -- sh -c 'echo "passphrase: ${VSYNC_PASSPHRASE:-not given to the command}"' | indent
}

say "5. every language opens it from VSYNC_CONFIG + VSYNC_PASSPHRASE"
echo "  (LOG_LEVEL comes from the process environment, PORT from open()'s defaults, SENTRY_DSN is missing)"
keys="DATABASE_URL API_TOKEN FEATURE_FLAGS LOG_LEVEL PORT SENTRY_DSN"
export LOG_LEVEL=info DEMO_ASSET=logo.png DEMO_KEYS="$keys" \
  VSYNC_DEMO_ASSET=logo.png VSYNC_DEMO_KEYS="${keys// /,}" VSYNC_DEMO_DEFAULTS="PORT=8080"
failed=0
ran=()

# a) One-shot readers, scripts/demo-<lang>.sh: open, print, exit (the binding builds what it needs).
#    A language that also has a long-lived reader in scripts/demo.d/ runs only there.
for hook in "$ROOT"/scripts/demo-*.sh; do
  [ -x "$hook" ] || continue
  lang=$(basename "$hook" .sh); lang=${lang#demo-}
  compgen -G "$ROOT/scripts/demo.d/*-$lang.sh" >/dev/null && continue
  if "$hook" >"$work/$lang.out" 2>"$work/$lang.err"; then
    indent <"$work/$lang.out"; ran+=("$lang")
  else
    echo "  [$lang] failed:"; cat "$work/$lang.out" "$work/$lang.err" | tail -n 20 | indent; failed=1
  fi
done

# b) Long-lived readers, scripts/demo.d/*.sh (contract: scripts/demo.d/README.md): all are built
#    first, then started; each keeps its handle open across the second push.
hooks=(); names=()
for hook in "$ROOT"/scripts/demo.d/*.sh; do
  [ -x "$hook" ] || continue
  name=$(basename "$hook" .sh); name=${name#*-}
  set +e
  "$hook" build >"$work/$name.build" 2>&1
  rc=$?
  set -e
  if [ $rc -eq 10 ]; then echo "  [$name] skipped: $(head -n1 "$work/$name.build")"; continue; fi
  if [ $rc -ne 0 ]; then echo "  [$name] build failed:"; tail -n 20 "$work/$name.build" | indent; failed=1; continue; fi
  hooks+=("$hook"); names+=("$name")
done
readers=()
for i in "${!hooks[@]}"; do
  "${hooks[$i]}" run >"$work/${names[$i]}.out" 2>"$work/${names[$i]}.err" &
  pids+=($!)
done
for i in "${!names[@]}"; do
  name=${names[$i]}
  for _ in $(seq 1 300); do
    grep -q '^waiting for a new version' "$work/$name.out" && break
    kill -0 "${pids[$i]}" 2>/dev/null || break
    sleep 0.1
  done
  if grep -q '^waiting for a new version' "$work/$name.out"; then
    sed '/^waiting for a new version/q' "$work/$name.out" | sed "s/^/[$name] /" | indent
    readers+=("$i")
  else
    echo "  [$name] failed:"; cat "$work/$name.out" "$work/$name.err" | tail -n 20 | indent; failed=1
  fi
done

say "6. push generation 2 while the long-lived handles are open"
printf 'FEATURE_FLAGS=search,checkout,wishlist\n' >>"$work/.env"
echo "\$ vsync push --env-file .env --asset logo.png=./logo.png --expect-gen 1"
"$VSYNC" push --env-file "$work/.env" --asset "logo.png=$work/logo.png" --expect-gen 1 2>/dev/null | indent
for i in "${readers[@]}"; do
  name=${names[$i]}
  if wait "${pids[$i]}" && grep -q '^has_new_version true' "$work/$name.out"; then
    echo "    [$name] $(grep '^has_new_version true' "$work/$name.out")"
    ran+=("$name")
  else
    echo "  [$name] failed:"; cat "$work/$name.out" "$work/$name.err" | tail -n 20 | indent; failed=1
  fi
done
pids=()
if [ $failed -ne 0 ] || [ ${#ran[@]} -eq 0 ]; then say "FAILED (readers that worked: ${ran[*]:-none})"; exit 1; fi
say "done: ${#ran[@]} readers (${ran[*]}) read what vsync pushed"
