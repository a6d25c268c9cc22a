# Shared helpers for the scripts: sourced, not run.
# shellcheck shell=bash
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export ROOT
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
# Tools the scripts install themselves (go-task, cargo-machete).
export TOOLS="$ROOT/.tools"

log() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

# The vsync CLI (with the core's `writer` feature), for the S3 test server and the tests that
# push vaults.
build_cli() {
  log "cargo build --release -p vsync-cli"
  cargo build --release -p vsync-cli --quiet
  export VSYNC_BIN="$CARGO_TARGET_DIR/release/vsync"
}

# A release build of the whole workspace into the shared target dir, in two cargo invocations:
# in one, cargo would unify features and compile the CLI's `writer` into every binding. The
# bindings' own scripts build them the same way (each alone, without the writer).
build_workspace() {
  build_cli
  log "cargo build --release -p vsync-python -p vsync-node -p vsync-java -p vsync-c"
  cargo build --release -p vsync-python -p vsync-node -p vsync-java -p vsync-c --quiet
}

# bindings/node's dev dependencies (prettier, typescript, @types/node), installed once per lock.
ensure_node_modules() {
  local dir="$ROOT/bindings/node"
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    log "npm ci (bindings/node)"
    (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
  fi
}

# Python venv for the Python binding, its tests and the demo (pip packages only).
ensure_venv() {
  if [ ! -x "$ROOT/.venv/bin/python" ]; then
    log "creating .venv"
    python3 -m venv "$ROOT/.venv"
  fi
  export VENV="$ROOT/.venv"
}
# moto (S3, IAM and STS in one server), the third-party server the tests start themselves:
# retention against a second S3 (cli/tests/rollback.rs) and web identity through a real STS
# (the keyless tests of the core, Python and Go). Installed into .venv; VSYNC_MOTO_SERVER names it.
MOTO_VERSION=5.2.6
ensure_moto() {
  ensure_venv
  if [ "$("$VENV/bin/python" -c 'import moto.server, flask, moto; print(moto.__version__)' 2>/dev/null)" != "$MOTO_VERSION" ]; then
    log "installing moto[server]==$MOTO_VERSION into .venv"
    "$VENV/bin/python" -m pip install -q "moto[server]==$MOTO_VERSION"
  fi
  export VSYNC_MOTO_SERVER="$VENV/bin/moto_server"
}
# A free TCP port on 127.0.0.1, for servers that cannot bind port 0 and announce it (verdaccio).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# System tools some core tests drive (util-linux `unshare` and iproute2 `ip` for the DNS test,
# glibc's locale sources and translations for the localized-error test), installed with apt
# when missing.
ensure_system_test_tools() {
  local missing=()
  command -v unshare >/dev/null || missing+=(util-linux)
  command -v ip >/dev/null || missing+=(iproute2)
  [ -f /usr/share/i18n/locales/ru_RU ] && command -v localedef >/dev/null || missing+=(locales)
  [ -f /usr/share/locale/ru/LC_MESSAGES/libc.mo ] || missing+=(libc-l10n)
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}
