# The `vsync` CLI part of `./scripts/task release:check`: sourced by scripts/release-check.sh once
# its registries and consumer environment exist (work, in_consumer, registry, DIST, version, pass,
# readme_block). Each install route a user has, on the fresh HOME with no cargo/rustc on PATH:
#   archive  dist/cli/vsync-<version>-<target>.tar.gz (SHA256SUMS checked), statically linked
#   pip      the README's `pip install vsync-cli` in a fresh venv (the wheel's script is `vsync`)
#   pipx     `pipx install vsync-cli` (pipx from PyPI, into .tools/pipx)
#   npm -g   the README's `npm i -g @muthuishere/vsync-cli` from verdaccio (launcher + platform pkg)
#   npx      `npx @muthuishere/vsync-cli ...` from verdaccio
# and with each installed `vsync` the user journey of cli_journey below; the aarch64 archive the
# same under qemu-aarch64 (when dist/ has it); then the static binary inside an empty root
# (unshare + chroot: only the binary, a CA file and busybox) against an HTTPS endpoint on
# 127.0.0.1 whose certificate comes from a private CA.
# shellcheck shell=bash
# shellcheck disable=SC2154 # work, version, host, registry, ...: set by release-check.sh

cli_target_of() { echo "${1%%-*}-unknown-linux-musl"; }
cli_host=$(cli_target_of "$host")
CLI_DIST="$DIST/cli"
if [ ! -f "$CLI_DIST/vsync-$version-$cli_host.tar.gz" ]; then
  log "dist/cli has no $cli_host archive of $version: scripts/dist-cli.sh $cli_host"
  "$ROOT/scripts/dist-cli.sh" "$cli_host"
fi

# ---- the CLI's npm packages into verdaccio (platform packages first) -----------------------------
cli_main_tgz="$CLI_DIST/npm/muthuishere-vsync-cli-$version.tgz"
for tgz in "$CLI_DIST"/npm/muthuishere-vsync-cli-*-"$version".tgz "$cli_main_tgz"; do
  npm publish "$tgz" --registry "$registry" --userconfig "$work/publish.npmrc" --loglevel=error >/dev/null
done

