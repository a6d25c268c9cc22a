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

# Python venv for the Python binding, its tests and the demo (pip packages only).
ensure_venv() {
  if [ ! -x "$ROOT/.venv/bin/python" ]; then
    log "creating .venv"
    python3 -m venv "$ROOT/.venv"
  fi
  export VENV="$ROOT/.venv"
}
