# Shared helpers for the scripts: sourced, not run.
# shellcheck shell=bash
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export ROOT
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
TOOLS="$ROOT/.tools"
S3S_FS_VERSION=0.14.1

log() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

# The S3-compatible test server (s3s-fs enforces SigV4, so a wrong key gets a real 403).
ensure_s3s_fs() {
  if [ ! -x "$TOOLS/bin/s3s-fs" ]; then
    log "installing s3s-fs $S3S_FS_VERSION into .tools (once, ~3 min)"
    cargo install "s3s-fs@$S3S_FS_VERSION" --features binary --locked --root "$TOOLS" --quiet
  fi
  export S3S_FS="$TOOLS/bin/s3s-fs"
}

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