# cli_journey NAME VSYNC...: what a user does first with an installed vsync, against the S3 server
# (VSYNC...: the command that runs it, e.g. a path, or `npx --yes @muthuishere/vsync-cli`).
cli_journey() {
  local name=$1
  shift
  local d="$work/cli-$name" prefix="release-check/cli-$name-$$-$RANDOM/" value="value-from-$name-$RANDOM"
  mkdir -p "$d"
  (
    umask 077
    printf '%s\n' "$VSYNC_TEST_SECRET_KEY" >"$d/write.key"
    printf 'cli %s passphrase %s\n' "$name" "$RANDOM$RANDOM" >"$d/pw"
    printf 'cli %s new passphrase %s\n' "$name" "$RANDOM$RANDOM" >"$d/pw2"
    printf 'K=%s\n' "$value" >"$d/app.env"
  )
  # The libraries' VSYNC_CONFIG/VSYNC_PASSPHRASE are not this vault's: the files below are.
  local cfg=(env -u VSYNC_CONFIG -u VSYNC_PASSPHRASE VSYNC_CONFIG_FILE=token)
  step() { # step LABEL EXPECTED-STDOUT-REGEX COMMAND...
    local label=$1 want=$2
    shift 2
    if ! (cd "$d" && in_consumer "$@") >"$d/$label.out" 2>"$d/$label.err"; then
      echo "[cli $name] $label failed:" >&2
      cat "$d/$label.out" "$d/$label.err" >&2
      exit 1
    fi
    grep -qE "$want" "$d/$label.out" || {
      echo "[cli $name] $label: stdout does not match /$want/:" >&2
      cat "$d/$label.out" "$d/$label.err" >&2
      exit 1
    }
  }
  step version "^vsync $version\$" "$@" --version
  step runtime-token '^vsync-cfg-v1:[A-Za-z0-9_=-]+$' env -u VSYNC_CONFIG -u VSYNC_PASSPHRASE "$@" runtime-token \
    --endpoint "$VSYNC_TEST_ENDPOINT" --region us-east-1 --bucket "$VSYNC_TEST_BUCKET" --prefix "$prefix" --env cli \
    --access-key-id "$VSYNC_TEST_ACCESS_KEY" --secret-access-key-file write.key --check
  cp "$d/runtime-token.out" "$d/token"
  step push '^pushed gen=1 ' "${cfg[@]}" VSYNC_PASSPHRASE_FILE=pw "$@" push --env-file app.env
  step status 'K' "${cfg[@]}" VSYNC_PASSPHRASE_FILE=pw "$@" status
  # shellcheck disable=SC2016 # $K is expanded by the command vsync runs, not here
  step run "^$value\$" "${cfg[@]}" VSYNC_PASSPHRASE_FILE=pw "$@" run -- sh -c 'echo $K'
  step rotate '^rotated gen=2 ' "${cfg[@]}" "$@" rotate-passphrase --passphrase-file pw --new-passphrase-file pw2
  # shellcheck disable=SC2016
  step run-rotated "^$value\$" "${cfg[@]}" VSYNC_PASSPHRASE_FILE=pw2 "$@" run -- sh -c 'echo $K'
  # Completions load in bash, and complete `vsync ro<TAB>`.
  # shellcheck disable=SC2016
  step completions '^rotate-passphrase$' bash -c '
    source <("$@" completions bash) || exit 3
    fn=$(complete -p vsync | sed -n "s/.*-F \([^ ]*\).*/\1/p")
    COMP_WORDS=(vsync ro); COMP_CWORD=1; COMP_LINE="vsync ro"; COMP_POINT=${#COMP_LINE}
    "$fn" vsync ro vsync && printf "%s\n" "${COMPREPLY[@]}"' completions "$@"
  pass "vsync CLI via $name: --version, runtime-token --check, push, status, run, rotate-passphrase, run, bash completions  [$((SECONDS - step_start)) s]"
  step_start=$SECONDS
}

# ---- archive ----------------------------------------------------------------------------------------
(cd "$CLI_DIST" && sha256sum --quiet -c SHA256SUMS) || { echo "[cli] dist/cli/SHA256SUMS does not match" >&2; exit 1; }
cli_unpack() { # cli_unpack TARGET -> the directory the archive unpacked into
  local t=$1
  mkdir -p "$work/cli-archives"
  tar -xzf "$CLI_DIST/vsync-$version-$t.tar.gz" -C "$work/cli-archives"
  local a="$work/cli-archives/vsync-$version-$t"
  for f in vsync LICENSE README.md completions/vsync.bash completions/_vsync completions/vsync.fish man/man1/vsync.1; do
    [ -s "$a/$f" ] || { echo "[cli] the $t archive has no $f" >&2; exit 1; }
  done
  file "$a/vsync" | grep -qE 'statically linked|static-pie linked' || { file "$a/vsync" >&2; exit 1; }
  echo "$a"
}
cli_archive=$(cli_unpack "$cli_host")
cli_bin="$cli_archive/vsync"
# The archive's own completion file loads too (what a package manager would install).
(cd "$cli_archive" && in_consumer bash -c 'source completions/vsync.bash && complete -p vsync') >/dev/null \
  || { echo "[cli] the archive's completions/vsync.bash does not load" >&2; exit 1; }
step_start=$SECONDS
cli_journey archive "$cli_bin"
results+=("     archive: vsync $(stat -c %s "$cli_bin") bytes, $(file -b "$cli_bin" | cut -d, -f1-2,4)")

# ---- pip: the README's line, in a fresh venv -----------------------------------------------------------
cli_block=$(readme_block "vsync CLI")
cli_pip_line=$(grep -m1 '^pip install vsync-cli' <<<"$cli_block") || { echo "README: no 'pip install vsync-cli' in the vsync CLI block" >&2; exit 1; }
cli_npm_line=$(grep -m1 '^npm i -g @muthuishere/vsync-cli' <<<"$cli_block") || { echo "README: no 'npm i -g @muthuishere/vsync-cli' in the vsync CLI block" >&2; exit 1; }
mkdir -p "$work/cli-pip"
in_consumer python3 -m venv "$work/cli-pip/venv"
log "[cli pip] \$ $cli_pip_line"
(cd "$work/cli-pip" && in_consumer env PIP_FIND_LINKS="$CLI_DIST" bash -euo pipefail -c "source venv/bin/activate && $cli_pip_line") \
  >"$work/cli-pip.log" 2>&1 || { cat "$work/cli-pip.log" >&2; exit 1; }
grep -q "vsync_cli-$version-py3-none-.*\.whl" "$work/cli-pip.log" || { cat "$work/cli-pip.log" >&2; echo "[cli pip] no wheel installed" >&2; exit 1; }
cmp -s "$work/cli-pip/venv/bin/vsync" "$cli_bin" || { echo "[cli pip] venv/bin/vsync is not the static binary" >&2; exit 1; }
cli_journey pip "$work/cli-pip/venv/bin/vsync"

# ---- pipx (from PyPI, pinned; the machine's own pipx would be older or absent) ---------------------
pipx_venv="$ROOT/.tools/pipx"
# pipx upgrades pip (>= 23.1) in its shared venv first; with the index off, it takes that pip from
# a wheel fetched once beside pipx.
if [ ! -x "$pipx_venv/bin/pipx" ] || ! ls "$pipx_venv/wheels"/pip-*.whl >/dev/null 2>&1; then
  log "pip install pipx==1.8.0 into .tools/pipx (and pip's wheel for its shared venv)"
  python3 -m venv "$pipx_venv"
  "$pipx_venv/bin/pip" install -q --disable-pip-version-check pipx==1.8.0
  "$pipx_venv/bin/pip" download -q --disable-pip-version-check --no-deps -d "$pipx_venv/wheels" pip==24.3.1
fi
log "[cli pipx] \$ pipx install vsync-cli"
(cd "$work" && in_consumer env PIP_FIND_LINKS="$CLI_DIST $pipx_venv/wheels" PIPX_HOME="$work/home/.local/share/pipx" \
  PIPX_BIN_DIR="$work/home/.local/bin" PIPX_MAN_DIR="$work/home/.local/share/man" \
  "$pipx_venv/bin/pipx" install vsync-cli) >"$work/cli-pipx.log" 2>&1 || { cat "$work/cli-pipx.log" >&2; exit 1; }
cli_journey pipx "$work/home/.local/bin/vsync"

# ---- npm -g and npx from verdaccio -------------------------------------------------------------------
npm_prefix="$work/home/.npm-global"
log "[cli npm] \$ $cli_npm_line"
(cd "$work" && in_consumer env npm_config_prefix="$npm_prefix" bash -euo pipefail -c "$cli_npm_line") \
  >"$work/cli-npm.log" 2>&1 || { cat "$work/cli-npm.log" >&2; exit 1; }
cli_npm_bin=$(find "$npm_prefix/lib/node_modules" -path "*/@muthuishere/vsync-cli-$(cli_target_of "$host" | sed 's/x86_64.*/linux-x64/;s/aarch64.*/linux-arm64/')/bin/vsync")
if [ -z "$cli_npm_bin" ] || ! cmp -s "$cli_npm_bin" "$cli_bin"; then echo "[cli npm] the platform package's binary is missing or not the static binary" >&2; ls -R "$npm_prefix" >&2; exit 1; fi
if find "$npm_prefix/lib/node_modules/@muthuishere/vsync-cli" -maxdepth 2 -name vsync -type f | grep -q .; then
  echo "[cli npm] the launcher package carries a binary" >&2; exit 1
fi
cli_journey npm-g "$npm_prefix/bin/vsync"
mkdir -p "$work/cli-npx"
cli_journey npx npx --yes "@muthuishere/vsync-cli@$version"

# ---- aarch64 under qemu (a full `task dist`) ------------------------------------------------------------
if [ -f "$CLI_DIST/vsync-$version-aarch64-unknown-linux-musl.tar.gz" ]; then
  ensure_smoke_packages
  cli_arm=$(cli_unpack aarch64-unknown-linux-musl)
  file "$cli_arm/vsync" | grep -q 'ARM aarch64' || { file "$cli_arm/vsync" >&2; exit 1; }
  cli_journey aarch64-qemu qemu-aarch64 "$cli_arm/vsync"
fi

# ---- the static binary in an empty root, over HTTPS with a private CA --------------------------------
# Debian's busybox-static (a static shell for the command `vsync run` starts), fetched once with
# apt-get download and unpacked into .tools: nothing is installed on the machine.
busybox_dir="$ROOT/.tools/busybox-static"
if [ ! -x "$busybox_dir/bin/busybox" ]; then
  log "apt-get download busybox-static into .tools/busybox-static"
  rm -rf "$busybox_dir.deb" && mkdir -p "$busybox_dir.deb"
  (cd "$busybox_dir.deb" && { apt-get download busybox-static >/dev/null 2>&1 || { apt-get update -qq && apt-get download busybox-static >/dev/null; }; })
  dpkg-deb -x "$busybox_dir.deb"/busybox-static_*.deb "$busybox_dir.x"
  mkdir -p "$busybox_dir/bin" && mv "$busybox_dir.x/bin/busybox" "$busybox_dir/bin/busybox"
  rm -rf "$busybox_dir.deb" "$busybox_dir.x"
fi
file "$busybox_dir/bin/busybox" | grep -qE 'statically linked|static-pie linked' || { file "$busybox_dir/bin/busybox" >&2; exit 1; }

# A private CA and a certificate for 127.0.0.1, and a TLS-terminating proxy to the S3 server.
tls="$work/tls"
mkdir -p "$tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=vsync release-check CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >"$tls/ext"
openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 2 \
  -extfile "$tls/ext" -out "$tls/server.pem" 2>/dev/null
cat >"$tls/proxy.py" <<'PY'
"""TLS on 127.0.0.1 in front of the plain-HTTP S3 server: bytes relayed both ways unchanged."""
import asyncio
import os
import ssl
import sys

cert, key, upstream, port_file = sys.argv[1:5]
host, port = upstream.rsplit(":", 1)


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


async def handle(client_reader, client_writer):
    try:
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(pipe(client_reader, up_writer), pipe(up_reader, client_writer))


async def main():
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.sockets[0].getsockname()[1]))
    os.rename(port_file + ".tmp", port_file)  # the event the script waits for
    async with server:
        await server.serve_forever()


