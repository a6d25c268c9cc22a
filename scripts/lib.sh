# Shared helpers for the scripts: sourced, not run.
# shellcheck shell=bash
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export ROOT
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
TOOLS="$ROOT/.tools"

log() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

# One release build of the whole workspace into the shared target dir: every binding and the
# CLI link the same compiled core (one profile, one feature set, compiled once).
build_workspace() {
  log "cargo build --release --workspace"
  cargo build --release --workspace --quiet
  export VSYNC_BIN="$CARGO_TARGET_DIR/release/vsync"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Python venv for the Python binding, its tests and the demo (pip packages only).
ensure_venv() {
  if [ ! -x "$ROOT/.venv/bin/python" ]; then
    log "creating .venv"
    python3 -m venv "$ROOT/.venv"
  fi
  export VENV="$ROOT/.venv"
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