asyncio.run(main())
PY
python3 "$tls/proxy.py" "$tls/server.pem" "$tls/server.key" "${VSYNC_TEST_ENDPOINT#http://}" "$tls/port" 2>"$tls/proxy.log" &
tls_proxy_pid=$!
trap 'kill "$tls_proxy_pid" 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 1 600); do [ -f "$tls/port" ] || ! kill -0 "$tls_proxy_pid" 2>/dev/null && break; sleep 0.05; done
[ -f "$tls/port" ] || { cat "$tls/proxy.log" >&2; echo "[cli] the TLS proxy did not start" >&2; exit 1; }
https_endpoint="https://127.0.0.1:$(cat "$tls/port")"

# make_root DIR CA-PLACE: an empty root with the binary, busybox as /bin/sh, /dev/shm (a tmpfs
# mounted per run), /tmp, the vault's input files, and the CA at CA-PLACE (or none).
make_root() {
  local r=$1 ca_place=$2
  mkdir -p "$r/bin" "$r/dev/shm" "$r/tmp" "$r/work"
  chmod 1777 "$r/tmp"
  install -m 0755 "$cli_bin" "$r/vsync"
  install -m 0755 "$busybox_dir/bin/busybox" "$r/bin/busybox"
  ln -s busybox "$r/bin/sh"
  if [ "$ca_place" != none ]; then mkdir -p "$r/$(dirname "$ca_place")" && cp "$tls/ca.pem" "$r/$ca_place"; fi
}
# in_root DIR ENV... -- ARGS...: /vsync ARGS in DIR as the root, own mount namespace, nothing but ENV.
in_root() {
  local r=$1
  shift
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  # shellcheck disable=SC2016 # expanded by that sh
  unshare --mount --propagation private -- sh -c 'mount -t tmpfs -o mode=1777,size=16m shm "$1/dev/shm" && shift && exec "$@"' \
    in_root "$r" env -i "${envs[@]}" "$(command -v chroot)" "$r" /vsync "$@"
}
log "[cli empty root] unshare + chroot: /vsync, busybox, a private CA; S3 over $https_endpoint"
root1="$work/root-etc-ssl"
make_root "$root1" etc/ssl/certs/ca-certificates.crt
(umask 077
  printf '%s\n' "$VSYNC_TEST_SECRET_KEY" >"$root1/work/write.key"
  printf 'empty root passphrase %s\n' "$RANDOM$RANDOM" >"$root1/work/pw"
  printf 'K=from-the-empty-root\n' >"$root1/work/app.env")
[ "$(find "$root1" -type f | wc -l)" -eq 6 ] || { find "$root1" >&2; echo "[cli] the root holds more than it should" >&2; exit 1; }
in_root "$root1" -- runtime-token --endpoint "$https_endpoint" --region us-east-1 --bucket "$VSYNC_TEST_BUCKET" \
  --prefix "release-check/empty-root-$$-$RANDOM/" --env scratch --access-key-id "$VSYNC_TEST_ACCESS_KEY" \
  --secret-access-key-file /work/write.key --check >"$root1/work/token" 2>"$work/root.err" \
  || { cat "$work/root.err" >&2; exit 1; }
root_env=(VSYNC_CONFIG_FILE=/work/token VSYNC_PASSPHRASE_FILE=/work/pw)
in_root "$root1" "${root_env[@]}" -- push --env-file /work/app.env >"$work/root-push.out" 2>"$work/root.err" \
  || { cat "$work/root.err" >&2; exit 1; }
in_root "$root1" "${root_env[@]}" -- status >"$work/root-status.out" 2>"$work/root.err" \
  || { cat "$work/root.err" >&2; exit 1; }
# shellcheck disable=SC2016
got=$(in_root "$root1" "${root_env[@]}" -- run -- /bin/sh -c 'echo $K' 2>"$work/root.err") || { cat "$work/root.err" >&2; exit 1; }
[ "$got" = from-the-empty-root ] || { echo "[cli empty root] run printed '$got'" >&2; cat "$work/root.err" >&2; exit 1; }
pass "vsync CLI in an empty root (binary, busybox, CA at /etc/ssl/certs/ca-certificates.crt): runtime-token --check, push, status, run over HTTPS with a private CA"

# The same root without the CA file: no roots compiled in, so the private CA is not trusted and the
# error says which variable to set. Then SSL_CERT_FILE and AWS_CA_BUNDLE pointing at a CA elsewhere.
rm "$root1/etc/ssl/certs/ca-certificates.crt"
set +e
in_root "$root1" "${root_env[@]}" -- status >/dev/null 2>"$work/root.err"
code=$?
set -e
if [ "$code" -ne 13 ] || ! grep -q AWS_CA_BUNDLE "$work/root.err"; then
  echo "[cli empty root] without a CA file: exit $code, expected 13 (S3Unreachable) naming AWS_CA_BUNDLE:" >&2
  cat "$work/root.err" >&2
  exit 1
fi
cp "$tls/ca.pem" "$root1/work/private-ca.pem"
for var in SSL_CERT_FILE AWS_CA_BUNDLE; do
  # shellcheck disable=SC2016
  got=$(in_root "$root1" "${root_env[@]}" "$var=/work/private-ca.pem" -- run -- /bin/sh -c 'echo $K' 2>"$work/root.err") \
    || { cat "$work/root.err" >&2; exit 1; }
  [ "$got" = from-the-empty-root ] || { echo "[cli empty root] $var: run printed '$got'" >&2; exit 1; }
done
kill "$tls_proxy_pid" 2>/dev/null || true
wait "$tls_proxy_pid" 2>/dev/null || true
pass "vsync CLI in an empty root without a CA file: exit 13 naming AWS_CA_BUNDLE; with SSL_CERT_FILE or AWS_CA_BUNDLE: reads the vault"
